package client

import (
	"context"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

// groupBroker is a broker whose coordinator accepts short sessions and
// starts rebalances at once.
func groupBroker(t *testing.T) *broker.Broker {
	return startBroker(t, func(c *broker.Config) {
		c.GroupMinSessionTimeout = 200 * time.Millisecond
		c.GroupInitialDelay = 0
	})
}

// produceEach writes n records to every partition of a new topic.
func produceEach(t *testing.T, cl *Client, topic string, partitions int32, n int) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, topic, partitions, 1, nil); err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		t.Fatal(err)
	}
	produceMore(t, cl, topic, partitions, n)
}

func produceMore(t *testing.T, cl *Client, topic string, partitions int32, n int) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for part := int32(0); part < partitions; part++ {
		for i := 0; i < n; i++ {
			if err := p.Send(ctx, &Record{Topic: topic, Partition: part, Value: []byte(fmt.Sprintf("%d-%d", part, i))}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// producerLoop writes one record to every partition per round until
// stopped.
type producerLoop struct {
	quit   chan struct{}
	done   chan struct{}
	rounds int
}

func newProducerLoop(t *testing.T, cl *Client, topic string, partitions int32) *producerLoop {
	t.Helper()
	pl := &producerLoop{quit: make(chan struct{}), done: make(chan struct{})}
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(pl.done)
		ctx := context.Background()
		defer p.Close(ctx)
		for {
			select {
			case <-pl.quit:
				return
			default:
			}
			for part := int32(0); part < partitions; part++ {
				if err := p.Send(ctx, &Record{Topic: topic, Partition: part, Value: []byte("more")}, nil); err != nil {
					t.Error(err)
					return
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
			pl.rounds++
		}
	}()
	return pl
}

// stop ends the loop and returns the number of records it wrote to each
// partition.
func (pl *producerLoop) stop() int {
	close(pl.quit)
	<-pl.done
	return pl.rounds
}

// ledger records what the members of a group consumed and owned, and
// fails the test when a partition has two owners or a record is read
// twice.
type ledger struct {
	t     *testing.T
	mu    sync.Mutex
	owner map[TopicPartition]string
	seen  map[TopicPartition]map[int64]string
	count int
	// first is the first offset each member read of each partition.
	first map[string]map[TopicPartition]int64
	dupOK bool
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, owner: map[TopicPartition]string{}, seen: map[TopicPartition]map[int64]string{}, first: map[string]map[TopicPartition]int64{}}
}

func (l *ledger) assigned(me string, ps []TopicPartition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range ps {
		if o, ok := l.owner[p]; ok && o != me {
			l.t.Errorf("%v assigned to %s while %s owns it", p, me, o)
		}
		l.owner[p] = me
	}
}

func (l *ledger) released(me string, ps []TopicPartition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range ps {
		if l.owner[p] == me {
			delete(l.owner, p)
		}
	}
}

func (l *ledger) forget(me string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, o := range l.owner {
		if o == me {
			delete(l.owner, p)
		}
	}
}

func (l *ledger) consumed(me string, recs []ConsumerRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		p := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if o := l.owner[p]; o != me {
			l.t.Errorf("%s read %v offset %d while the ledger says %q owns it", me, p, r.Offset, o)
		}
		if l.seen[p] == nil {
			l.seen[p] = map[int64]string{}
		}
		if by, dup := l.seen[p][r.Offset]; dup {
			if !l.dupOK {
				l.t.Errorf("%v offset %d read twice: by %s and %s", p, r.Offset, by, me)
			}
		} else {
			l.count++
		}
		l.seen[p][r.Offset] = me
		if l.first[me] == nil {
			l.first[me] = map[TopicPartition]int64{}
		}
		if _, ok := l.first[me][p]; !ok {
			l.first[me][p] = r.Offset
		}
	}
}

func (l *ledger) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// member runs a group consumer's poll loop until stop, committing after
// every Poll and in OnPartitionsRevoked.
type member struct {
	name string
	g    *GroupConsumer
	stop context.CancelFunc
	done chan struct{}
}

func startMember(t *testing.T, cl *Client, l *ledger, name string, edit func(*GroupConfig)) *member {
	t.Helper()
	m := &member{name: name, done: make(chan struct{})}
	cfg := GroupConfig{
		GroupID: "workers", Topics: []string{"events"}, ClientID: name,
		SessionTimeout: 3 * time.Second, HeartbeatInterval: 100 * time.Millisecond, MaxPollInterval: 20 * time.Second,
		AutoOffsetReset: "earliest", DisableAutoCommit: true,
		Consumer: ConsumerConfig{MaxWait: 100 * time.Millisecond},
	}
	cfg.OnPartitionsAssigned = func(ctx context.Context, ps []TopicPartition) { l.assigned(name, ps) }
	cfg.OnPartitionsRevoked = func(ctx context.Context, ps []TopicPartition) {
		if err := m.g.CommitSync(ctx); err != nil {
			t.Errorf("%s: commit in OnPartitionsRevoked: %v", name, err)
		}
		l.released(name, ps)
	}
	cfg.OnPartitionsLost = func(ctx context.Context, ps []TopicPartition) { l.released(name, ps) }
	if edit != nil {
		edit(&cfg)
	}
	g, err := cl.NewGroupConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.g = g
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			recs, err := g.Poll(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
					t.Errorf("%s: Poll: %v", name, err)
				}
				return
			}
			l.consumed(name, recs)
			if len(recs) > 0 {
				if err := g.CommitSync(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, protocol.ErrRebalanceInProgress) &&
					!errors.Is(err, protocol.ErrIllegalGeneration) && !errors.Is(err, protocol.ErrUnknownMemberID) {
					t.Errorf("%s: CommitSync: %v", name, err)
				}
			}
		}
	}()
	t.Cleanup(func() { m.halt(); g.Close() })
	return m
}

