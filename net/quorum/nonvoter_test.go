package quorum

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// nonvoter is a Config.Nonvoter node beside a test cluster's voters.
type nonvoter struct {
	c    *cluster
	id   int32
	dir  string
	sm   *listSM
	node *Node
}

// startNonvoter starts node id as a nonvoter on a fresh 127.0.0.1:0
// listener, or on listen when not empty, with a fresh state machine.
func (nv *nonvoter) start(listen string) {
	t := nv.c.t
	t.Helper()
	cfg := Config{
		NodeID:       nv.id,
		Nonvoter:     true,
		Dir:          nv.dir,
		Voters:       nv.c.voters,
		StateMachine: &listSM{},
		Logger:       testLogger(t).With("node", nv.id),
	}
	if listen == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listener = ln
	} else {
		cfg.Listen = listen
	}
	fastTimeouts(&cfg)
	nv.sm = cfg.StateMachine.(*listSM)
	n, err := Start(cfg)
	if err != nil {
		t.Fatalf("start nonvoter %d: %v", nv.id, err)
	}
	nv.node = n
}

func (nv *nonvoter) stop() {
	nv.c.t.Helper()
	if err := nv.node.Close(); err != nil {
		nv.c.t.Errorf("close nonvoter %d: %v", nv.id, err)
	}
	nv.node = nil
}

// servers returns node i's raft configuration as id@addr/suffrage, sorted.
func (c *cluster) servers(i int) []string {
	c.t.Helper()
	f := c.nodes[i].raft.GetConfiguration()
	if err := f.Error(); err != nil {
		c.t.Fatalf("node %d configuration: %v", i+1, err)
	}
	var s []string
	for _, sv := range f.Configuration().Servers {
		s = append(s, string(sv.ID)+"@"+string(sv.Address)+"/"+sv.Suffrage.String())
	}
	slices.Sort(s)
	return s
}

