package group_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// logRecorder is a slog handler keeping every record, debug included,
// with its attributes as strings.
type logRecorder struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (lr logRecord) String() string { return fmt.Sprintf("%s %q %v", lr.level, lr.msg, lr.attrs) }

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, lr)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { panic("not used by the coordinator") }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// events returns the records of an event, and forgets them.
func (r *logRecorder) events(name string) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out, rest []logRecord
	for _, lr := range r.recs {
		if lr.attrs["event"] == name {
			out = append(out, lr)
		} else {
			rest = append(rest, lr)
		}
	}
	r.recs = rest
	return out
}

// expect checks that exactly one line of the event was logged since the
// last call, at level, with the attributes want (key, value, ...).
func (r *logRecorder) expect(t *testing.T, name string, level slog.Level, want ...string) {
	t.Helper()
	got := r.events(name)
	if len(got) != 1 {
		t.Fatalf("%d %s lines, want 1: %v", len(got), name, got)
	}
	if got[0].level != level {
		t.Errorf("%s at %v, want %v", got[0], got[0].level, level)
	}
	for i := 0; i+1 < len(want); i += 2 {
		if got[0].attrs[want[i]] != want[i+1] {
			t.Errorf("%s: %s=%q, want %q", name, want[i], got[0].attrs[want[i]], want[i+1])
		}
	}
}

// TestRebalanceEventsLogged: a group logs one line when a rebalance
// starts (group_rebalance, with why) and one when it ends (group_stable,
// or group_empty); the per-member steps in between are debug.
func TestRebalanceEventsLogged(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	logs := &logRecorder{}
	var h slog.Handler = logs
	if os.Getenv("GROUP_TEST_LOG") != "" {
		h = slog.NewMultiHandler(logs, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := group.New(group.Config{Store: e, Now: clk.now, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second,
		Logger: slog.New(h)})
	ctx := context.Background()
	sync := func(gen int32, leader string, others ...string) {
		t.Helper()
		if _, err := c.SyncGroup(ctx, group.SyncRequest{Group: "g", Generation: gen, MemberID: leader}); err != nil {
			t.Fatalf("leader's SyncGroup: %v", err)
		}
		for _, m := range others {
			if _, err := c.SyncGroup(ctx, group.SyncRequest{Group: "g", Generation: gen, MemberID: m}); err != nil {
				t.Fatalf("SyncGroup: %v", err)
			}
		}
	}

	a := newMember(t, c)
	j := waitJoin(t, c, join(c, joinReq(a, "")))
	logs.expect(t, "group_rebalance", slog.LevelInfo, "group", "g", "generation", "0", "members", "1", "reason", "member_joined", "member", a)
	sync(j.res.Generation, a)
	logs.expect(t, "group_stable", slog.LevelInfo, "group", "g", "generation", "1", "members", "1",
		"protocol", "range", "protocol_type", "consumer", "leader", a)

	// A second member joins: the first rejoins, and both are in generation 2.
	b := newMember(t, c)
	chb := join(c, joinReq(b, ""))
	waitPreparing(t, c, 2)
	logs.expect(t, "group_rebalance", slog.LevelInfo, "generation", "1", "members", "2", "reason", "member_joined", "member", b)
	cha := join(c, joinReq(a, ""))
	ja, jb := waitJoin(t, c, cha), waitJoin(t, c, chb)
	if ja.err != nil || jb.err != nil || ja.res.Generation != 2 {
		t.Fatalf("rejoin: %+v %+v", ja, jb)
	}
	sync(2, ja.res.Leader, b)
	logs.expect(t, "group_stable", slog.LevelInfo, "generation", "2", "members", "2")

	// b leaves.
	if errs, err := c.LeaveGroup("g", []group.LeaveMember{{MemberID: b}}); err != nil || errs[0] != nil {
		t.Fatalf("leave: %v %v", errs, err)
	}
	logs.expect(t, "group_rebalance", slog.LevelInfo, "generation", "2", "members", "1", "reason", "member_left", "member", b)
	j = waitJoin(t, c, join(c, joinReq(a, "")))
	sync(j.res.Generation, a)
	logs.expect(t, "group_stable", slog.LevelInfo, "generation", "3", "members", "1")

	// a stops heartbeating: its session lapses and the group ends empty.
	clk.advance(11 * time.Second)
	c.Tick()
	logs.expect(t, "group_rebalance", slog.LevelInfo, "generation", "3", "members", "0", "reason", "session_timeout", "member", a)
	logs.expect(t, "group_empty", slog.LevelInfo, "group", "g", "generation", "4")

	// A member that heartbeats but does not rejoin in time is dropped: the
	// line that ends the rebalance names it.
	a = newMember(t, c)
	j = waitJoin(t, c, join(c, joinReq(a, "")))
	sync(j.res.Generation, a)
	logs.expect(t, "group_rebalance", slog.LevelInfo, "generation", "4", "reason", "member_joined", "member", a)
	logs.expect(t, "group_stable", slog.LevelInfo, "generation", "5", "members", "1")
	b = newMember(t, c)
	chb = join(c, joinReq(b, ""))
	waitPreparing(t, c, 2)
	for range 5 { // past the 20 s rebalance timeout, within a's 10 s sessions
		clk.advance(5 * time.Second)
		c.Heartbeat("g", j.res.Generation, a, "")
	}
	jb = waitJoin(t, c, chb)
	sync(jb.res.Generation, b)
	logs.expect(t, "group_rebalance", slog.LevelInfo, "generation", "5", "reason", "member_joined", "member", b)
	logs.expect(t, "group_stable", slog.LevelInfo, "generation", "6", "members", "1", "leader", b, "removed", a)

	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, lr := range logs.recs {
		if lr.level >= slog.LevelInfo {
			t.Errorf("a line above debug without a group event: %v", lr)
		}
	}
}
