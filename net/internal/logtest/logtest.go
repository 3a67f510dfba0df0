// Package logtest is a slog.Handler for tests that records every record
// with its attributes (Logger.With included) so tests can assert on log
// events.
//
// A Recorder keeps every record, debug included, with its attributes as
// strings. Records selects the ones a match function accepts; Event and
// Message build the usual match functions, and WaitEvent and WaitCount
// wait, up to a deadline, for records to be logged.
package logtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// Record is one recorded log record: its level, its message and its
// attributes, those the logger was given with Logger.With included, as
// strings. A record attribute overrides a Logger.With one of the same key.
type Record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// String is the record as "LEVEL \"msg\" map[key:value ...]", for test
// failure messages.
func (r Record) String() string { return fmt.Sprintf("%s %q %v", r.Level, r.Msg, r.Attrs) }

// Recorder is a slog.Handler keeping every record of every level. It is
// safe for concurrent use. The handlers WithAttrs returns record into the
// same Recorder; WithGroup is a no-op (attribute keys are not qualified).
type Recorder struct {
	s    *store
	with []slog.Attr
}

type store struct {
	mu      sync.Mutex
	recs    []Record
	changed chan struct{} // closed, and replaced, when a record is added
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{s: &store{changed: make(chan struct{})}}
}

// Logger returns a logger writing to the recorder and, when the
// environment variable envVar is set (non-empty), to stderr as text at
// debug level too, to watch a test's log while it runs.
func (r *Recorder) Logger(envVar string) *slog.Logger {
	if envVar == "" || os.Getenv(envVar) == "" {
		return slog.New(r)
	}
	return slog.New(slog.NewMultiHandler(r, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// Enabled reports true: every level is recorded.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle records rec with the recorder's Logger.With attributes.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := Record{Level: rec.Level, Msg: rec.Message, Attrs: make(map[string]string, len(r.with)+rec.NumAttrs())}
	for _, a := range r.with {
		lr.Attrs[a.Key] = a.Value.Resolve().String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.Attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	s := r.s
	s.mu.Lock()
	s.recs = append(s.recs, lr)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// WithAttrs returns a handler recording into r with as added to every
// record.
func (r *Recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &Recorder{s: r.s, with: append(append([]slog.Attr(nil), r.with...), as...)}
}

// WithGroup returns r: groups are not recorded.
func (r *Recorder) WithGroup(string) slog.Handler { return r }

// Records returns the records, in the order they were logged, that match
// accepts (all of them when match is nil). Their Attrs maps are shared
// with the recorder: read them, do not change them.
func (r *Recorder) Records(match func(Record) bool) []Record {
	out, _ := r.records(match)
	return out
}

// records is Records with the channel closed when the next record is
// added.
func (r *Recorder) records(match func(Record) bool) ([]Record, <-chan struct{}) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, lr := range s.recs {
		if match == nil || match(lr) {
			out = append(out, lr)
		}
	}
	return out, s.changed
}

// Event matches the records of the event called name (the attribute
// event; "" matches the records without one) whose attributes include kv,
// given as key, value pairs. A value of "" matches an attribute that is
// missing or empty.
func Event(name string, kv ...string) func(Record) bool {
	has := Attrs(kv...)
	return func(lr Record) bool { return lr.Attrs["event"] == name && has(lr) }
}

// Message matches the records whose message is msg (any message when msg
// is "") and whose attributes include kv, given as key, value pairs. A
// value of "" matches an attribute that is missing or empty.
func Message(msg string, kv ...string) func(Record) bool {
	has := Attrs(kv...)
	return func(lr Record) bool { return (msg == "" || lr.Msg == msg) && has(lr) }
}

// Attrs matches the records whose attributes include kv, given as key,
// value pairs. A value of "" matches an attribute that is missing or
// empty. It panics if kv has an odd length.
func Attrs(kv ...string) func(Record) bool {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("logtest: attributes %q are not key, value pairs", kv))
	}
	kv = append([]string(nil), kv...)
	return func(lr Record) bool {
		for i := 0; i < len(kv); i += 2 {
			if lr.Attrs[kv[i]] != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// WaitEvent waits until r holds a record that match accepts and returns
// the first such record. It fails the test if none is logged within the
// given time.
func WaitEvent(t testing.TB, r *Recorder, within time.Duration, match func(Record) bool) Record {
	t.Helper()
	return WaitCount(t, r, within, 1, match)[0]
}

// WaitCount waits until r holds at least n records that match accepts and
// returns them all. It fails the test if fewer are logged within the given
// time.
func WaitCount(t testing.TB, r *Recorder, within time.Duration, n int, match func(Record) bool) []Record {
	t.Helper()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		got, changed := r.records(match)
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-timeout.C:
			got = r.Records(match)
			if len(got) >= n {
				return got
			}
			t.Fatalf("logtest: timed out after %v waiting for %d matching log records; %d logged: %v", within, n, len(got), got)
			return nil
		}
	}
}
