package cluster

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/internal/logtest"
	"github.com/sluicelog/sluice/net/quorum"
	"github.com/sluicelog/sluice/net/request"
)

// testNode is one member with its own engine and directory, restartable.
type testNode struct {
	id   int32
	dir  string
	addr string
	eng  *engine.Engine
	m    *Member
}

type testCluster struct {
	t      *testing.T
	voters []quorum.Voter
	nodes  []*testNode
	logs   *logtest.Recorder // nil: no logs
}

func shortTimes(c *Config) {
	c.SessionTimeout = 1500 * time.Millisecond
	c.HeartbeatInterval = 200 * time.Millisecond
	c.RaftHeartbeatTimeout = 300 * time.Millisecond
	c.RaftElectionTimeout = 600 * time.Millisecond
}

// newTestCluster starts n members on pre-bound 127.0.0.1:0 listeners.
func newTestCluster(t *testing.T, n int) *testCluster { return newLoggedCluster(t, n, nil) }

// newLoggedCluster is newTestCluster with every member logging to logs,
// each line with at=its node id.
func newLoggedCluster(t *testing.T, n int, logs *logtest.Recorder) *testCluster {
	tc := &testCluster{t: t, logs: logs}
	var lns []net.Listener
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		tc.voters = append(tc.voters, quorum.Voter{ID: int32(i), Addr: ln.Addr().String()})
		tc.nodes = append(tc.nodes, &testNode{id: int32(i), dir: t.TempDir(), addr: ln.Addr().String()})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, nd := range tc.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = tc.start(nd, lns[i])
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nd := range tc.nodes {
			tc.stop(nd)
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

func (tc *testCluster) start(nd *testNode, ln net.Listener) error {
	eng, err := engine.Open(nd.dir, engine.Options{})
	if err != nil {
		return err
	}
	cfg := Config{NodeID: nd.id, DataDir: nd.dir, Voters: tc.voters, Engine: eng, NumPartitions: 1, DefaultReplicationFactor: 1}
	if tc.logs != nil {
		cfg.Logger = tc.logs.Logger("CLUSTER_TEST_LOG").With("at", strconv.Itoa(int(nd.id)))
	}
	if ln != nil {
		cfg.ControllerListener = ln
	} else {
		cfg.ControllerListen = nd.addr
	}
	shortTimes(&cfg)
	m, err := Start(cfg)
	if err != nil {
		eng.Close()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Join(ctx); err != nil {
		m.Close()
		eng.Close()
		return err
	}
	m.Advertise(request.ListenerNative, "127.0.0.1", 9000+nd.id)
	if err := m.Register(ctx); err != nil {
		m.Close()
		eng.Close()
		return err
	}
	nd.eng, nd.m = eng, m
	return nil
}

func (tc *testCluster) stop(nd *testNode) {
	if nd.m != nil {
		nd.m.Close()
		nd.eng.Close()
		nd.m, nd.eng = nil, nil
	}
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTopicCreatedThroughAnyMemberReachesEveryBroker(t *testing.T) {
	tc := newTestCluster(t, 3)
	ctx := context.Background()
	// A follower of the quorum proposes; every member's image and
	// storage get the topic with the same id.
	var follower *Member
	for _, nd := range tc.nodes {
		if !nd.m.Node().IsLeader() {
			follower = nd.m
		}
	}
	top, err := follower.CreateTopic(ctx, request.NewTopic{Name: "orders", Partitions: 6, ReplicationFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[int32]int{}
	for _, p := range top.Partitions {
		if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
			t.Fatalf("partition %d placed as %+v", p.ID, p)
		}
		leaders[p.Leader]++
	}
	if len(leaders) != 3 {
		t.Fatalf("6 partitions led by %v: leaders are not spread", leaders)
	}
	for _, nd := range tc.nodes {
		eventually(t, "the topic in every engine", func() bool {
			d, err := nd.eng.DescribeTopic("orders")
			return err == nil && d.ID == top.ID && len(d.Partitions) == 6 &&
				!errors.Is(nd.m.LeaderCheck("orders", 5), engine.ErrUnknownTopic)
		})
		for _, p := range top.Partitions {
			err := nd.m.LeaderCheck("orders", p.ID)
			if (p.Leader == nd.id) != (err == nil) {
				t.Fatalf("node %d LeaderCheck(orders, %d) = %v, leader is %d", nd.id, p.ID, err, p.Leader)
			}
			if p.Leader != nd.id && request.CodeOf(err) != request.NotLeaderOrFollower {
				t.Fatalf("node %d: refusal code %v, want NOT_LEADER_OR_FOLLOWER", nd.id, request.CodeOf(err))
			}
		}
	}
	// RF above the live brokers is Kafka's INVALID_REPLICATION_FACTOR.
	_, err = tc.nodes[0].m.CreateTopic(ctx, request.NewTopic{Name: "wide", Partitions: 1, ReplicationFactor: 4})
	if request.CodeOf(err) != request.InvalidReplicationFactor {
		t.Fatalf("RF 4 on 3 brokers: %v (code %v)", err, request.CodeOf(err))
	}
	// More partitions than a broker's storage takes is refused before
	// anything is proposed (a topic no broker could store would be
	// stuck in the image).
	_, err = tc.nodes[0].m.CreateTopic(ctx, request.NewTopic{Name: "huge", Partitions: engine.DefaultMaxPartitions + 1, ReplicationFactor: 1})
	if !errors.Is(err, engine.ErrInvalidPartitions) {
		t.Fatalf("%d partitions: %v", engine.DefaultMaxPartitions+1, err)
	}
	if _, ok := tc.nodes[0].m.State().Topic("huge"); ok {
		t.Fatal("the refused topic is in the image")
	}
	_, err = tc.nodes[2].m.CreateTopic(ctx, request.NewTopic{Name: "orders", Partitions: 1, ReplicationFactor: 1})
	if !errors.Is(err, engine.ErrTopicExists) {
		t.Fatalf("creating orders twice: %v", err)
	}
	// Deletion and config changes go through the quorum too.
	if err := tc.nodes[1].m.AlterTopicConfig(ctx, "orders", map[string]string{"retention.ms": "60000"}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := tc.nodes[1].m.CreatePartitions(ctx, "orders", 8, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, nd := range tc.nodes {
		eventually(t, "configs and partitions everywhere", func() bool {
			c, err := nd.eng.TopicOverrides("orders")
			d, err2 := nd.eng.DescribeTopic("orders")
			return err == nil && err2 == nil && c["retention.ms"] == "60000" && len(d.Partitions) == 8
		})
	}
	if err := tc.nodes[2].m.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	for _, nd := range tc.nodes {
		eventually(t, "the topic gone everywhere", func() bool {
			_, err := nd.eng.DescribeTopic("orders")
			return errors.Is(err, engine.ErrUnknownTopic)
		})
	}
}

func TestDeadBrokerIsFencedAndRejoins(t *testing.T) {
	tc := newTestCluster(t, 3)
	ctx := context.Background()
	// Stop a broker that is not the active controller.
	var victim *testNode
	for _, nd := range tc.nodes {
		if !nd.m.Node().IsLeader() {
			victim = nd
		}
	}
	top, err := tc.nodes[0].m.CreateTopic(ctx, request.NewTopic{Name: "t", Assignment: [][]int32{{victim.id}}})
	if err != nil {
		t.Fatal(err)
	}
	epoch := top.Partitions[0].LeaderEpoch
	tc.stop(victim)
	var other *Member
	for _, nd := range tc.nodes {
		if nd != victim {
			other = nd.m
		}
	}
	eventually(t, "the stopped broker fenced", func() bool {
		b, ok := other.State().Broker(victim.id)
		return ok && b.Fenced
	})
	for _, b := range other.Brokers(request.ListenerNative) {
		if b.ID == victim.id {
			t.Fatalf("fenced broker %d still listed live", victim.id)
		}
	}
	if err := other.LeaderCheck("t", 0); !errors.Is(err, request.ErrLeaderNotAvailable) {
		t.Fatalf("partition led by the fenced broker: %v, want LEADER_NOT_AVAILABLE", err)
	}
	// It restarts on its directory and comes back as the partition's leader.
	if err := tc.start(victim, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broker back and leading", func() bool {
		p, ok := other.State().Partition("t", 0)
		b, _ := other.State().Broker(victim.id)
		return ok && p.Leader == victim.id && p.LeaderEpoch > epoch && !b.Fenced
	})
	if err := victim.m.LeaderCheck("t", 0); err != nil {
		t.Fatalf("rejoined leader refuses: %v", err)
	}
}

func TestDataDirectoryOfAnotherNodeIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := writeMetaProperties(dir, metaProperties{NodeID: 2, ClusterID: "abc"}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{NodeID: 1, DataDir: dir, Voters: []quorum.Voter{{ID: 1, Addr: "127.0.0.1:1"}}}
	_, err := Start(cfg)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("node 1 on node 2's directory: %v", err)
	}
	cfg = Config{NodeID: 2, DataDir: dir, ClusterID: "xyz", Voters: []quorum.Voter{{ID: 2, Addr: "127.0.0.1:1"}}}
	_, err = Start(cfg)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("cluster xyz on cluster abc's directory: %v", err)
	}
}

// TestBrokersStoreTheirReplicasAlone: every broker knows every topic, but
// stores only the partitions it holds a replica of.
func TestBrokersStoreTheirReplicasAlone(t *testing.T) {
	tc := newTestCluster(t, 3)
	ctx := context.Background()
	top, err := tc.nodes[0].m.CreateTopic(ctx, request.NewTopic{Name: "solo", Partitions: 6, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.nodes[1].m.CreatePartitions(ctx, "solo", 9, nil, false); err != nil {
		t.Fatal(err)
	}
	top, err = tc.nodes[1].m.Topic("solo")
	if err != nil || len(top.Partitions) != 9 {
		t.Fatalf("solo: %+v, %v", top, err)
	}
	for _, nd := range tc.nodes {
		var want []int32
		for _, p := range top.Partitions {
			if p.Replicas[0] == nd.id {
				want = append(want, p.ID)
			}
		}
		eventually(t, "each broker to store its replicas alone", func() bool {
			got, err := nd.eng.Hosted("solo")
			d, err2 := nd.eng.DescribeTopic("solo")
			return err == nil && err2 == nil && slices.Equal(got, want) && d.PartitionCount == 9
		})
	}
}
