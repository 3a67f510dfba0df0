package replica

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/internal/logtest"
)

// logWait is how long a test waits for a log line.
const logWait = 20 * time.Second

// harness is broker 1's replica manager over a real engine, with an image
// that the test and the manager's proposals change directly, as the
// quorum would once they commit. Brokers 2 and 3 advertise a listener
// nobody listens on.
type harness struct {
	t     *testing.T
	eng   *engine.Engine
	state *metadata.State
	m     *Manager
	logs  *logtest.Recorder
	// proposals counts the manager's proposals (raft entries), changes
	// the partition changes in them.
	proposals, changes atomic.Int32
}

func newHarness(t *testing.T, lagMax time.Duration) *harness {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{Replicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	h := &harness{t: t, eng: eng, logs: logtest.New()}
	var mgr atomic.Pointer[Manager]
	// As the cluster member does: the manager syncs the topics each
	// record changed.
	h.state = metadata.New(metadata.Options{OnChange: func(_ metadata.Record, topics []string) {
		if m := mgr.Load(); m != nil {
			m.TopicsChanged(topics)
		}
	}})
	h.m = New(Config{NodeID: 1, Engine: eng, State: h.state, Listener: "PLAINTEXT",
		Propose: func(_ context.Context, rec metadata.Record) (metadata.Result, error) {
			h.proposals.Add(1)
			if b, ok := rec.(metadata.PartitionChanges); ok {
				h.changes.Add(int32(len(b.Changes)))
			} else {
				h.changes.Add(1)
			}
			cmd, err := metadata.Encode(rec)
			if err != nil {
				return metadata.Result{}, err
			}
			res := h.state.Apply(cmd)
			return res, res.Err()
		},
		LagMax: lagMax, FetchBackoff: 20 * time.Millisecond, Logger: h.logs.Logger("REPLICA_TEST_LOG")})
	mgr.Store(h.m)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for id := int32(1); id <= 3; id++ {
		h.apply(metadata.RegisterBroker{ID: id, Incarnation: "i", Listeners: map[string]string{"PLAINTEXT": dead}})
	}
	return h
}

func (h *harness) tryApply(rec metadata.Record) error {
	cmd, err := metadata.Encode(rec)
	if err != nil {
		return err
	}
	return h.state.Apply(cmd).Err()
}

func (h *harness) apply(rec metadata.Record) {
	h.t.Helper()
	if err := h.tryApply(rec); err != nil {
		h.t.Fatalf("%T: %v", rec, err)
	}
}

// createTopic creates a topic in the image and, for its partitions, in
// the engine (which the cluster member does in the real broker).
func (h *harness) createTopic(name string, assignment [][]int32) {
	h.t.Helper()
	id := [16]byte{byte(len(name)), 1}
	hosted := make([]int32, len(assignment))
	for i := range assignment {
		hosted[i] = int32(i)
	}
	if err := h.eng.CreateTopicHosting(name, id, int32(len(assignment)), nil, hosted); err != nil {
		h.t.Fatal(err)
	}
	h.apply(metadata.CreateTopic{Name: name, ID: id, Assignment: assignment})
}

func (h *harness) start() {
	h.m.Start()
	h.t.Cleanup(h.m.Close)
}

// TestLeaderAndISRChangesLogged: this broker's leadership changes, and
// the ISR changes of what it leads, are one line each with their stable
// attributes; a follower's failing fetches are one warning.
func TestLeaderAndISRChangesLogged(t *testing.T) {
	h := newHarness(t, 300*time.Millisecond)
	h.createTopic("t", [][]int32{{1, 2, 3}, {2, 1, 3}})
	h.start()
	logs := h.logs

	r := logtest.WaitEvent(t, logs, logWait, logtest.Message("became leader", "event", "leader_change", "topic", "t", "partition", "0"))
	if r.Level != slog.LevelInfo || r.Attrs["leader"] != "1" || r.Attrs["leader_epoch"] == "" || r.Attrs["isr"] != "[1 2 3]" {
		t.Errorf("leading t-0: %v", r)
	}
	r = logtest.WaitEvent(t, logs, logWait, logtest.Message("became follower", "event", "leader_change", "topic", "t", "partition", "1"))
	if r.Level != slog.LevelInfo || r.Attrs["leader"] != "2" || r.Attrs["leader_epoch"] == "" {
		t.Errorf("following t-1: %v", r)
	}

	// Broker 2 cannot be fetched from: one warning however many rounds fail.
	r = logtest.WaitEvent(t, logs, logWait, logtest.Event("replica_fetch_failing", "leader", "2"))
	if r.Level != slog.LevelWarn || r.Attrs["err"] == "" {
		t.Errorf("replica_fetch_failing: %v", r)
	}
	logtest.WaitCount(t, logs, logWait, 10, logtest.Message("replica fetch failed", "leader", "2"))
	if got := logs.Records(logtest.Event("replica_fetch_failing")); len(got) != 1 {
		t.Errorf("%d replica_fetch_failing lines: %v", len(got), got)
	}

	// Followers 2 and 3 never fetch t-0: after replica.lag.time.max.ms
	// the leader takes them out.
	r = logtest.WaitEvent(t, logs, logWait, logtest.Message("ISR shrunk", "event", "isr_change", "topic", "t", "partition", "0", "reason", "lagging"))
	if r.Level != slog.LevelWarn || r.Attrs["old_isr"] != "[1 2 3]" || r.Attrs["isr"] != "[1]" || r.Attrs["removed"] != "[2 3]" ||
		r.Attrs["leader"] != "1" || r.Attrs["under_replicated"] != "true" {
		t.Errorf("lagging shrink: %v", r)
	}

	// Follower 2 catches up and keeps fetching: back in.
	p0, err := h.eng.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	fetching := make(chan struct{})
	go func() {
		defer close(fetching)
		for {
			h.m.FollowerFetched(p0, 2, p0.LogEndOffset(), -1)
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	r = logtest.WaitEvent(t, logs, logWait, logtest.Message("ISR expanded", "event", "isr_change", "topic", "t", "partition", "0", "reason", "caught_up"))
	close(stop)
	<-fetching
	if r.Level != slog.LevelInfo || r.Attrs["isr"] != "[1 2]" || r.Attrs["added"] != "[2]" || r.Attrs["old_isr"] != "[1]" {
		t.Errorf("expansion: %v", r)
	}

	// The controller fences broker 2: it leaves t-0's ISR, and t-1 comes
	// to this broker.
	h.apply(metadata.FenceBroker{ID: 2})
	r = logtest.WaitEvent(t, logs, logWait, logtest.Message("ISR shrunk", "event", "isr_change", "topic", "t", "partition", "0", "reason", "controller"))
	if r.Level != slog.LevelInfo || r.Attrs["isr"] != "[1]" || r.Attrs["removed"] != "[2]" {
		t.Errorf("the controller's shrink: %v", r)
	}
	r = logtest.WaitEvent(t, logs, logWait, logtest.Message("became leader", "event", "leader_change", "topic", "t", "partition", "1"))
	if r.Level != slog.LevelInfo || r.Attrs["leader"] != "1" {
		t.Errorf("leading t-1: %v", r)
	}
	for _, lr := range logs.Records(nil) {
		if lr.Level >= slog.LevelWarn && lr.Attrs["event"] == "" {
			t.Errorf("warning without an event: %v", lr)
		}
	}
}

// TestManyLeaderChangesSummarized: an image that hands this broker many
// leaderships at once logs one line for them, the partitions at debug.
func TestManyLeaderChangesSummarized(t *testing.T) {
	h := newHarness(t, time.Minute)
	const n = 3 * summaryOver
	assignment := make([][]int32, n)
	for i := range assignment {
		assignment[i] = []int32{1}
	}
	h.createTopic("many", assignment)
	h.start()
	r := logtest.WaitEvent(t, h.logs, logWait, logtest.Message("leadership changed for many partitions", "event", "leader_change"))
	if r.Level != slog.LevelInfo || r.Attrs["partitions"] != strconv.Itoa(n) || r.Attrs["leading"] != strconv.Itoa(n) ||
		r.Attrs["examples"] != fmt.Sprintf("many-0 many-1 many-2 many-3 many-4 (and %d more)", n-5) {
		t.Errorf("summary: %v", r)
	}
	if got := h.logs.Records(logtest.Message("became leader", "event", "leader_change")); len(got) != 0 {
		t.Errorf("%d per-partition leader_change lines beside the summary", len(got))
	}
	if got := h.logs.Records(logtest.Message("became leader")); len(got) != n || got[0].Level != slog.LevelDebug {
		t.Errorf("%d per-partition lines (want %d at debug): %v", len(got), n, got[0])
	}
}

// TestEventBurstSummarizesAWindow: changes that come one image at a time
// are one line each up to summaryOver in a window; the rest are counted
// in one summary line when the window ends.
func TestEventBurstSummarizesAWindow(t *testing.T) {
	logs := logtest.New()
	b := newEventBurst(logs.Logger("REPLICA_TEST_LOG"), "isr_change", "ISR changed for many partitions")
	b.window = 200 * time.Millisecond
	const n = summaryOver + 7
	for i := range n {
		kind, lv := "expanded", slog.LevelInfo
		if i == n-1 {
			kind, lv = "shrunk_lagging", slog.LevelWarn
		}
		b.log([]eventLine{{name: fmt.Sprintf("t-%d", i), kind: kind, msg: "ISR " + kind, level: lv, args: []any{"partition", i}}})
	}
	if got := logs.Records(logtest.Event("isr_change")); len(got) != summaryOver {
		t.Fatalf("%d lines with the event before the window ended, want %d", len(got), summaryOver)
	}
	r := logtest.WaitEvent(t, logs, logWait, logtest.Message("ISR changed for many partitions"))
	if r.Level != slog.LevelWarn || r.Attrs["partitions"] != "7" || r.Attrs["expanded"] != "6" || r.Attrs["shrunk_lagging"] != "1" ||
		r.Attrs["examples"] != fmt.Sprintf("t-%d t-%d t-%d t-%d t-%d (and 2 more)", summaryOver, summaryOver+1, summaryOver+2, summaryOver+3, summaryOver+4) {
		t.Errorf("summary: %v", r)
	}
	// Once a window has passed without any, lines are logged again.
	b.now = func() time.Time { return time.Now().Add(2 * b.window) }
	b.log([]eventLine{{name: "t-x", kind: "expanded", msg: "ISR expanded", level: slog.LevelInfo}})
	if got := logs.Records(logtest.Message("ISR expanded", "event", "isr_change")); len(got) != summaryOver+1 {
		t.Errorf("%d expanded lines with the event after a quiet window, want %d", len(got), summaryOver+1)
	}
	b.close()
}
