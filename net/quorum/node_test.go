package quorum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClusterProposeAndCall: three voters elect a leader; a follower's
// proposal is applied everywhere and its result comes back; LeaderCall from a
// follower reaches the leader's handler. Node 1 has no cluster id yet, which
// peers accept.
func TestClusterProposeAndCall(t *testing.T) {
	c := newCluster(t, 3, func(i int, cfg *Config) {
		if i > 0 {
			cfg.ClusterID = func() string { return "cluster-a" }
		}
	})
	l := c.leader()
	f := c.follower(l)
	leader, follower := c.nodes[l], c.nodes[f]

	select {
	case v := <-leader.LeaderChanges():
		if !v {
			t.Fatalf("leader's LeaderChanges delivered false")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("leader's LeaderChanges delivered nothing")
	}

	if got := propose(t, follower, "a"); got != "1" {
		t.Fatalf("Propose on follower returned %q, want the state machine's result \"1\"", got)
	}
	// Read-your-write on the proposing follower, with no waiting.
	if got := c.sms[f].list(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("follower's state right after Propose = %q", got)
	}
	if got := propose(t, leader, "b"); got != "2" {
		t.Fatalf("Propose on leader returned %q, want \"2\"", got)
	}
	for i := range c.nodes {
		c.waitList(i, []string{"a", "b"})
	}

	res, err := follower.LeaderCall(ctxFor(t, 5*time.Second), 7, []byte("hello"))
	if err != nil {
		t.Fatalf("LeaderCall from follower: %v", err)
	}
	if want := fmt.Sprintf("node %d got kind 7: hello", l+1); string(res) != want {
		t.Fatalf("LeaderCall = %q, want %q", res, want)
	}
	res, err = leader.LeaderCall(ctxFor(t, 5*time.Second), 9, nil)
	if err != nil || !strings.HasPrefix(string(res), fmt.Sprintf("node %d got kind 9", l+1)) {
		t.Fatalf("LeaderCall on leader = %q, %v", res, err)
	}
	// A handler error is told apart from a transport failure.
	for _, n := range []*Node{follower, leader} {
		_, err = n.LeaderCall(ctxFor(t, 5*time.Second), 0, nil)
		var he *HandlerError
		if !errors.As(err, &he) || he.Text != "kind 0 refused" {
			t.Fatalf("LeaderCall refused by the handler: %v, want a HandlerError", err)
		}
	}

	// Concurrent proposals from every node all land, once each.
	const per = 10
	errs := make(chan error, 3*per)
	for i, n := range c.nodes {
		for j := range per {
			go func() {
				_, err := n.Propose(ctxFor(t, 10*time.Second), fmt.Appendf(nil, "n%d-%d", i, j))
				errs <- err
			}()
		}
	}
	for range 3 * per {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Propose: %v", err)
		}
	}
	want := c.sms[l].list()
	if len(want) != 2+3*per {
		t.Fatalf("leader holds %d items, want %d", len(want), 2+3*per)
	}
	for i := range c.nodes {
		c.waitList(i, want)
		if err := c.nodes[i].WaitReady(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("WaitReady on node %d: %v", i+1, err)
		}
	}

	st := follower.Stats()
	if st.State != "Follower" || st.LeaderID != int32(l+1) || st.LeaderAddr != leader.Addr() ||
		st.Term == 0 || st.AppliedIndex == 0 || st.CommitIndex < st.AppliedIndex || st.LastContact.IsZero() {
		t.Fatalf("follower Stats = %+v", st)
	}
	if st := leader.Stats(); st.State != "Leader" {
		t.Fatalf("leader Stats = %+v", st)
	}
}

