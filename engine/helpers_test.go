package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// openEngine opens an engine on dir and closes it when the test ends.
func openEngine(t testing.TB, dir string, opts engine.Options) *engine.Engine {
	t.Helper()
	e, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// buildBatch returns a batch of n records whose values are
// "<prefix>-<i>" and whose timestamps are ts+i.
func buildBatch(t testing.TB, codec batch.Codec, prefix string, n int, ts int64) []byte {
	t.Helper()
	b := batch.NewBuilder(codec)
	for i := 0; i < n; i++ {
		b.Append(ts+int64(i), []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("%s-%d", prefix, i)), nil)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(out)
}

// record is what tests compare: offset and value.
type record struct {
	offset int64
	value  string
	ts     int64
}

// readAll reads every record of a partition from offset from to the high
// watermark through the public Read path, decoding each batch.
func readAll(t testing.TB, p *engine.Partition, from int64) []record {
	t.Helper()
	var out []record
	var rd batch.Reader
	for off := from; off < p.HighWatermark(); {
		buf, err := p.ReadBytes(nil, off, 64*1024)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if len(buf) == 0 {
			t.Fatalf("empty read at %d below high watermark %d", off, p.HighWatermark())
		}
		for rest := buf; len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				t.Fatalf("split at %d: %v", off, err)
			}
			rest = tail
			if _, err := rd.Reset(first); err != nil {
				t.Fatalf("batch at %d: %v", off, err)
			}
			for {
				r, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Offset >= off {
					out = append(out, record{offset: r.Offset, value: string(r.Value), ts: r.Timestamp})
					off = r.Offset + 1
				}
			}
		}
	}
	return out
}

// crashCopy copies a live engine's data directory as a crash would leave it
// (the page cache's view, no clean-shutdown marker, no lock holder) and
// returns the copy's path.
func crashCopy(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Name() == ".lock" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // pebble removed a file while we walked
			}
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// fakeClock is a settable clock for retention and roll tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// logBuffer captures slog output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }

// segmentFiles lists a partition's .log files, sorted by name.
func segmentFiles(t testing.TB, dir, topic string, partition int) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%s-%d", topic, partition), "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
