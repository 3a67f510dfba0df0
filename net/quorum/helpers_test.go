package quorum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// listSM is a toy StateMachine: an append-only list of strings. Apply
// returns the new length.
type listSM struct {
	mu       sync.Mutex
	items    []string
	restores int
}

func (s *listSM) Apply(cmd []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, string(cmd))
	return []byte(strconv.Itoa(len(s.items)))
}

func (s *listSM) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []byte(strings.Join(s.items, "\n")), nil
}

func (s *listSM) Restore(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = nil
	if len(b) > 0 {
		s.items = strings.Split(string(b), "\n")
	}
	s.restores++
	return nil
}

func (s *listSM) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.items)
}

func (s *listSM) restoreCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restores
}

// fastTimeouts shortens raft's timers for loopback tests; still generous
// enough that a loaded 2-core machine under -race keeps a stable leader.
func fastTimeouts(c *Config) {
	c.HeartbeatTimeout = 250 * time.Millisecond
	c.ElectionTimeout = 500 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.IOTimeout = 2 * time.Second
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("QUORUM_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// cluster is n voters in one process on pre-bound 127.0.0.1:0 listeners, so
// every voter's address is known before any node starts.
type cluster struct {
	t      testing.TB
	voters []Voter
	dirs   []string
	sms    []*listSM
	nodes  []*Node // nil while stopped
	tweak  func(i int, c *Config)
}

func reserve(t testing.TB, n int) ([]net.Listener, []Voter) {
	t.Helper()
	var lns []net.Listener
	var vs []Voter
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		vs = append(vs, Voter{ID: int32(i + 1), Addr: ln.Addr().String()})
	}
	return lns, vs
}

func newCluster(t testing.TB, n int, tweak func(i int, c *Config)) *cluster {
	t.Helper()
	lns, vs := reserve(t, n)
	c := &cluster{t: t, voters: vs, tweak: tweak, nodes: make([]*Node, n), sms: make([]*listSM, n)}
	for range n {
		c.dirs = append(c.dirs, t.TempDir())
	}
	t.Cleanup(c.closeAll)
	for i := range n {
		c.start(i, lns[i])
	}
	return c
}

func (c *cluster) config(i int, ln net.Listener) Config {
	cfg := Config{
		NodeID:       c.voters[i].ID,
		Dir:          c.dirs[i],
		Listener:     ln,
		Voters:       c.voters,
		StateMachine: c.sms[i],
		Logger:       testLogger(c.t).With("node", i+1),
		LeaderHandler: func(ctx context.Context, kind uint8, p []byte) ([]byte, error) {
			if kind == 0 {
				return nil, errors.New("kind 0 refused")
			}
			return fmt.Appendf(nil, "node %d got kind %d: %s", i+1, kind, p), nil
		},
	}
	if ln == nil {
		cfg.Listen = c.voters[i].Addr
	}
	fastTimeouts(&cfg)
	if c.tweak != nil {
		c.tweak(i, &cfg)
	}
	return cfg
}

// start starts node i with a fresh state machine, on ln or, when nil, on its
// voters address again.
func (c *cluster) start(i int, ln net.Listener) {
	c.t.Helper()
	c.sms[i] = &listSM{}
	n, err := Start(c.config(i, ln))
	if err != nil {
		c.t.Fatalf("start node %d: %v", i+1, err)
	}
	c.nodes[i] = n
}

func (c *cluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Errorf("close node %d: %v", i+1, err)
	}
	c.nodes[i] = nil
}

func (c *cluster) closeAll() {
	for i, n := range c.nodes {
		if n != nil {
			n.Close()
			c.nodes[i] = nil
		}
	}
}

// leader waits for a leader that all running nodes agree on and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	var all []int
	for i := range c.nodes {
		all = append(all, i)
	}
	return c.leaderOf(all...)
}

// leaderOf waits for a leader among the running nodes of idxs, known to all of
// them, and returns its index.
func (c *cluster) leaderOf(idxs ...int) int {
	c.t.Helper()
	idx := -1
	waitFor(c.t, 15*time.Second, fmt.Sprintf("a leader nodes %v agree on", idxs), func() bool {
		idx = -1
		for _, i := range idxs {
			if n := c.nodes[i]; n != nil && n.IsLeader() {
				idx = i
			}
		}
		if idx < 0 {
			return false
		}
		for _, i := range idxs {
			n := c.nodes[i]
			if n == nil {
				continue
			}
			if id, _, ok := n.Leader(); !ok || id != c.voters[idx].ID {
				return false
			}
		}
		return true
	})
	return idx
}

// follower returns the index of a running node other than the leader.
func (c *cluster) follower(leader int) int {
	for i, n := range c.nodes {
		if n != nil && i != leader {
			return i
		}
	}
	c.t.Fatal("no running follower")
	return -1
}

func (c *cluster) waitList(i int, want []string) {
	c.t.Helper()
	waitFor(c.t, 15*time.Second, fmt.Sprintf("node %d to hold %d items", i+1, len(want)), func() bool {
		return slices.Equal(c.sms[i].list(), want)
	})
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func propose(t *testing.T, n *Node, cmd string) string {
	t.Helper()
	res, err := n.Propose(ctxFor(t, 10*time.Second), []byte(cmd))
	if err != nil {
		t.Fatalf("Propose(%q): %v", cmd, err)
	}
	return string(res)
}