// halt stops the poll loop (the member stays in the group).
func (m *member) halt() {
	m.stop()
	<-m.done
}

func TestGroupReadsEveryRecordOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		assignors []assign.Assignor
	}{
		{"cooperative", nil},
		{"eager-range", []assign.Assignor{assign.Range()}},
		{"eager-roundrobin", []assign.Assignor{assign.RoundRobin()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := groupBroker(t)
			cl := newClient(t, b.Addr().String(), nil)
			const parts = 6
			produceEach(t, cl, "events", parts, 50)
			// Records keep arriving while members join, so that partitions
			// move mid-stream.
			rounds := newProducerLoop(t, cl, "events", parts)
			l := newLedger(t)
			var members []*member
			for i := 0; i < 3; i++ {
				members = append(members, startMember(t, cl, l, fmt.Sprintf("m%d", i), func(c *GroupConfig) { c.Assignors = tc.assignors }))
				seen := l.total()
				waitFor(t, 30*time.Second, "more records", func() bool { return l.total() > seen+100 })
			}
			ctx := testCtx(t, 10*time.Second)
			waitFor(t, 30*time.Second, "a stable group", func() bool {
				d, err := cl.DescribeGroup(ctx, "workers")
				if err != nil || d.State != "Stable" || len(d.Members) != 3 {
					return false
				}
				n := 0
				for _, m := range d.Members {
					n += len(m.Partitions)
				}
				return n == parts
			})
			per := 50 + rounds.stop()
			waitFor(t, 60*time.Second, "every record", func() bool { return l.total() == parts*per })
			for _, m := range members {
				m.halt()
			}
			for _, m := range members {
				if err := m.g.Close(); err != nil {
					t.Errorf("%s: Close: %v", m.name, err)
				}
			}
			if d, err := cl.DescribeGroup(ctx, "workers"); err != nil || d.State != "Empty" || len(d.Members) != 0 {
				t.Fatalf("after every member closed: %+v %v", d, err)
			}
			offs, err := cl.FetchGroupOffsets(ctx, "workers", nil)
			if err != nil {
				t.Fatal(err)
			}
			for p := int32(0); p < parts; p++ {
				if got := offs[TopicPartition{Topic: "events", Partition: p}].Offset; got != int64(per) {
					t.Errorf("partition %d committed at %d, want %d", p, got, per)
				}
			}
		})
	}
}

