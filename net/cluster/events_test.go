package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/request"
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

func (lr logRecord) String() string { return fmt.Sprintf("%s %q %v", lr.level, lr.msg, lr.attrs) }

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: new(sync.Mutex), recs: new([]logRecord)}
}

// logger logs to the recorder, and to stderr with CLUSTER_TEST_LOG set.
func (r *logRecorder) logger() *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") == "" {
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

// records returns the records of an event whose attributes include want
// (key, value, ...).
func (r *logRecorder) records(name string, want ...string) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
next:
	for _, lr := range *r.recs {
		if lr.attrs["event"] != name {
			continue
		}
		for i := 0; i+1 < len(want); i += 2 {
			if lr.attrs[want[i]] != want[i+1] {
				continue next
			}
		}
		out = append(out, lr)
	}
	return out
}

// waitEvent waits for an event's record and returns the first.
func waitEvent(t *testing.T, r *logRecorder, name string, want ...string) logRecord {
	t.Helper()
	eventually(t, fmt.Sprintf("a %s line with %v", name, want), func() bool { return len(r.records(name, want...)) > 0 })
	return r.records(name, want...)[0]
}

// TestBrokerEventsLogged: the active controller logs each broker's
// registration, fencing (a session that lapsed, a controlled shutdown)
// and unfencing, each broker its own registration and controlled shutdown.
func TestBrokerEventsLogged(t *testing.T) {
	logs := newLogRecorder()
	tc := newLoggedCluster(t, 3, logs)
	ctx := context.Background()
	for _, nd := range tc.nodes {
		id := strconv.Itoa(int(nd.id))
		r := waitEvent(t, logs, "broker_registered", "node", id)
		if r.level != slog.LevelInfo || r.attrs["listeners"] == "" {
			t.Errorf("broker_registered: %v", r)
		}
		if got := logs.records("registered", "node", id, "at", id); len(got) != 1 || got[0].attrs["cluster_id"] == "" {
			t.Errorf("node %s's own registration lines: %v", id, got)
		}
	}
	var ctrl *testNode
	var others []*testNode
	for _, nd := range tc.nodes {
		if nd.m.Node().IsLeader() && ctrl == nil {
			ctrl = nd
		} else {
			others = append(others, nd)
		}
	}
	if ctrl == nil {
		t.Fatal("no active controller")
	}
	v, d := others[0], others[1]
	vid, did := strconv.Itoa(int(v.id)), strconv.Itoa(int(d.id))

	// A live broker whose session the controller let lapse (a pause) is
	// unfenced by its next heartbeat.
	if _, err := ctrl.m.propose(ctx, metadata.FenceBroker{ID: v.id}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, logs, "broker_unfenced", "node", vid)

	// A broker that dies is fenced when its session lapses.
	d.m.SkipControlledShutdown()
	tc.stop(d)
	r := waitEvent(t, logs, "broker_fenced", "node", did, "reason", "session_timeout")
	if r.level != slog.LevelWarn || r.attrs["session_timeout"] == "" {
		t.Errorf("a lapsed session's fencing: %v", r)
	}

	// A broker that leads a partition moves it away before it stops.
	if _, err := ctrl.m.CreateTopic(ctx, request.NewTopic{Name: "t", Assignment: [][]int32{{v.id, ctrl.id}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the partition led by the victim with its ISR whole", func() bool {
		p, ok := v.m.State().Partition("t", 0)
		return ok && len(p.ISR) == 2 && p.Leader == v.id
	})
	tc.stop(v)
	r = waitEvent(t, logs, "broker_fenced", "node", vid, "reason", "controlled_shutdown")
	if r.level != slog.LevelInfo {
		t.Errorf("controlled shutdown's fencing above info: %v", r)
	}
	if r := waitEvent(t, logs, "controlled_shutdown", "node", vid, "at", vid); r.level != slog.LevelInfo || r.attrs["took"] == "" {
		t.Errorf("controlled_shutdown: %v", r)
	}
}

// TestHeartbeatOutageLoggedOnce: a broker whose heartbeats cannot reach a
// controller warns once, after half a session, however many fail, and
// says once when they get through again.
func TestHeartbeatOutageLoggedOnce(t *testing.T) {
	logs := newLogRecorder()
	tc := newLoggedCluster(t, 3, logs)
	survivor := tc.nodes[0]
	sid := strconv.Itoa(int(survivor.id))
	for _, nd := range tc.nodes[1:] {
		nd.m.SkipControlledShutdown()
		tc.stop(nd)
	}
	w := waitEvent(t, logs, "heartbeat_failing", "node", sid)
	if w.level != slog.LevelWarn {
		t.Errorf("heartbeat_failing: %v", w)
	}
	// Several more intervals of failures: still one warning.
	deadline := time.Now().Add(20 * time.Second)
	for failed := 0; failed < 5; {
		failed = 0
		for _, lr := range logs.records("") {
			if lr.msg == "heartbeat failed" && lr.attrs["at"] == sid {
				failed++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d failed heartbeats logged", failed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := logs.records("heartbeat_failing", "node", sid); len(got) != 1 {
		t.Fatalf("%d heartbeat_failing lines: %v", len(got), got)
	}
	for _, nd := range tc.nodes[1:] {
		if err := tc.start(nd, nil); err != nil {
			t.Fatal(err)
		}
	}
	if r := waitEvent(t, logs, "heartbeat_recovered", "node", sid); r.level != slog.LevelInfo || r.attrs["failures"] == "" {
		t.Errorf("heartbeat_recovered: %v", r)
	}
}
