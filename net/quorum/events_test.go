package quorum

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/internal/logtest"
)

// recordedCluster is a 3-voter cluster logging to rec; each node's lines
// carry at=its index+1.
func recordedCluster(t *testing.T, rec *logtest.Recorder) *cluster {
	return newCluster(t, 3, func(i int, cfg *Config) {
		cfg.Logger = rec.Logger("QUORUM_TEST_LOG").With("at", strconv.Itoa(i+1))
	})
}

// TestRaftPeerOutageLoggedOnce: while a voter is down, the leader's
// heartbeats and appendEntries to it fail every few hundred milliseconds;
// raft's error line for each goes to debug, and the outage is one warning
// (raft_peer_unreachable) and, once the voter is back, one info line
// (raft_peer_reachable).
func TestRaftPeerOutageLoggedOnce(t *testing.T) {
	rec := logtest.New()
	c := recordedCluster(t, rec)
	l := c.leader()
	f := c.follower(l)
	dead := c.voters[f]
	id := strconv.Itoa(int(dead.ID))
	c.stop(f)

	aboutDead := func(lr logtest.Record) bool {
		return lr.Attrs["node"] == id && strings.HasPrefix(lr.Attrs["event"], "raft_peer") ||
			strings.Contains(lr.Attrs["peer"], dead.Addr) || strings.Contains(lr.Attrs["target"], dead.Addr) ||
			lr.Attrs["server-id"] == id
	}
	w := logtest.WaitEvent(t, rec, 15*time.Second, logtest.Event("raft_peer_unreachable", "node", id))
	// Many retries later (raft logs each failed RPC, at debug now)...
	const retries = 15
	logtest.WaitCount(t, rec, 30*time.Second, retries, func(lr logtest.Record) bool {
		return lr.Attrs["module"] != "" && aboutDead(lr) && lr.Attrs["error"] != ""
	})
	// ... each node has said so at most once above debug: the leader, and
	// any node that led meanwhile, with one warning.
	loud := rec.Records(func(lr logtest.Record) bool { return lr.Level >= slog.LevelWarn && aboutDead(lr) })
	perNode := map[string]int{}
	for _, lr := range loud {
		if lr.Attrs["event"] != "raft_peer_unreachable" {
			t.Errorf("line about the stopped voter above debug: %v", lr)
		}
		perNode[lr.Attrs["at"]]++
	}
	for at, n := range perNode {
		if n > 1 {
			t.Errorf("node %s warned %d times about the stopped voter:\n%v", at, n, loud)
		}
	}
	if w.Level != slog.LevelWarn || w.Attrs["addr"] != dead.Addr || w.Attrs["error"] == "" {
		t.Errorf("unreachable line: %v", w)
	}

	c.start(f, nil)
	logtest.WaitEvent(t, rec, 15*time.Second, logtest.Event("raft_peer_reachable", "node", id))
	back := rec.Records(func(lr logtest.Record) bool {
		return logtest.Event("raft_peer_reachable", "node", id)(lr) && lr.Level == slog.LevelInfo
	})
	if len(back) == 0 {
		t.Fatalf("no info line when the voter came back: %v", rec.Records(logtest.Event("raft_peer_reachable")))
	}
	// Only a node that warned says the peer is back (any other's line is
	// debug), whichever led meanwhile.
	warned := rec.Records(logtest.Event("raft_peer_unreachable", "node", id, "at", back[0].Attrs["at"]))
	if len(warned) != 1 || back[0].Attrs["unreachable_for"] == "" {
		t.Errorf("reachable line %v after unreachable lines %v", back[0], warned)
	}
}

// TestControllerChangeLogged: the elected leader says it is the active
// controller, with its term; it says it no longer is when it loses its
// quorum.
func TestControllerChangeLogged(t *testing.T) {
	rec := logtest.New()
	c := recordedCluster(t, rec)
	l := c.leader()
	at := strconv.Itoa(l + 1)
	term := strconv.FormatUint(c.nodes[l].Stats().Term, 10)
	logtest.WaitEvent(t, rec, 10*time.Second, logtest.Event("controller_change", "at", at, "active", "true"))
	got := rec.Records(logtest.Event("controller_change", "at", at, "active", "true"))
	if len(got) != 1 || got[0].Level != slog.LevelInfo || got[0].Attrs["term"] != term || got[0].Attrs["node"] != at {
		t.Fatalf("controller_change lines of the leader (term %s): %v", term, got)
	}
	for i := range c.nodes {
		if i != l {
			c.stop(i)
		}
	}
	logtest.WaitEvent(t, rec, 10*time.Second, logtest.Event("controller_change", "at", at, "active", "false"))
}
