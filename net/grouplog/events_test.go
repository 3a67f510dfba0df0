package grouplog_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/grouplog"
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

func (r *logRecorder) logger() *slog.Logger {
	if os.Getenv("GROUPLOG_TEST_LOG") == "" {
		return slog.New(r)
	}
	return slog.New(slog.NewMultiHandler(r, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

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

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { panic("not used by the store") }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// records returns the records whose message is msg (any when empty) and
// whose event is event ("" for none).
func (r *logRecorder) records(msg, event string) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
	for _, lr := range r.recs {
		if (msg == "" || lr.msg == msg) && lr.attrs["event"] == event {
			out = append(out, lr)
		}
	}
	return out
}

// TestOffsetsPartitionEventsLogged: gaining or losing an offsets partition
// that holds groups is one info line (offsets_partition_loaded /
// offsets_partition_unloaded); an empty one, as most of the 50 are, is
// debug.
func TestOffsetsPartitionEventsLogged(t *testing.T) {
	logs := &logRecorder{}
	h := newLoggedHarness(t, true, logs.logger())
	h.leadAll(0)
	h.waitOwns("g", nil)
	waitFor(t, "every partition loaded", func() bool { return len(logs.records("offsets partition loaded", "")) == h.topics })
	if got := logs.records("", "offsets_partition_loaded"); len(got) != 0 {
		t.Fatalf("empty partitions loaded above debug: %v", got)
	}
	h.commit("g", 10)

	part := grouplog.PartitionFor("g", h.topics)
	ps := strconv.Itoa(int(part))
	others := map[int32]int32{}
	for i := range int32(h.topics) {
		if i != part {
			others[i] = 0
		}
	}
	h.cl.set(h.topics, others)
	h.waitOwns("g", group.ErrNotCoordinator)
	waitFor(t, "the unload line", func() bool { return len(logs.records("", "offsets_partition_unloaded")) > 0 })
	r := logs.records("", "offsets_partition_unloaded")
	if len(r) != 1 || r[0].level != slog.LevelInfo || r[0].attrs["partition"] != ps || r[0].attrs["topic"] != grouplog.Topic ||
		r[0].attrs["leader_epoch"] != "0" || r[0].attrs["groups"] != "1" {
		t.Errorf("unloaded: %v", r)
	}

	others[part] = 1
	h.cl.set(h.topics, others)
	h.waitOwns("g", nil)
	r = logs.records("", "offsets_partition_loaded")
	if len(r) != 1 || r[0].level != slog.LevelInfo || r[0].attrs["partition"] != ps || r[0].attrs["leader_epoch"] != "1" ||
		r[0].attrs["records"] == "0" {
		t.Errorf("loaded: %v", r)
	}
	for _, lr := range logs.records("", "") {
		if lr.level >= slog.LevelInfo {
			t.Errorf("a line above debug without an event: %v", lr)
		}
	}
}