// TestFailoverAndRejoin: closing the leader elects another, proposals go on,
// and the old leader restarted on its directory catches up.
func TestFailoverAndRejoin(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	propose(t, c.nodes[c.follower(l)], "before")
	for i := range c.nodes {
		c.waitList(i, []string{"before"})
	}
	// Close is idempotent.
	c.nodes[l].Close()
	c.stop(l)

	l2 := c.leader()
	if l2 == l {
		t.Fatalf("closed node %d still leads", l+1)
	}
	f := c.follower(l2)
	if got := propose(t, c.nodes[f], "after"); got != "2" {
		t.Fatalf("Propose after failover = %q, want \"2\"", got)
	}

	c.start(l, nil) // same Dir and address, fresh state machine
	want := []string{"before", "after"}
	c.waitList(l, want)
	if err := c.nodes[l].WaitReady(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("WaitReady after rejoin: %v", err)
	}
	if got := propose(t, c.nodes[l], "rejoined"); got != "3" {
		t.Fatalf("Propose from the rejoined node = %q, want \"3\"", got)
	}
	want = append(want, "rejoined")
	// Every node proposes again: pooled call connections to the closed
	// node are dead, and must be noticed before a proposal is sent on them.
	for i, n := range c.nodes {
		cmd := fmt.Sprintf("again%d", i)
		want = append(want, cmd)
		propose(t, n, cmd)
	}
	for i := range c.nodes {
		c.waitList(i, want)
	}
}

// TestSnapshotRestore: a node restarts from its own snapshot, and a node
// that fell behind a compacted log is sent the leader's snapshot.
func TestSnapshotRestore(t *testing.T) {
	c := newCluster(t, 3, func(i int, cfg *Config) {
		cfg.SnapshotThreshold = 5
		cfg.TrailingLogs = 2
	})
	l := c.leader()
	var want []string
	for i := range 12 {
		cmd := fmt.Sprintf("c%d", i)
		want = append(want, cmd)
		propose(t, c.nodes[l], cmd)
	}
	for i := range c.nodes {
		c.waitList(i, want)
		if err := c.nodes[i].Snapshot(); err != nil {
			t.Fatalf("Snapshot on node %d: %v", i+1, err)
		}
	}

	// Restart a follower: its own snapshot, then the log after it.
	f := c.follower(l)
	c.stop(f)
	more := "after-snapshot"
	propose(t, c.nodes[l], more)
	want = append(want, more)
	c.start(f, nil)
	c.waitList(f, want)
	if c.sms[f].restoreCount() == 0 {
		t.Fatalf("restarted node %d did not restore a snapshot", f+1)
	}

	// Stop it again, move the leader's log past it and compact: it can
	// only catch up through InstallSnapshot.
	c.stop(f)
	for i := range 10 {
		cmd := fmt.Sprintf("late%d", i)
		want = append(want, cmd)
		propose(t, c.nodes[l], cmd)
	}
	if err := c.nodes[l].Snapshot(); err != nil {
		t.Fatalf("leader Snapshot: %v", err)
	}
	c.start(f, nil)
	c.waitList(f, want)
	if err := c.nodes[f].WaitReady(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
}

// TestSingleVoter: a quorum of one leads itself, replays its log on restart,
// and refuses a restart with voters that differ from the stored quorum.
func TestSingleVoter(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.leader()
	propose(t, c.nodes[0], "x")
	propose(t, c.nodes[0], "y")
	c.stop(0)
	c.start(0, nil)
	c.waitList(0, []string{"x", "y"})
	if err := c.nodes[0].WaitReady(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.stop(0)

	_, other := reserve(t, 2)
	cfg := c.config(0, nil)
	cfg.Voters = []Voter{c.voters[0], {ID: 2, Addr: other[1].Addr}}
	_, err := Start(cfg)
	if err == nil || !strings.Contains(err.Error(), "differ from the quorum stored in") {
		t.Fatalf("Start with changed voters: %v", err)
	}
}

// TestNoLeader: a lone voter of three cannot elect; calls time out saying so.
func TestNoLeader(t *testing.T) {
	lns, vs := reserve(t, 3)
	lns[1].Close()
	lns[2].Close()
	cfg := Config{NodeID: 1, Dir: t.TempDir(), Listener: lns[0], Voters: vs, StateMachine: &listSM{}, Logger: testLogger(t)}
	fastTimeouts(&cfg)
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, err = n.LeaderCall(ctxFor(t, 300*time.Millisecond), 1, nil)
	if !errors.Is(err, ErrNoLeader) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LeaderCall without a leader: %v", err)
	}
	_, err = n.Propose(ctxFor(t, 300*time.Millisecond), []byte("x"))
	if !errors.Is(err, ErrNoLeader) {
		t.Fatalf("Propose without a leader: %v", err)
	}
	if _, _, ok := n.Leader(); ok {
		t.Fatal("Leader() reports a leader")
	}
	n.Close()
	if _, err := n.Propose(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Propose after Close: %v", err)
	}
}
