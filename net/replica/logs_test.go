package replica

import (
	"context"
	"fmt"
	"log/slog"
	"os"
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

func (lr logRecord) String() string { return fmt.Sprintf("%s %q %v", lr.level, lr.msg, lr.attrs) }

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: new(sync.Mutex), recs: new([]logRecord)}
}

// logger logs to the recorder, and to stderr with REPLICA_TEST_LOG set.
func (r *logRecorder) logger() *slog.Logger {
	if os.Getenv("REPLICA_TEST_LOG") == "" {
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

// records returns the records whose message is msg (any message when
// empty) with attributes including want (key, value, ...).
func (r *logRecorder) records(msg string, want ...string) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
next:
	for _, lr := range *r.recs {
		if msg != "" && lr.msg != msg {
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

// wait polls until records(msg, want...) holds a record and returns the
// first.
func (r *logRecorder) wait(t *testing.T, msg string, want ...string) logRecord {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := r.records(msg, want...); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a %q line with %v", msg, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
