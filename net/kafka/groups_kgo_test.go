package kafka_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// groupMember is a kgo consumer in a group, polling in the background and
// recording every record it gets.
type groupMember struct {
	cl   *kgo.Client
	mu   sync.Mutex
	seen map[string]int // record key -> times received
	stop context.CancelFunc
	done chan struct{}
}

func joinGroup(t *testing.T, addr, group, topic string, balancer kgo.GroupBalancer) *groupMember {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer), kgo.HeartbeatInterval(100*time.Millisecond), kgo.SessionTimeout(6*time.Second),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.ClientID("member-"+group))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &groupMember{cl: cl, seen: map[string]int{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				m.mu.Lock()
				m.seen[string(r.Key)]++
				m.mu.Unlock()
			})
			if ctx.Err() == nil {
				// Commit what this poll returned, as a careful
				// consumer does before it polls again.
				cl.CommitUncommittedOffsets(ctx)
			}
		}
	}()
	t.Cleanup(m.close)
	return m
}

func (m *groupMember) close() {
	m.stop()
	<-m.done
	m.cl.Close() // leaves the group
}

func (m *groupMember) count() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.seen))
	for k, v := range m.seen {
		out[k] = v
	}
	return out
}

// waitStable waits until the group is Stable with n members whose
// assignments split the topic's partitions between them, each owned once.
func waitStable(t *testing.T, adm *kadm.Client, group string, n, partitions int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		gs, err := adm.DescribeGroups(ctx(t), group)
		if err == nil {
			g := gs[group]
			owners := map[int32]int{}
			busy := 0
			for _, m := range g.Members {
				if a, ok := m.Assigned.AsConsumer(); ok {
					got := 0
					for _, tp := range a.Topics {
						for _, p := range tp.Partitions {
							owners[p]++
							got++
						}
					}
					if got > 0 {
						busy++
					}
				}
			}
			twice := false
			for _, c := range owners {
				twice = twice || c > 1
			}
			if twice {
				t.Fatalf("group %s: a partition has two owners: %v", group, owners)
			}
			if g.State == "Stable" && len(g.Members) == n && len(owners) == partitions && busy == min(n, partitions) {
				return
			}
			last = fmt.Sprintf("state %s, %d members, %d partitions owned", g.State, len(g.Members), len(owners))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("group %s never became stable with %d members sharing %d partitions (last: %s)", group, n, partitions, last)
}

func produceKeys(t *testing.T, cl *kgo.Client, topic string, from, to int) {
	t.Helper()
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte("v")})
	}
	if err := cl.ProduceSync(ctx(t), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestConsumerGroups runs franz-go group consumers through the Kafka
// listener with the classic eager balancer and the cooperative one: two
// members share the partitions, every record arrives, committed offsets
// land in the broker, and a new member resumes from them.
func TestConsumerGroups(t *testing.T) {
	for _, bc := range []struct {
		name     string
		balancer func() kgo.GroupBalancer
	}{
		{"range-eager", kgo.RangeBalancer},
		{"roundrobin-eager", kgo.RoundRobinBalancer},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer},
	} {
		t.Run(bc.name, func(t *testing.T) {
			// No initial rebalance delay: the test waits for each join.
			b, addr := startBroker(t, func(c *broker.Config) { c.GroupInitialDelay = 0 })
			adm := newAdmin(t, addr)
			const topic, parts = "cg", 6
			createTopic(t, adm, topic, parts, nil)
			group := "g-" + bc.name
			prod := newClient(t, addr)

			m1 := joinGroup(t, addr, group, topic, bc.balancer())
			waitStable(t, adm, group, 1, parts)
			m2 := joinGroup(t, addr, group, topic, bc.balancer())
			waitStable(t, adm, group, 2, parts)

			const n = 600
			produceKeys(t, prod, topic, 0, n)
			deadline := time.Now().Add(30 * time.Second)
			for {
				c1, c2 := m1.count(), m2.count()
				got := 0
				for i := 0; i < n; i++ {
					if c1[strconv.Itoa(i)]+c2[strconv.Itoa(i)] > 0 {
						got++
					}
				}
				if got == n {
					if len(c1) == 0 || len(c2) == 0 {
						t.Fatalf("one member got nothing: %d and %d keys", len(c1), len(c2))
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the group received %d of %d records", got, n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The members commit after each poll; wait until the broker
			// holds offsets at the end of every partition.
			waitFor(t, func() bool {
				offs, err := adm.FetchOffsets(ctx(t), group)
				if err != nil {
					return false
				}
				total := int64(0)
				for p := int32(0); p < parts; p++ {
					if o, ok := offs.Lookup(topic, p); ok {
						total += o.At
					}
				}
				return total == n
			}, "committed offsets to cover every record")
			// The offsets are the engine's: the same store native groups use.
			stored, err := b.Engine.FetchOffsets(group)
			if err != nil || len(stored) != parts {
				t.Fatalf("engine holds %d offsets for the group (%v), want %d", len(stored), err, parts)
			}
			m1.close()
			m2.close()

			produceKeys(t, prod, topic, n, n+100)
			m3 := joinGroup(t, addr, group, topic, bc.balancer())
			waitFor(t, func() bool { return len(m3.count()) >= 100 }, "the new member to get the new records")
			for k := range m3.count() {
				if i, _ := strconv.Atoi(k); i < n {
					t.Fatalf("the new member got record %s, committed before it joined", k)
				}
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
