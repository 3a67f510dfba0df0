package quorum

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog handler keeping every record, debug included, with
// its attributes (those of Logger.With too) as strings.
type logRecorder struct {
	mu   *sync.Mutex
	recs *[]logRecord
	with []slog.Attr
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: new(sync.Mutex), recs: new([]logRecord)}
}

// logger logs to the recorder, and to stderr with QUORUM_TEST_LOG set.
func (r *logRecorder) logger() *slog.Logger {
	if os.Getenv("QUORUM_TEST_LOG") == "" {
		return slog.New(r)
	}
	return slog.New(slog.NewMultiHandler(r, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.with {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	r.mu.Lock()
	*r.recs = append(*r.recs, lr)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.with = append(append([]slog.Attr(nil), r.with...), as...)
	return &c
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// records returns the records that match.
func (r *logRecorder) records(match func(logRecord) bool) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
	for _, lr := range *r.recs {
		if match(lr) {
			out = append(out, lr)
		}
	}
	return out
}

// event matches the records of an event whose attributes include want.
func event(name string, want ...string) func(logRecord) bool {
	return func(lr logRecord) bool {
		if lr.attrs["event"] != name {
			return false
		}
		for i := 0; i+1 < len(want); i += 2 {
			if lr.attrs[want[i]] != want[i+1] {
				return false
			}
		}
		return true
	}
}

func (lr logRecord) String() string {
	return fmt.Sprintf("%s %q %v", lr.level, lr.msg, lr.attrs)
}

// recordedCluster is a 3-voter cluster logging to rec; each node's lines
// carry at=its index+1.
func recordedCluster(t *testing.T, rec *logRecorder) *cluster {
	return newCluster(t, 3, func(i int, cfg *Config) {
		cfg.Logger = rec.logger().With("at", strconv.Itoa(i+1))
	})
}

// TestRaftPeerOutageLoggedOnce: while a voter is down, the leader's
// heartbeats and appendEntries to it fail every few hundred milliseconds;
// raft's error line for each goes to debug, and the outage is one warning
// (raft_peer_unreachable) and, once the voter is back, one info line
// (raft_peer_reachable).
func TestRaftPeerOutageLoggedOnce(t *testing.T) {
	rec := newLogRecorder()
	c := recordedCluster(t, rec)
	l := c.leader()
	f := c.follower(l)
	dead := c.voters[f]
	id := strconv.Itoa(int(dead.ID))
	c.stop(f)

	aboutDead := func(lr logRecord) bool {
		return lr.attrs["node"] == id && strings.HasPrefix(lr.attrs["event"], "raft_peer") ||
			strings.Contains(lr.attrs["peer"], dead.Addr) || strings.Contains(lr.attrs["target"], dead.Addr) ||
			lr.attrs["server-id"] == id
	}
	waitFor(t, 15*time.Second, "a raft_peer_unreachable warning", func() bool {
		return len(rec.records(event("raft_peer_unreachable", "node", id))) > 0
	})
	// Many retries later (raft logs each failed RPC, at debug now)...
	const retries = 15
	waitFor(t, 30*time.Second, fmt.Sprintf("%d failed RPCs to the stopped voter", retries), func() bool {
		return len(rec.records(func(lr logRecord) bool { return lr.attrs["module"] != "" && aboutDead(lr) && lr.attrs["error"] != "" })) >= retries
	})
	// ... each node has said so at most once above debug: the leader, and
	// any node that led meanwhile, with one warning.
	loud := rec.records(func(lr logRecord) bool { return lr.level >= slog.LevelWarn && aboutDead(lr) })
	perNode := map[string]int{}
	for _, lr := range loud {
		if lr.attrs["event"] != "raft_peer_unreachable" {
			t.Errorf("line about the stopped voter above debug: %v", lr)
		}
		perNode[lr.attrs["at"]]++
	}
	for at, n := range perNode {
		if n > 1 {
			t.Errorf("node %s warned %d times about the stopped voter:\n%v", at, n, loud)
		}
	}
	w := rec.records(event("raft_peer_unreachable", "node", id))[0]
	if w.level != slog.LevelWarn || w.attrs["addr"] != dead.Addr || w.attrs["error"] == "" {
		t.Errorf("unreachable line: %v", w)
	}

	c.start(f, nil)
	waitFor(t, 15*time.Second, "a raft_peer_reachable line", func() bool {
		return len(rec.records(event("raft_peer_reachable", "node", id))) > 0
	})
	back := rec.records(func(lr logRecord) bool {
		return event("raft_peer_reachable", "node", id)(lr) && lr.level == slog.LevelInfo
	})
	if len(back) == 0 {
		t.Fatalf("no info line when the voter came back: %v", rec.records(event("raft_peer_reachable")))
	}
	// Only a node that warned says the peer is back (any other's line is
	// debug), whichever led meanwhile.
	warned := rec.records(event("raft_peer_unreachable", "node", id, "at", back[0].attrs["at"]))
	if len(warned) != 1 || back[0].attrs["unreachable_for"] == "" {
		t.Errorf("reachable line %v after unreachable lines %v", back[0], warned)
	}
}

// TestControllerChangeLogged: the elected leader says it is the active
// controller, with its term; it says it no longer is when it loses its
// quorum.
func TestControllerChangeLogged(t *testing.T) {
	rec := newLogRecorder()
	c := recordedCluster(t, rec)
	l := c.leader()
	at := strconv.Itoa(l + 1)
	term := strconv.FormatUint(c.nodes[l].Stats().Term, 10)
	waitFor(t, 10*time.Second, "the leader's controller_change", func() bool {
		return len(rec.records(event("controller_change", "at", at, "active", "true"))) > 0
	})
	got := rec.records(event("controller_change", "at", at, "active", "true"))
	if len(got) != 1 || got[0].level != slog.LevelInfo || got[0].attrs["term"] != term || got[0].attrs["node"] != at {
		t.Fatalf("controller_change lines of the leader (term %s): %v", term, got)
	}
	for i := range c.nodes {
		if i != l {
			c.stop(i)
		}
	}
	waitFor(t, 10*time.Second, "the deposed leader's controller_change", func() bool {
		return len(rec.records(event("controller_change", "at", at, "active", "false"))) > 0
	})
}