// TestNonvoter: a nonvoter beside three voters joins on its own, receives
// every entry (those before it joined too), proposes and calls the leader
// through them, and never leads. Losing it costs the voters nothing;
// losing one voter leaves a majority, losing two does not (the nonvoter
// does not count). Restarted on its directory, on a new address and then
// the same one, it rejoins and catches up; a voter restarted on a
// directory whose configuration holds the nonvoter is accepted.
func TestNonvoter(t *testing.T) {
	c := newCluster(t, 3, nil)
	l := c.leader()
	propose(t, c.nodes[l], "a")

	nv := &nonvoter{c: c, id: 4, dir: t.TempDir()}
	nv.start("")
	defer func() {
		if nv.node != nil {
			nv.stop()
		}
	}()
	if err := nv.node.WaitReady(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("nonvoter WaitReady: %v", err)
	}
	if got := nv.sm.list(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("nonvoter's state after WaitReady = %q, want [a]", got)
	}
	want := []string{"4@" + nv.node.Addr() + "/Nonvoter"}
	for _, v := range c.voters {
		want = append(want, v.String()+"/Voter")
	}
	slices.Sort(want)
	waitFor(t, 10*time.Second, "every voter to list the nonvoter", func() bool {
		for i := range c.nodes {
			if !slices.Equal(c.servers(i), want) {
				return false
			}
		}
		return true
	})

	// Propose and LeaderCall through the nonvoter; read-your-write.
	if got := propose(t, nv.node, "b"); got != "2" {
		t.Fatalf("Propose on the nonvoter returned %q, want \"2\"", got)
	}
	if got := nv.sm.list(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("nonvoter's state right after its Propose = %q", got)
	}
	res, err := nv.node.LeaderCall(ctxFor(t, 5*time.Second), 7, []byte("hi"))
	if err != nil || !strings.HasSuffix(string(res), "got kind 7: hi") {
		t.Fatalf("LeaderCall from the nonvoter = %q, %v", res, err)
	}
	if nv.node.IsLeader() {
		t.Fatal("the nonvoter says it leads")
	}
	if id, _, ok := nv.node.Leader(); !ok || id != c.voters[l].ID {
		t.Fatalf("nonvoter's Leader() = %d, %v; want %d", id, ok, c.voters[l].ID)
	}
	for i := range c.nodes {
		c.waitList(i, []string{"a", "b"})
	}

	// Without the nonvoter, commits go on as before.
	nv.stop()
	propose(t, c.nodes[l], "c")
	for i := range c.nodes {
		c.waitList(i, []string{"a", "b", "c"})
	}

	// Restarted on its directory with a new address: the leader updates it.
	oldAddr := want
	nv.start("")
	if err := nv.node.WaitReady(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("restarted nonvoter WaitReady: %v", err)
	}
	waitFor(t, 10*time.Second, "the nonvoter to catch up", func() bool {
		return slices.Equal(nv.sm.list(), []string{"a", "b", "c"})
	})
	var servers []string
	waitFor(t, 10*time.Second, "the leader to list the nonvoter at its new address", func() bool {
		servers = c.servers(l)
		return slices.Contains(servers, "4@"+nv.node.Addr()+"/Nonvoter") && len(servers) == 4
	})
	if slices.Equal(servers, oldAddr) {
		t.Logf("the nonvoter got its old port %s again", nv.node.Addr())
	}
	propose(t, nv.node, "d")

	// Restarted on the same address: joining again changes nothing.
	addr := nv.node.Addr()
	nv.stop()
	nv.start(addr)
	if err := nv.node.WaitReady(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("nonvoter restarted on %s: WaitReady: %v", addr, err)
	}
	if got := c.servers(l); !slices.Equal(got, servers) {
		t.Fatalf("configuration after a rejoin at the same address = %v, want %v", got, servers)
	}

	// One voter down: the other two are a majority.
	f := c.follower(l)
	c.stop(f)
	propose(t, nv.node, "e")
	waitFor(t, 10*time.Second, "the nonvoter to apply e", func() bool {
		return slices.Equal(nv.sm.list(), []string{"a", "b", "c", "d", "e"})
	})
	// A voter restarted on a directory whose configuration holds the
	// nonvoter is not refused, and catches up.
	c.start(f, nil)
	c.waitList(f, []string{"a", "b", "c", "d", "e"})

	// Two voters down: one voter and the nonvoter are no majority.
	f2 := c.follower(l)
	f3 := -1
	for i := range c.nodes {
		if i != l && i != f2 {
			f3 = i
		}
	}
	c.stop(f2)
	c.stop(f3)
	if _, err := nv.node.Propose(ctxFor(t, 2*time.Second), []byte("f")); err == nil {
		t.Fatal("a proposal committed with one voter of three and a nonvoter")
	}
	if slices.Contains(nv.sm.list(), "f") {
		t.Fatal("the nonvoter applied an entry one voter of three committed")
	}
}

// TestNonvoterConfig: a nonvoter's id may not be a voter's, and it must
// advertise an address the leader can dial.
func TestNonvoterConfig(t *testing.T) {
	_, vs := reserve(t, 3)
	base := Config{NodeID: 4, Nonvoter: true, Dir: t.TempDir(), Voters: vs, StateMachine: &listSM{}, Listen: "127.0.0.1:0"}

	cfg := base
	cfg.NodeID = 2
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "node.id 2 is in controller.quorum.voters") {
		t.Fatalf("Start of a nonvoter with a voter's id: %v", err)
	}
	cfg = base
	cfg.Listen = "0.0.0.0:0"
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "cannot dial") {
		t.Fatalf("Start of a nonvoter advertising 0.0.0.0: %v", err)
	}
	cfg = base
	cfg.Advertise = vs[0].Addr
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "the address of voter 1") {
		t.Fatalf("Start of a nonvoter advertising a voter's address: %v", err)
	}
	if got := voterServers([]raft.Server{{ID: "1", Suffrage: raft.Voter}, {ID: "4", Suffrage: raft.Nonvoter}}); len(got) != 1 || got[0].ID != "1" {
		t.Fatalf("voterServers = %v", got)
	}
}
