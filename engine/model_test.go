package engine_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestRandomOperationsAgainstModel drives one partition through random
// appends, reads, rolls, retention, clean restarts and crash restarts, and
// after every step compares what the engine serves with a plain in-memory
// model of the log.
func TestRandomOperationsAgainstModel(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 120) })
	}
}

type modelBatch struct {
	base    int64
	records []record
}

func runModel(t *testing.T, seed int64, steps int) {
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	opts := engine.Options{RetentionCheckInterval: -1}
	e, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	cfg := map[string]string{
		"segment.bytes":        fmt.Sprint(800 + rng.Intn(3000)),
		"index.interval.bytes": fmt.Sprint(rng.Intn(600)),
	}
	if err := e.CreateTopic("m", 1, cfg); err != nil {
		t.Fatal(err)
	}
	var log []modelBatch // batches still in the log, in order
	next := int64(0)
	ts := time.Now().UnixMilli()
	codecs := []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}
	part := func() *engine.Partition {
		p, err := e.Partition("m", 0)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(step int, op string) {
		p := part()
		if p.LogEndOffset() != next || p.HighWatermark() != next {
			t.Fatalf("seed %d step %d (%s): log end %d hw %d, model %d", seed, step, op, p.LogEndOffset(), p.HighWatermark(), next)
		}
		start := next
		if len(log) > 0 {
			start = log[0].base
		}
		if p.LogStartOffset() != start {
			t.Fatalf("seed %d step %d (%s): log start %d, model %d", seed, step, op, p.LogStartOffset(), start)
		}
		var want []record
		for _, b := range log {
			want = append(want, b.records...)
		}
		if got := readAll(t, p, start); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d step %d (%s): log differs from model\n got %v\nwant %v", seed, step, op, got, want)
		}
	}
	for step := 0; step < steps; step++ {
		var op string
		switch r := rng.Intn(100); {
		case r < 60:
			op = "append"
			n := 1 + rng.Intn(3)
			var set []byte
			for i := 0; i < n; i++ {
				count := 1 + rng.Intn(20)
				b := buildBatch(t, codecs[rng.Intn(len(codecs))], fmt.Sprintf("s%d.%d", step, i), count, ts)
				mb := modelBatch{base: next}
				for j := 0; j < count; j++ {
					mb.records = append(mb.records, record{offset: next, value: fmt.Sprintf("s%d.%d-%d", step, i, j), ts: ts + int64(j)})
					next++
				}
				ts += int64(count)
				log = append(log, mb)
				set = append(set, b...)
			}
			if _, err := part().Append(set); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		case r < 70:
			op = "read"
			if len(log) == 0 {
				continue
			}
			b := log[rng.Intn(len(log))]
			off := b.base + int64(rng.Intn(len(b.records)))
			reg, err := part().Read(off, int64(rng.Intn(5000)))
			if err != nil {
				t.Fatalf("seed %d step %d: read %d: %v", seed, step, off, err)
			}
			if reg.BaseOffset != b.base || reg.Len == 0 {
				t.Fatalf("seed %d step %d: read %d starts at batch %d (len %d), want batch %d", seed, step, off, reg.BaseOffset, reg.Len, b.base)
			}
			// NextOffset is the offset after the region's last batch.
			data, err := reg.ReadTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			var last batch.Header
			for rest := data; len(rest) > 0; {
				bb, tail, err := batch.Split(rest)
				if err != nil {
					t.Fatalf("seed %d step %d: region of read %d: %v", seed, step, off, err)
				}
				if last, err = batch.ParseHeader(bb); err != nil {
					t.Fatal(err)
				}
				rest = tail
			}
			if reg.NextOffset != last.NextOffset() {
				t.Fatalf("seed %d step %d: read %d: NextOffset %d, the region's last batch ends at %d", seed, step, off, reg.NextOffset, last.NextOffset())
			}
			reg.Release()
		case r < 76:
			op = "list-offset"
			if len(log) == 0 {
				continue
			}
			b := log[rng.Intn(len(log))]
			target := b.records[rng.Intn(len(b.records))]
			got, err := part().ListOffset(target.ts)
			if err != nil || got != target.offset {
				t.Fatalf("seed %d step %d: ListOffset(%d) = %d, %v; want %d", seed, step, target.ts, got, err, target.offset)
			}
		case r < 84:
			op = "retention"
			limit := rng.Intn(6000)
			if err := e.AlterTopicConfig("m", map[string]string{"retention.bytes": fmt.Sprint(limit)}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := part().EnforceRetention(); err != nil {
				t.Fatal(err)
			}
			if err := e.AlterTopicConfig("m", nil, []string{"retention.bytes"}); err != nil {
				t.Fatal(err)
			}
			start := part().LogStartOffset()
			for len(log) > 0 && log[0].base < start {
				log = log[1:]
			}
			if len(log) > 0 && log[0].base != start {
				t.Fatalf("seed %d step %d: log start %d is not a batch boundary", seed, step, start)
			}
		case r < 87:
			op = "flush"
			if err := part().Flush(); err != nil {
				t.Fatal(err)
			}
		case r < 90:
			// Every segment gives its files back, the active one too;
			// the next operation reopens what it needs.
			// A roll's background seal and flush may hold a segment for
			// a moment.
			op = "park-all"
			for deadline := time.Now().Add(5 * time.Second); ; {
				e.ParkIdle(-time.Hour)
				files, maps := e.OpenSegments()
				if files == 0 && maps == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("seed %d step %d: %d files, %d mappings open after parking all", seed, step, files, maps)
				}
				time.Sleep(time.Millisecond)
			}
		case r < 95:
			op = "clean-restart"
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if e, err = engine.Open(dir, opts); err != nil {
				t.Fatal(err)
			}
		default:
			op = "crash-restart"
			crashed := crashCopy(t, dir)
			e.Close()
			if e, err = engine.Open(crashed, opts); err != nil {
				t.Fatal(err)
			}
			dir = crashed
		}
		check(step, op)
	}
}
