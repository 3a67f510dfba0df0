package quorum

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseVoters(t *testing.T) {
	vs, err := ParseVoters(" 3@10.0.0.3:9093, 1@host-1:9093,2@[::1]:9093 ")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0] != (Voter{3, "10.0.0.3:9093"}) || vs[2] != (Voter{2, "[::1]:9093"}) {
		t.Fatalf("ParseVoters = %v", vs)
	}
	if got := FormatVoters(vs); got != "1@host-1:9093,2@[::1]:9093,3@10.0.0.3:9093" {
		t.Fatalf("FormatVoters = %q", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "is empty"},
		{"1@a:1,", `entry 2 "": want id@host:port`},
		{"1:a:1", "want id@host:port"},
		{"x@a:1", `id "x" is not a non-negative 32-bit integer`},
		{"-1@a:1", "is not a non-negative"},
		{"99999999999@a:1", "is not a non-negative"},
		{"1@a", "address"},
		{"1@:9093", "has no host"},
		{"1@a:0", "is not in 1-65535"},
		{"1@a:70000", "is not in 1-65535"},
		{"1@a:1,1@b:1", "duplicate id 1"},
		{"1@a:1,2@a:1", "duplicate address a:1 (nodes 1 and 2)"},
	} {
		_, err := ParseVoters(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVoters(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestAddrMatches(t *testing.T) {
	for _, tc := range []struct {
		bound, adv string
		ok         bool
	}{
		{"127.0.0.1:9301", "127.0.0.1:9301", true},
		{"0.0.0.0:9301", "broker-1:9301", true},
		{"[::]:9301", "10.0.0.1:9301", true},
		{":9301", "10.0.0.1:9301", true},
		{"127.0.0.1:9301", "127.0.0.1:9302", false},
		{"127.0.0.1:9301", "10.0.0.1:9301", false},
	} {
		if got := addrMatches(tc.bound, tc.adv); got != tc.ok {
			t.Errorf("addrMatches(%q, %q) = %v", tc.bound, tc.adv, got)
		}
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	lns, vs := reserve(t, 3)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	base := func() Config {
		c := Config{NodeID: 1, Dir: t.TempDir(), Voters: vs, StateMachine: &listSM{}, Logger: testLogger(t)}
		fastTimeouts(&c)
		return c
	}

	c := base()
	c.NodeID = 4
	c.Listen = "127.0.0.1:0"
	_, err := Start(c)
	if want := "node.id 4 is not in controller.quorum.voters (" + FormatVoters(vs) + ")"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Start with a node id not in voters: %v, want %q", err, want)
	}

	// Node 1 bound somewhere its voters entry does not name.
	c = base()
	c.Listen = "127.0.0.1:0"
	_, err = Start(c)
	if err == nil || !strings.Contains(err.Error(), "but controller.quorum.voters gives it "+vs[0].Addr) {
		t.Fatalf("Start on the wrong address: %v", err)
	}

	// Node 1's address is taken (by the reserved listener): another broker.
	c = base()
	c.Listen = vs[0].Addr
	_, err = Start(c)
	if err == nil || !strings.Contains(err.Error(), vs[0].Addr+" is already in use; is another broker with node.id 1 running?") {
		t.Fatalf("Start on a busy address: %v", err)
	}

	c = base()
	c.Listen = vs[0].Addr
	c.LeaderLeaseTimeout = time.Second
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	if _, err = Start(c); err == nil || !strings.Contains(err.Error(), "LeaderLeaseTimeout") {
		t.Fatalf("Start with a lease above the heartbeat timeout: %v", err)
	}
	c = base()
	c.StateMachine = nil
	if _, err = Start(c); err == nil || !strings.Contains(err.Error(), "StateMachine") {
		t.Fatalf("Start without a state machine: %v", err)
	}
}

// TestClusterIDMismatch: a node whose data belongs to another cluster is
// refused by its peers, and both sides see the refusal.
func TestClusterIDMismatch(t *testing.T) {
	c := newCluster(t, 3, func(i int, cfg *Config) {
		id := "cluster-a"
		if i == 2 {
			id = "cluster-b"
		}
		cfg.ClusterID = func() string { return id }
	})
	l := c.leaderOf(0, 1) // nodes 1 and 2 are a majority
	err := nextRefusal(t, c.nodes[2], ErrClusterIDMismatch)
	var re *RefusalError
	if !errors.As(err, &re) {
		t.Fatalf("refusal %v is not a *RefusalError", err)
	}
	if re.Inbound {
		want := "cluster id mismatch: peer node " + strconv.Itoa(int(re.PeerID)) + " says cluster-a, we are cluster-b"
		if re.Reason != want {
			t.Fatalf("refusal reason %q, want %q", re.Reason, want)
		}
	} else if !strings.Contains(re.Reason, "says cluster-b, we are cluster-a") {
		t.Fatalf("refusal reason %q", re.Reason)
	}
	// The leader, whose heartbeats the foreign node turns away, sees it too.
	nextRefusal(t, c.nodes[l], ErrClusterIDMismatch)
	// The good majority keeps working; the foreign node never applies.
	propose(t, c.nodes[l], "ok")
	c.waitList(c.follower(l), []string{"ok"})
	if got := c.sms[2].list(); len(got) != 0 {
		t.Fatalf("foreign node applied %q", got)
	}
}

// TestVotersMismatch: a node configured with different voters is refused.
func TestVotersMismatch(t *testing.T) {
	_, spare := reserve(t, 1)
	c := newCluster(t, 3, func(i int, cfg *Config) {
		if i == 2 {
			vs := append([]Voter(nil), cfg.Voters...)
			vs[1].Addr = spare[0].Addr // node 2 elsewhere, in node 3's eyes
			cfg.Voters = vs
		}
	})
	c.leaderOf(0, 1)
	err := nextRefusal(t, c.nodes[2], ErrVotersMismatch)
	if !strings.Contains(err.Error(), "controller.quorum.voters differ: peer node ") {
		t.Fatalf("refusal %v", err)
	}
}

func nextRefusal(t *testing.T, n *Node, want error) error {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case err := <-n.Refusals():
			if errors.Is(err, want) {
				return err
			}
		case <-timeout:
			t.Fatalf("node %s saw no refusal wrapping %v", n.Addr(), want)
		}
	}
}
