package engine_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

func newPartition(t *testing.T, configs map[string]string, opts engine.Options) (*engine.Engine, *engine.Partition, string) {
	t.Helper()
	dir := t.TempDir()
	e := openEngine(t, dir, opts)
	if err := e.CreateTopic("t", 1, configs); err != nil {
		t.Fatal(err)
	}
	p, err := e.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	return e, p, dir
}

func TestAppendAssignsOffsetsAndReadsBack(t *testing.T) {
	for _, codec := range []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			_, p, _ := newPartition(t, nil, engine.Options{})
			var want []record
			for i := 0; i < 20; i++ {
				n := 1 + i%7
				res, err := p.Append(buildBatch(t, codec, fmt.Sprintf("b%d", i), n, int64(1000+i)))
				if err != nil {
					t.Fatal(err)
				}
				if res.BaseOffset != int64(len(want)) || res.LastOffset != int64(len(want)+n-1) || res.LogAppendTime != -1 {
					t.Fatalf("append %d: %+v", i, res)
				}
				for j := 0; j < n; j++ {
					want = append(want, record{offset: int64(len(want)), value: fmt.Sprintf("b%d-%d", i, j), ts: int64(1000 + i + j)})
				}
			}
			if p.LogEndOffset() != int64(len(want)) || p.HighWatermark() != int64(len(want)) {
				t.Fatalf("leo %d hw %d want %d", p.LogEndOffset(), p.HighWatermark(), len(want))
			}
			got := readAll(t, p, 0)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("read back\n got %v\nwant %v", got, want)
			}
			// Reading from the middle of a batch starts at that batch.
			mid := readAll(t, p, 5)
			if mid[0].offset != 5 || len(mid) != len(want)-5 {
				t.Fatalf("from 5: first %+v, %d records", mid[0], len(mid))
			}
		})
	}
}

func TestSeveralBatchesInOneAppend(t *testing.T) {
	_, p, _ := newPartition(t, nil, engine.Options{})
	set := append(buildBatch(t, batch.None, "a", 3, 1), buildBatch(t, batch.LZ4, "b", 2, 5)...)
	res, err := p.Append(set)
	if err != nil {
		t.Fatal(err)
	}
	if res.BaseOffset != 0 || res.LastOffset != 4 {
		t.Fatalf("%+v", res)
	}
	got := readAll(t, p, 0)
	if len(got) != 5 || got[3].value != "b-0" || got[3].offset != 3 {
		t.Fatalf("%v", got)
	}
}

func TestInvalidBatchWritesNothing(t *testing.T) {
	_, p, _ := newPartition(t, map[string]string{"max.message.bytes": "2000"}, engine.Options{})
	if _, err := p.Append(buildBatch(t, batch.None, "ok", 2, 1)); err != nil {
		t.Fatal(err)
	}
	good := buildBatch(t, batch.None, "good", 2, 1)
	corrupt := buildBatch(t, batch.None, "bad", 2, 1)
	corrupt[len(corrupt)-1] ^= 0xff
	huge := batch.NewBuilder(batch.None)
	huge.Append(1, nil, make([]byte, 3000), nil)
	hugeBytes, _ := huge.Build()
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, engine.ErrInvalidRecord},
		{"garbage", []byte("definitely not a record batch, but long enough to parse a header from it......"), engine.ErrInvalidRecord},
		{"crc", corrupt, engine.ErrInvalidRecord},
		{"truncated", good[:len(good)-3], engine.ErrInvalidRecord},
		{"good then corrupt", append(append([]byte{}, good...), corrupt...), engine.ErrInvalidRecord},
		{"good then trailing bytes", append(append([]byte{}, good...), 1, 2, 3), engine.ErrInvalidRecord},
		{"too large", append([]byte{}, hugeBytes...), engine.ErrRecordTooLarge},
	}
	for _, c := range cases {
		_, err := p.Append(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if c.want == engine.ErrInvalidRecord && !errors.Is(err, batch.ErrInvalid) && c.name != "empty" {
			t.Errorf("%s: %v does not wrap batch.ErrInvalid", c.name, err)
		}
	}
	if p.LogEndOffset() != 2 {
		t.Fatalf("log end moved to %d", p.LogEndOffset())
	}
	if got := readAll(t, p, 0); len(got) != 2 || got[1].value != "ok-1" {
		t.Fatalf("stored data changed: %v", got)
	}
	// Transactional batches are refused until transactions exist.
	tb := batch.NewBuilder(batch.None)
	tb.SetProducer(7, 0, 0)
	tb.SetTransactional(true)
	tb.Append(1, nil, []byte("x"), nil)
	txn, _ := tb.Build()
	if _, err := p.Append(txn); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("transactional: %v", err)
	}
}