func TestGroupMoreMembersThanPartitions(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 2, 10)
	l := newLedger(t)
	for i := 0; i < 3; i++ {
		startMember(t, cl, l, fmt.Sprintf("m%d", i), nil)
	}
	ctx := testCtx(t, 30*time.Second)
	var d GroupDescription
	waitFor(t, 30*time.Second, "a stable group of 3", func() bool {
		var err error
		d, err = cl.DescribeGroup(ctx, "workers")
		n := 0
		for _, m := range d.Members {
			n += len(m.Partitions)
		}
		// Under the cooperative protocol a moving partition is withheld
		// for one round: wait for both to be owned.
		return err == nil && d.State == "Stable" && len(d.Members) == 3 && n == 2 && l.total() == 20
	})
	idle := 0
	for _, m := range d.Members {
		if len(m.Partitions) == 0 {
			idle++
		}
	}
	if idle != 1 {
		t.Fatalf("want one idle member: %+v", d.Members)
	}
}

func TestGroupMemberKilledLosesItsPartitions(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 6, 50)
	l := newLedger(t)
	l.dupOK = true // a crash may re-deliver what was read after the last commit
	victim := startMember(t, cl, l, "victim", nil)
	waitFor(t, 30*time.Second, "the victim to read", func() bool { return l.total() > 0 })
	a := startMember(t, cl, l, "a", nil)
	bm := startMember(t, cl, l, "b", nil)
	waitFor(t, 60*time.Second, "every record", func() bool { return l.total() == 300 })
	ctx := testCtx(t, 60*time.Second)
	waitFor(t, 30*time.Second, "the victim to own partitions in a stable group", func() bool {
		d, err := cl.DescribeGroup(ctx, "workers")
		return err == nil && d.State == "Stable" && len(d.Members) == 3 && len(victim.g.Assignment()) > 0
	})
	victim.halt()
	owned := victim.g.Assignment()
	victim.g.abort() // no LeaveGroup: the coordinator must notice the silence
	l.forget("victim")
	committed, err := cl.FetchGroupOffsets(ctx, "workers", owned)
	if err != nil {
		t.Fatal(err)
	}
	produceMore(t, cl, "events", 6, 20)
	waitFor(t, 60*time.Second, "the others to take the victim's partitions and read everything", func() bool {
		return l.total() == 420
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range owned {
		c, ok := committed[p]
		if !ok {
			t.Fatalf("victim's %v has no committed offset", p)
		}
		var first int64 = -1
		for _, m := range []*member{a, bm} {
			if off, ok := l.first[m.name][p]; ok {
				first = off
			}
		}
		if first != c.Offset {
			t.Errorf("%v: the new owner started at %d, the last commit was %d", p, first, c.Offset)
		}
	}
}

func TestGroupStaleGenerationCommitIsRefused(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 4, 5)
	l := newLedger(t)
	m1 := startMember(t, cl, l, "m1", nil)
	waitFor(t, 30*time.Second, "m1 to join", func() bool { _, gen := m1.g.Generation(); return gen > 0 && l.total() == 20 })
	oldID, oldGen := m1.g.Generation()
	m2 := startMember(t, cl, l, "m2", nil)
	waitFor(t, 30*time.Second, "a new generation", func() bool {
		_, g1 := m1.g.Generation()
		_, g2 := m2.g.Generation()
		return g1 > oldGen && g1 == g2
	})
	ctx := testCtx(t, 10*time.Second)
	err := cl.commit(ctx, &protocol.OffsetCommitRequest{GroupID: "workers", GenerationID: oldGen, MemberID: oldID,
		Topics: commitTopics(map[TopicPartition]int64{{Topic: "events", Partition: 0}: 1})})
	if !errors.Is(err, protocol.ErrIllegalGeneration) {
		t.Fatalf("stale commit: %v", err)
	}
	// A commit from outside the group is refused while it has members.
	if err := cl.CommitGroupOffsets(ctx, "workers", map[TopicPartition]int64{{Topic: "events", Partition: 0}: 1}); !errors.Is(err, protocol.ErrUnknownMemberID) {
		t.Fatalf("outside commit to an active group: %v", err)
	}
	offs, err := cl.FetchGroupOffsets(ctx, "workers", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := offs[TopicPartition{Topic: "events", Partition: 0}].Offset; got != 5 {
		t.Fatalf("partition 0 committed at %d after refused commits, want 5", got)
	}
}

func TestGroupOffsetsSurviveRestartAndBadCommitsChangeNothing(t *testing.T) {
	dir := t.TempDir()
	edit := func(c *broker.Config) { c.DataDir = dir }
	b := startBroker(t, edit)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "events", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	tp := func(p int32) TopicPartition { return TopicPartition{Topic: "events", Partition: p} }
	if err := cl.CommitGroupOffsets(ctx, "billing", map[TopicPartition]int64{tp(0): 17, tp(1): 4}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		group string
		offs  map[TopicPartition]int64
		want  protocol.ErrorCode
	}{
		{"unknown topic", "billing", map[TopicPartition]int64{{Topic: "nope", Partition: 0}: 1}, protocol.ErrUnknownTopicOrPartition},
		{"unknown partition", "billing", map[TopicPartition]int64{tp(2): 1}, protocol.ErrUnknownTopicOrPartition},
		{"negative offset", "billing", map[TopicPartition]int64{tp(0): -3}, protocol.ErrOffsetOutOfRange},
		{"empty group id", "", map[TopicPartition]int64{tp(0): 1}, protocol.ErrInvalidGroupID},
	} {
		if err := cl.CommitGroupOffsets(ctx, tc.group, tc.offs); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := cl.FetchGroupOffsets(ctx, "", nil); !errors.Is(err, protocol.ErrInvalidGroupID) {
		t.Errorf("fetch with an empty group id: %v", err)
	}
	cl.Close()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b = startBroker(t, edit)
	cl = newClient(t, b.Addr().String(), nil)
	offs, err := cl.FetchGroupOffsets(ctx, "billing", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 2 || offs[tp(0)].Offset != 17 || offs[tp(1)].Offset != 4 || offs[tp(0)].CommitTimestamp <= 0 {
		t.Fatalf("after restart: %+v", offs)
	}
	groups, err := cl.ListGroups(ctx)
	if err != nil || len(groups) != 1 || groups[0].Group != "billing" || groups[0].State != "Empty" {
		t.Fatalf("groups after restart: %+v %v", groups, err)
	}
	// Deleting the topic takes its offsets; deleting the group the rest.
	if err := cl.DeleteGroup(ctx, "nope"); !errors.Is(err, protocol.ErrGroupIDNotFound) {
		t.Fatalf("delete unknown group: %v", err)
	}
	if err := cl.DeleteTopic(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	if offs, _ := cl.FetchGroupOffsets(ctx, "billing", nil); len(offs) != 0 {
		t.Fatalf("offsets after the topic's deletion: %v", offs)
	}
}

func TestGroupStaticMemberKeepsItsPartitions(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 4, 5)
	l := newLedger(t)
	l.dupOK = true
	leader := startMember(t, cl, l, "leader", nil)
	waitFor(t, 30*time.Second, "the leader to join", func() bool { _, gen := leader.g.Generation(); return gen > 0 })
	static := func(c *GroupConfig) { c.InstanceID = "host-1"; c.SessionTimeout = 10 * time.Second }
	s1 := startMember(t, cl, l, "static", static)
	ctx := testCtx(t, 30*time.Second)
	var before GroupDescription
	waitFor(t, 30*time.Second, "a stable group of 2", func() bool {
		var err error
		before, err = cl.DescribeGroup(ctx, "workers")
		return err == nil && before.State == "Stable" && len(before.Members) == 2 && len(s1.g.Assignment()) == 2
	})
	owned := s1.g.Assignment()
	s1.halt()
	s1.g.abort() // a crash: no LeaveGroup
	l.forget("static")
	s2 := startMember(t, cl, l, "static", static)
	waitFor(t, 30*time.Second, "the restarted static member to get its partitions back", func() bool {
		return fmt.Sprint(s2.g.Assignment()) == fmt.Sprint(owned)
	})
	after, err := cl.DescribeGroup(ctx, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation {
		t.Fatalf("the static member's restart rebalanced: generation %d -> %d", before.Generation, after.Generation)
	}
}

func TestGroupMemberThatStopsPollingIsRemoved(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 4, 5)
	l := newLedger(t)
	l.dupOK = true
	a := startMember(t, cl, l, "a", nil)
	slow := startMember(t, cl, l, "slow", func(c *GroupConfig) { c.MaxPollInterval = time.Second })
	ctx := testCtx(t, 30*time.Second)
	waitFor(t, 30*time.Second, "both members to own partitions", func() bool {
		return len(a.g.Assignment()) == 2 && len(slow.g.Assignment()) == 2
	})
	slow.halt() // stops polling, keeps heartbeating
	l.forget("slow")
	waitFor(t, 30*time.Second, "the slow member to be removed", func() bool {
		d, err := cl.DescribeGroup(ctx, "workers")
		return err == nil && d.State == "Stable" && len(d.Members) == 1 && len(d.Members[0].Partitions) == 4
	})
}

func TestGroupOffsetResetAndAutoCommit(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 2, 10)
	ctx := testCtx(t, 60*time.Second)
	cfg := func(group, reset string) GroupConfig {
		return GroupConfig{GroupID: group, Topics: []string{"events"}, AutoOffsetReset: reset,
			SessionTimeout: 3 * time.Second, HeartbeatInterval: 100 * time.Millisecond,
			AutoCommitInterval: 50 * time.Millisecond, Consumer: ConsumerConfig{MaxWait: 50 * time.Millisecond}}
	}
	pollUntil := func(g *GroupConsumer, what string, cond func([]ConsumerRecord, error) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			recs, err := g.Poll(ctx)
			if cond(recs, err) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (last: %d records, %v)", what, len(recs), err)
			}
		}
	}

	// none: no committed offset is an error, until the member seeks.
	gn, err := cl.NewGroupConsumer(cfg("strict", "none"))
	if err != nil {
		t.Fatal(err)
	}
	defer gn.Close()
	pollUntil(gn, "ErrNoOffset", func(_ []ConsumerRecord, err error) bool { return errors.Is(err, ErrNoOffset) })
	for _, p := range gn.Assignment() {
		gn.Seek(p, 8)
	}
	got := 0
	pollUntil(gn, "the records after the seek", func(recs []ConsumerRecord, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		got += len(recs)
		return got == 4
	})

	// latest: only what is produced after the member got its partitions;
	// auto-commit then commits it without being asked.
	gl, err := cl.NewGroupConsumer(cfg("tail", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	pollUntil(gl, "partitions", func([]ConsumerRecord, error) bool { return len(gl.Assignment()) == 2 })
	produceMore(t, cl, "events", 2, 3)
	got = 0
	pollUntil(gl, "the new records", func(recs []ConsumerRecord, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Offset < 10 {
				t.Fatalf("latest reset read old offset %d", r.Offset)
			}
		}
		got += len(recs)
		return got == 6
	})
	pollUntil(gl, "an auto-commit of both partitions", func([]ConsumerRecord, error) bool {
		offs, err := cl.FetchGroupOffsets(ctx, "tail", nil)
		return err == nil && offs[TopicPartition{Topic: "events", Partition: 0}].Offset == 13 && offs[TopicPartition{Topic: "events", Partition: 1}].Offset == 13
	})
	// CommitAsync calls back with the outcome.
	done := make(chan error, 1)
	gl.CommitAsync(map[TopicPartition]int64{{Topic: "events", Partition: 0}: 12}, func(_ map[TopicPartition]int64, err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	gl.CommitAsync(map[TopicPartition]int64{{Topic: "events", Partition: 9}: 1}, func(_ map[TopicPartition]int64, err error) { done <- err })
	if err := <-done; !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("async commit of a partition that does not exist: %v", err)
	}
}

func TestGroupKickedMemberLosesItsPartitionsAndRejoins(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 2, 5)
	l := newLedger(t)
	l.dupOK = true
	lost := make(chan []TopicPartition, 4)
	m := startMember(t, cl, l, "m", func(c *GroupConfig) {
		c.OnPartitionsLost = func(ctx context.Context, ps []TopicPartition) { l.released("m", ps); lost <- ps }
	})
	waitFor(t, 30*time.Second, "partitions", func() bool { return len(m.g.Assignment()) == 2 })
	oldID, oldGen := m.g.Generation()
	// An administrator removes the member, as the coordinator would after
	// a session timeout.
	ctx := testCtx(t, 30*time.Second)
	var resp protocol.LeaveGroupResponse
	if err := cl.call(ctx, "", &protocol.LeaveGroupRequest{GroupID: "workers", Members: []protocol.LeaveGroupRequestMember{{MemberID: oldID}}}, &resp, false); err != nil || resp.ErrorCode != protocol.NoError {
		t.Fatalf("leave: %v %v", err, resp.ErrorCode)
	}
	select {
	case ps := <-lost:
		if len(ps) != 2 {
			t.Fatalf("lost %v", ps)
		}
	case <-ctx.Done():
		t.Fatal("OnPartitionsLost was not called")
	}
	// The zombie's commits are refused; the member rejoins with a new id.
	err := cl.commit(ctx, &protocol.OffsetCommitRequest{GroupID: "workers", GenerationID: oldGen, MemberID: oldID,
		Topics: commitTopics(map[TopicPartition]int64{{Topic: "events", Partition: 0}: 1})})
	if !errors.Is(err, protocol.ErrUnknownMemberID) {
		t.Fatalf("zombie commit: %v", err)
	}
	waitFor(t, 30*time.Second, "the member back with its partitions", func() bool {
		id, _ := m.g.Generation()
		return id != oldID && id != "" && len(m.g.Assignment()) == 2
	})
}

// TestGroupRebalancesWhenPartitionsAreAdded: the leader notices that a
// subscribed topic grew (here through the Kafka listener, as an operator
// with Kafka's tools would do it) and rebalances, so the new partitions
// get owners and their records are read.
func TestGroupRebalancesWhenPartitionsAreAdded(t *testing.T) {
	b := groupBroker(t)
	cl := newClient(t, b.Addr().String(), nil)
	produceEach(t, cl, "events", 2, 10)
	l := newLedger(t)
	for i := 0; i < 2; i++ {
		startMember(t, cl, l, fmt.Sprintf("m%d", i), func(c *GroupConfig) { c.MetadataMaxAge = 100 * time.Millisecond })
	}
	ctx := testCtx(t, 60*time.Second)
	owned := func(want int) func() bool {
		return func() bool {
			d, err := cl.DescribeGroup(ctx, "workers")
			if err != nil || d.State != "Stable" || len(d.Members) != 2 {
				return false
			}
			n := 0
			for _, m := range d.Members {
				n += len(m.Partitions)
			}
			return n == want
		}
	}
	waitFor(t, 30*time.Second, "a stable group owning 2 partitions", owned(2))
	waitFor(t, 30*time.Second, "the first 20 records", func() bool { return l.total() == 20 })

	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	res, err := kadm.NewClient(kc).CreatePartitions(ctx, 2, "events")
	if err != nil {
		t.Fatal(err)
	}
	if r := res["events"]; r.Err != nil {
		t.Fatalf("CreatePartitions: %v", r.Err)
	}
	waitFor(t, 30*time.Second, "a stable group owning 4 partitions", owned(4))
	produceMore(t, cl, "events", 4, 10)
	waitFor(t, 30*time.Second, "every record, new partitions included", func() bool { return l.total() == 60 })
}

// TestGroupSurvivesBrokerRestart: the broker stores a stable group's
// members, so after a restart (same data directory, same port) the
// members heartbeat on at the same generation: nothing is revoked or
// lost, and records produced afterwards are read.
func TestGroupSurvivesBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	edit := func(c *broker.Config) {
		c.DataDir = dir
		c.GroupMinSessionTimeout = 200 * time.Millisecond
		c.GroupInitialDelay = 0
	}
	b := startBroker(t, edit)
	addr := b.Addr().String()
	cl := newClient(t, addr, nil)
	produceEach(t, cl, "events", 2, 10)

	var mu sync.Mutex
	seen := map[TopicPartition]int{}
	changes := 0 // revocations and losses
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		g, err := cl.NewGroupConsumer(GroupConfig{
			GroupID: "survivors", Topics: []string{"events"}, ClientID: fmt.Sprintf("m%d", i),
			SessionTimeout: 5 * time.Second, HeartbeatInterval: 100 * time.Millisecond,
			AutoOffsetReset: "earliest", Consumer: ConsumerConfig{MaxWait: 100 * time.Millisecond},
			OnPartitionsRevoked: func(context.Context, []TopicPartition) { mu.Lock(); changes++; mu.Unlock() },
			OnPartitionsLost:    func(context.Context, []TopicPartition) { mu.Lock(); changes++; mu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.Close()
			for ctx.Err() == nil {
				// Polls fail while the broker is down; they are retried.
				recs, _ := g.Poll(ctx)
				mu.Lock()
				for _, r := range recs {
					seen[TopicPartition{Topic: r.Topic, Partition: r.Partition}]++
				}
				mu.Unlock()
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	dctx := testCtx(t, 60*time.Second)
	var before GroupDescription
	stable := func(d *GroupDescription) func() bool {
		return func() bool {
			got, err := cl.DescribeGroup(dctx, "survivors")
			n := 0
			for _, m := range got.Members {
				n += len(m.Partitions)
			}
			*d = got
			return err == nil && got.State == "Stable" && len(got.Members) == 2 && n == 2
		}
	}
	waitFor(t, 30*time.Second, "a stable group of two", stable(&before))
	waitFor(t, 30*time.Second, "the first records", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[TopicPartition{Topic: "events", Partition: 0}] == 10 && seen[TopicPartition{Topic: "events", Partition: 1}] == 10
	})
	mu.Lock()
	changes = 0 // the initial cooperative rounds may move a partition
	mu.Unlock()
	waitFor(t, 30*time.Second, "the group stable after the first records", stable(&before))

	if err := b.Close(dctx); err != nil {
		t.Fatal(err)
	}
	b = startBroker(t, func(c *broker.Config) {
		edit(c)
		c.Listen = addr
	})
	produceMore(t, cl, "events", 2, 5)
	waitFor(t, 30*time.Second, "the records produced after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[TopicPartition{Topic: "events", Partition: 0}] >= 15 && seen[TopicPartition{Topic: "events", Partition: 1}] >= 15
	})
	var after GroupDescription
	waitFor(t, 30*time.Second, "the group stable after the restart", stable(&after))
	if after.Generation != before.Generation {
		t.Errorf("generation %d after the restart, %d before: the group rebalanced", after.Generation, before.Generation)
	}
	ids := func(d GroupDescription) []string {
		var out []string
		for _, m := range d.Members {
			out = append(out, m.MemberID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(before), ids(after)) {
		t.Errorf("members %v after the restart, %v before", ids(after), ids(before))
	}
	mu.Lock()
	defer mu.Unlock()
	if changes != 0 {
		t.Errorf("%d revocations or losses across the restart", changes)
	}
}