func TestLogAppendTime(t *testing.T) {
	clock := newFakeClock()
	_, p, _ := newPartition(t, map[string]string{"message.timestamp.type": "LogAppendTime"}, engine.Options{Now: clock.Now})
	res, err := p.Append(buildBatch(t, batch.Zstd, "v", 3, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res.LogAppendTime != clock.Now().UnixMilli() {
		t.Fatalf("log append time %d", res.LogAppendTime)
	}
	for _, r := range readAll(t, p, 0) {
		if r.ts != res.LogAppendTime {
			t.Fatalf("record %d has timestamp %d, want %d", r.offset, r.ts, res.LogAppendTime)
		}
	}
}

func TestReadBoundsAndMaxBytes(t *testing.T) {
	_, p, _ := newPartition(t, nil, engine.Options{})
	var sizes []int
	for i := 0; i < 10; i++ {
		b := buildBatch(t, batch.None, "r", 10, 1)
		sizes = append(sizes, len(b))
		if _, err := p.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Read(101, 1<<20); !errors.Is(err, engine.ErrOffsetOutOfRange) {
		t.Fatalf("past end: %v", err)
	}
	if _, err := p.Read(-1, 1<<20); !errors.Is(err, engine.ErrOffsetOutOfRange) {
		t.Fatalf("negative: %v", err)
	}
	r, err := p.Read(100, 1<<20)
	if err != nil || r.Len != 0 {
		t.Fatalf("at end: %+v %v", r, err)
	}
	// maxBytes smaller than one batch still returns that batch whole.
	r, err = p.Read(15, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len != int64(sizes[1]) || r.BaseOffset != 10 {
		t.Fatalf("tiny maxBytes: len %d base %d", r.Len, r.BaseOffset)
	}
	r.Release()
	// maxBytes of two and a half batches returns two whole batches.
	r, err = p.Read(0, int64(sizes[0]+sizes[1]+sizes[2]/2))
	if err != nil {
		t.Fatal(err)
	}
	if r.Len != int64(sizes[0]+sizes[1]) {
		t.Fatalf("len %d, want %d", r.Len, sizes[0]+sizes[1])
	}
	r.Release()
}

func TestRollBySizeAndTimeAndReadAcrossSegments(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{Now: clock.Now})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "2000", "segment.ms": "60000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	for i := 0; i < 30; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, fmt.Sprint(i), 20, 1)); err != nil {
			t.Fatal(err)
		}
	}
	bySize := len(segmentFiles(t, dir, "t", 0))
	if bySize < 5 {
		t.Fatalf("only %d segments after 30 batches with segment.bytes=2000", bySize)
	}
	clock.Advance(61 * time.Second)
	if _, err := p.Append(buildBatch(t, batch.None, "late", 1, 1)); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir, "t", 0)); got != bySize+1 {
		t.Fatalf("segment.ms did not roll: %d segments, had %d", got, bySize)
	}
	got := readAll(t, p, 0)
	if len(got) != 601 {
		t.Fatalf("read %d records across segments", len(got))
	}
	for i, r := range got {
		if r.offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, r.offset)
		}
	}
	d, _ := e.DescribeTopic("t")
	if d.Partitions[0].Segments != bySize+1 {
		t.Fatalf("describe: %+v", d.Partitions[0])
	}
}

func TestRetention(t *testing.T) {
	clock := newFakeClock()
	_, p, _ := newPartition(t, map[string]string{"segment.bytes": "1000", "retention.ms": "3600000", "segment.ms": "3600000"},
		engine.Options{Now: clock.Now, RetentionCheckInterval: -1})
	old := clock.Now().UnixMilli()
	for i := 0; i < 10; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "old", 5, old)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	fresh := clock.Now().UnixMilli()
	for i := 0; i < 3; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "new", 5, fresh)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := p.EnforceRetention()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("retention.ms deleted nothing")
	}
	start := p.LogStartOffset()
	if start != 50 {
		t.Fatalf("log start %d, want 50 (first fresh record)", start)
	}
	if _, err := p.Read(0, 1000); !errors.Is(err, engine.ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	if off, _ := p.ListOffset(engine.Earliest); off != start {
		t.Fatalf("earliest %d", off)
	}
	if got := readAll(t, p, start); len(got) != 15 || got[0].value != "new-0" {
		t.Fatalf("after retention: %v", got)
	}

	// retention.bytes: keep at most ~2 segments' worth; the active one stays
	// even when it alone is over the limit.
	_, p2, _ := newPartition(t, map[string]string{"segment.bytes": "1000", "retention.bytes": "1"},
		engine.Options{RetentionCheckInterval: -1})
	for i := 0; i < 10; i++ {
		if _, err := p2.Append(buildBatch(t, batch.None, "x", 5, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p2.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, p2, p2.LogStartOffset()); len(got) == 0 || got[len(got)-1].offset != 49 {
		t.Fatalf("active segment lost: %v", got)
	}
	if p2.LogStartOffset() == 0 {
		t.Fatal("retention.bytes deleted nothing")
	}
}

func TestListOffsetByTimestamp(t *testing.T) {
	_, p, _ := newPartition(t, map[string]string{"segment.bytes": "600"}, engine.Options{})
	// Batch i holds records with timestamps 1000*i .. 1000*i+4.
	for i := 1; i <= 10; i++ {
		if _, err := p.Append(buildBatch(t, batch.LZ4, "t", 5, int64(1000*i))); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ ts, want int64 }{
		{0, 0}, {1000, 0}, {1002, 2}, {1005, 5}, {5003, 23}, {10004, 49}, {10005, -1},
		{engine.Earliest, 0}, {engine.Latest, 50},
	}
	for _, c := range cases {
		got, err := p.ListOffset(c.ts)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ListOffset(%d) = %d, want %d", c.ts, got, c.want)
		}
	}
}

func TestDurableAppendsGroupCommit(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("d", 1, map[string]string{"flush.on.ack": "true", "segment.bytes": "4000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("d", 0)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res, err := p.Append(buildBatch(t, batch.None, fmt.Sprintf("w%d", w), 2, 1))
				if err != nil {
					errs <- err
					return
				}
				// Acknowledged means visible and on disk.
				if hw := p.HighWatermark(); hw <= res.LastOffset {
					errs <- fmt.Errorf("acked offset %d above high watermark %d", res.LastOffset, hw)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := readAll(t, p, 0); len(got) != writers*each*2 {
		t.Fatalf("read %d records", len(got))
	}
	// A crash right now loses nothing that was acknowledged.
	copyDir := crashCopy(t, dir)
	e2 := openEngine(t, copyDir, engine.Options{})
	p2, _ := e2.Partition("d", 0)
	if p2.LogEndOffset() != writers*each*2 {
		t.Fatalf("after crash: log end %d", p2.LogEndOffset())
	}
}

func TestLongPollWakesOnAppend(t *testing.T) {
	_, p, _ := newPartition(t, nil, engine.Options{})
	ch := p.Changed()
	select {
	case <-ch:
		t.Fatal("changed before any append")
	default:
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ch
	}()
	if _, err := p.Append(buildBatch(t, batch.None, "x", 1, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiter not woken by append")
	}
}

func TestConcurrentAppendAndRead(t *testing.T) {
	_, p, _ := newPartition(t, map[string]string{"segment.bytes": "3000"}, engine.Options{})
	const total = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i++ {
			if _, err := p.Append(buildBatch(t, batch.None, "c", 1, int64(i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := int64(0)
			deadline := time.Now().Add(30 * time.Second)
			for next < total && time.Now().Before(deadline) {
				hw := p.HighWatermark()
				if next == hw {
					select {
					case <-p.Changed():
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				got := readAll(t, p, next)
				for _, rec := range got {
					if rec.offset != next {
						t.Errorf("reader saw offset %d, expected %d", rec.offset, next)
						return
					}
					next++
				}
			}
			if next != total {
				t.Errorf("reader stopped at %d", next)
			}
		}()
	}
	wg.Wait()
}
