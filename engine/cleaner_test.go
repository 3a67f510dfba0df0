package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// keyed is one record as a consumer of a compacted topic sees it.
type keyed struct {
	offset    int64
	key       string
	value     []byte // nil: a tombstone
	timestamp int64
}

// readKeyed reads every record from offset from to the high watermark
// through Partition.ReadBytes, checking offsets ascend.
func readKeyed(t testing.TB, p *engine.Partition, from int64) []keyed {
	t.Helper()
	var out []keyed
	var rd batch.Reader
	var buf []byte
	last := int64(-1)
	for off := from; off < p.HighWatermark(); {
		b, err := p.ReadBytes(buf[:0], off, 64<<10)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		buf = b
		if len(b) == 0 {
			break
		}
		for rest := b; len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				t.Fatal(err)
			}
			h, err := rd.Reset(first)
			if err != nil {
				t.Fatalf("batch at %d: %v", h.BaseOffset, err)
			}
			for {
				r, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Offset <= last {
					t.Fatalf("offset %d after %d", r.Offset, last)
				}
				last = r.Offset
				if r.Offset >= off {
					out = append(out, keyed{offset: r.Offset, key: string(r.Key), value: bytes.Clone(r.Value), timestamp: r.Timestamp})
				}
			}
			off = h.NextOffset()
			rest = tail
		}
	}
	return out
}

// TestCleanerModel writes random keyed records and tombstones to a
// compacted topic and to a map, cleans, and checks that a full read gives
// exactly each key's newest record below the cleaned end and everything
// above it, offsets ascending, and that every position a consumer held
// before the cleaning still reads on from the right record. A tombstone
// stays until delete.retention.ms after the first cleaning that saw it,
// whatever its own timestamp (half of them are older than that).
func TestCleanerModel(t *testing.T) {
	for _, codec := range []batch.Codec{batch.None, batch.LZ4, batch.Zstd} {
		for seed := int64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("%v/%d", codec, seed), func(t *testing.T) { cleanerModel(t, codec, seed) })
		}
	}
}

func cleanerModel(t *testing.T, codec batch.Codec, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerDisabled: true})
	const retention = time.Hour
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "4096",
		"delete.retention.ms": fmt.Sprint(retention.Milliseconds())}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	var written []keyed
	cleanedAt := map[int64]int64{} // offset: when a cleaning first covered it
	tombstones, removed := 0, 0
	// The rounds' cleanings are 0, 0.6 and 1.2 delete.retention.ms
	// apart from the first: the third removes the tombstones the first
	// cleaned, and keeps those the second did.
	// Each round writes to fewer keys, so that the keys it leaves alone
	// keep their newest record, tombstone or not, from an earlier round;
	// its first batch is the last delete of three keys.
	rounds := []struct {
		advance       time.Duration
		batches, keys int
	}{{0, 200, 40}, {retention * 6 / 10, 100, 20}, {retention * 6 / 10, 50, 10}}
	i := 0
	for _, round := range rounds {
		clock.Advance(round.advance)
		start := clock.Now().UnixMilli()
		for end := i + round.batches; i < end; i++ {
			b := batch.NewBuilder(codec)
			n := 1 + rng.Intn(4)
			// Half are stamped long before: a record's own time
			// does not decide when its tombstone goes.
			ts := start + int64(i)
			if rng.Intn(2) == 0 {
				ts -= 10 * retention.Milliseconds()
			}
			// A round's first batch deletes its last three keys,
			// which it and later rounds leave alone after.
			first := i == end-round.batches
			if first {
				n = 3
			}
			var recs []keyed
			for j := 0; j < n; j++ {
				k := fmt.Sprintf("key-%02d", rng.Intn(round.keys-3))
				if first {
					k = fmt.Sprintf("key-%02d", round.keys-1-j)
				}
				var v []byte
				if !first && rng.Intn(5) > 0 {
					v = []byte(fmt.Sprintf("v%d-%d-%s", i, j, k))
				} else {
					tombstones++
				}
				b.Append(ts, []byte(k), v, nil)
				recs = append(recs, keyed{key: k, value: v, timestamp: ts})
			}
			raw, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Append(bytes.Clone(raw))
			if err != nil {
				t.Fatal(err)
			}
			for j := range recs {
				recs[j].offset = res.BaseOffset + int64(j)
			}
			written = append(written, recs...)
		}
		removed += checkCleaning(t, p, written, retention, clock.Now().UnixMilli(), cleanedAt)
	}
	if tombstones == 0 || removed == 0 {
		t.Fatalf("the model wrote %d tombstones, of which cleanings removed %d: it tests nothing", tombstones, removed)
	}
	// A second cleaning finds nothing dirty.
	if st2, err := p.Clean(); err != nil || st2.Groups != 0 {
		t.Fatalf("second cleaning: %+v %v", st2, err)
	}
}

// checkCleaning cleans p at now and checks the log against what was
// written: below the cleaned end each key's newest record (a tombstone
// only while within retention of the first cleaning that covered it, as
// cleanedAt says; it notes this cleaning there), everything above it, and
// every earlier position reading on from the right record.
func checkCleaning(t *testing.T, p *engine.Partition, written []keyed, retention time.Duration, now int64, cleanedAt map[int64]int64) (tombstonesRemoved int) {
	t.Helper()
	before := readKeyed(t, p, 0)

	st, err := p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	if st.Groups == 0 || st.RecordsRemoved == 0 || st.End <= 0 {
		t.Fatalf("cleaning did nothing: %+v", st)
	}
	t.Logf("cleaned: %+v", st)

	// The cleaner deduplicates below st.End against what it saw below
	// st.End: a key rewritten above it keeps its older record until the
	// next cleaning reaches the newer one.
	newest := map[string]int64{}
	for _, r := range written {
		if r.offset < st.End {
			newest[r.key] = r.offset
		}
	}
	var want []keyed
	removedTombstones, keptTombstones := 0, 0
	for _, r := range written {
		if r.offset >= st.End {
			want = append(want, r)
			continue
		}
		if newest[r.key] != r.offset {
			continue // superseded
		}
		if at, ok := cleanedAt[r.offset]; ok && r.value == nil && at < now-retention.Milliseconds() {
			removedTombstones++
			continue // a tombstone past delete.retention.ms since its first cleaning
		}
		if r.value == nil {
			keptTombstones++
		}
		want = append(want, r)
	}
	for _, r := range written {
		if _, ok := cleanedAt[r.offset]; !ok && r.offset < st.End {
			cleanedAt[r.offset] = now
		}
	}
	t.Logf("tombstones removed %d, kept %d", removedTombstones, keptTombstones)
	got := readKeyed(t, p, 0)
	if len(got) != len(want) {
		for i := 0; i < max(len(got), len(want)); i++ {
			var g, w keyed
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			t.Logf("%d: got %d %s %q  want %d %s %q", i, g.offset, g.key, g.value, w.offset, w.key, w.value)
		}
		t.Fatalf("after cleaning read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].offset != want[i].offset || got[i].key != want[i].key || !bytes.Equal(got[i].value, want[i].value) ||
			(got[i].value == nil) != (want[i].value == nil) {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// Every position held before the cleaning reads on from the first
	// record kept at or after it.
	for _, r := range before {
		rest := readKeyed(t, p, r.offset)
		i := 0
		for i < len(want) && want[i].offset < r.offset {
			i++
		}
		if len(rest) != len(want)-i || (len(rest) > 0 && rest[0].offset != want[i].offset) {
			t.Fatalf("from offset %d: read %d records, want %d", r.offset, len(rest), len(want)-i)
		}
	}
	return removedTombstones
}

// TestCleanerCrashAtEachStep copies the data directory at every step of
// every segment replacement of a cleaning, as a kill -9 there would leave
// it, and opens each copy: each group is wholly old or wholly cleaned, no
// key loses its newest value, every record read is one that was written,
// and offsets ascend.
func TestCleanerCrashAtEachStep(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	e := openEngine(t, dir, engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerDisabled: true})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "2048"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	rng := rand.New(rand.NewSource(7))
	written := map[int64]keyed{}
	newest := map[string]keyed{}
	for i := 0; i < 150; i++ {
		b := batch.NewBuilder(batch.Snappy)
		k := fmt.Sprintf("key-%02d", rng.Intn(25))
		v := []byte(fmt.Sprintf("v%d-%s", i, k))
		b.Append(clock.Now().UnixMilli(), []byte(k), v, nil)
		raw, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Append(bytes.Clone(raw))
		if err != nil {
			t.Fatal(err)
		}
		r := keyed{offset: res.BaseOffset, key: k, value: v}
		written[r.offset] = r
		newest[k] = r
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	type crash struct {
		step string
		dir  string
	}
	var crashes []crash
	engine.SetCleanerHook(e, func(step string) {
		crashes = append(crashes, crash{step, crashCopy(t, dir)})
	})
	st, err := p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	if st.Groups < 2 {
		t.Fatalf("want several groups to crash between, got %+v", st)
	}
	steps := map[string]int{}
	for _, c := range crashes {
		steps[c.step]++
		e2, err := engine.Open(c.dir, engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true})
		if err != nil {
			t.Fatalf("after a crash at %q: open: %v", c.step, err)
		}
		p2, err := e2.Partition("c", 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]keyed{}
		for _, r := range readKeyed(t, p2, 0) {
			w, ok := written[r.offset]
			if !ok || w.key != r.key || !bytes.Equal(w.value, r.value) {
				t.Fatalf("after a crash at %q: offset %d reads %s=%q, wrote %s=%q", c.step, r.offset, r.key, r.value, w.key, w.value)
			}
			seen[r.key] = r
		}
		for k, w := range newest {
			if got := seen[k]; got.offset != w.offset {
				t.Fatalf("after a crash at %q: key %s's newest is offset %d, read %d", c.step, k, w.offset, got.offset)
			}
		}
		if err := e2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []string{"written", "committed", "deleting", "deleted", "renamed", "replaced"} {
		if steps[step] != st.Groups {
			t.Errorf("step %q seen %d times, want once per group (%d)", step, steps[step], st.Groups)
		}
	}
}

// TestCompactedTopicRules: a record without a key is refused with
// ErrRecordWithoutKey (INVALID_RECORD to clients), and retention leaves a
// compact-only topic alone, while compact,delete enforces it.
func TestCompactedTopicRules(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerDisabled: true})
	for topic, policy := range map[string]string{"compact": "compact", "both": "compact,delete"} {
		if err := e.CreateTopic(topic, 1, map[string]string{"cleanup.policy": policy, "segment.bytes": "1024", "retention.ms": "1000"}); err != nil {
			t.Fatal(err)
		}
		p, _ := e.Partition(topic, 0)
		b := batch.NewBuilder(batch.None)
		b.Append(clock.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
		b.Append(clock.Now().UnixMilli(), nil, []byte("no key"), nil)
		raw, _ := b.Build()
		if _, err := p.Append(bytes.Clone(raw)); !errors.Is(err, engine.ErrRecordWithoutKey) || !errors.Is(err, engine.ErrInvalidRecord) {
			t.Fatalf("%s: keyless record: %v", policy, err)
		}
		for i := 0; i < 40; i++ {
			if _, err := p.Append(keyedBatch(t, clock.Now().UnixMilli(), fmt.Sprint("k", i), "value")); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Advance(time.Hour)
	compact, _ := e.Partition("compact", 0)
	both, _ := e.Partition("both", 0)
	if n, err := compact.EnforceRetention(); err != nil || n != 0 || compact.LogStartOffset() != 0 {
		t.Fatalf("retention on a compact-only topic deleted %d segments (%v)", n, err)
	}
	if n, err := both.EnforceRetention(); err != nil || n == 0 {
		t.Fatalf("retention on compact,delete deleted %d segments (%v)", n, err)
	}
}

func keyedBatch(t testing.TB, ts int64, key, value string) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.Append(ts, []byte(key), []byte(value), nil)
	raw, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(raw)
}

// TestBackgroundCleaner: with the cleaner on, a compacted partition whose
// dirty ratio passes min.cleanable.dirty.ratio is cleaned without being
// asked, and the totals say so.
func TestBackgroundCleaner(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{RetentionCheckInterval: -1, CleanerBackoff: 10 * time.Millisecond})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024",
		"min.cleanable.dirty.ratio": "0.1"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	for i := 0; i < 200; i++ {
		if _, err := p.Append(keyedBatch(t, time.Now().UnixMilli(), fmt.Sprint("k", i%5), fmt.Sprint("value-", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.CleanerTotals().Runs == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background cleaner never cleaned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tot := e.CleanerTotals(); tot.RecordsRemoved == 0 || tot.BytesRead == 0 {
		t.Fatalf("totals %+v", tot)
	}
	// With nothing appended since, nothing cleanable is dirty, and the
	// gauge says so rather than the ratio the cleaning began with.
	for deadline := time.Now().Add(20 * time.Second); e.CleanerTotals().MaxDirtyRatio != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("max dirty ratio %v after cleaning everything, want 0", e.CleanerTotals().MaxDirtyRatio)
		}
	}
	got := readKeyed(t, p, 0)
	if len(got) >= 200 {
		t.Fatalf("read %d records after cleaning, wrote 200 of 5 keys", len(got))
	}
}

// TestFollowerCopiesCompactedLog: a follower that fetches a cleaned
// leader's log from the start copies its gaps and thinned batches byte for
// byte, and reads back the same records at the same offsets.
func TestFollowerCopiesCompactedLog(t *testing.T) {
	open := func() *engine.Partition {
		e := openEngine(t, t.TempDir(), engine.Options{Replicated: true, CleanerDisabled: true, RetentionCheckInterval: -1})
		if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
			t.Fatal(err)
		}
		p, _ := e.Partition("c", 0)
		return p
	}
	leader, follower := open(), open()
	leader.SetLeaderEpoch(1)
	for i := 0; i < 120; i++ {
		if _, err := leader.Append(keyedBatch(t, time.Now().UnixMilli(), fmt.Sprint("k", i%7), fmt.Sprint("value-", i))); err != nil {
			t.Fatal(err)
		}
	}
	leader.SetHighWatermark(leader.LogEndOffset())
	st, err := leader.Clean()
	if err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("clean: %+v %v", st, err)
	}
	copyTo(t, leader, follower)
	follower.SetHighWatermark(follower.LogEndOffset())
	want, got := readKeyed(t, leader, 0), readKeyed(t, follower, 0)
	if len(got) != len(want) || len(want) >= 120 {
		t.Fatalf("follower read %d records, leader %d (of 120 written)", len(got), len(want))
	}
	for i := range want {
		if got[i].offset != want[i].offset || got[i].key != want[i].key || !bytes.Equal(got[i].value, want[i].value) {
			t.Fatalf("record %d: follower %+v, leader %+v", i, got[i], want[i])
		}
	}
}

// TestMaxCompactionLag: a partition whose dirty ratio stays below
// min.cleanable.dirty.ratio is still cleaned once its oldest dirty record
// is older than max.compaction.lag.ms.
func TestMaxCompactionLag(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	cfg := map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024",
		"min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "60000"}
	write := func(p *engine.Partition, n int) {
		for i := 0; i < n; i++ {
			if _, err := p.Append(keyedBatch(t, clock.Now().UnixMilli(), fmt.Sprint("k", i%3), fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A cleaned log, then a little more: a dirty ratio below 0.9.
	e := openEngine(t, dir, engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerDisabled: true})
	if err := e.CreateTopic("c", 1, cfg); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	write(p, 200)
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	write(p, 20)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openEngine(t, dir, engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerBackoff: 5 * time.Millisecond})
	wait := func(what string, cond func(engine.CleanerTotals) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond(e.CleanerTotals()) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %+v", what, e.CleanerTotals())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The cleaner has looked (it records the ratio) and left it alone.
	wait("the cleaner to measure the dirty ratio", func(c engine.CleanerTotals) bool { return c.MaxDirtyRatio > 0 })
	if tot := e.CleanerTotals(); tot.Runs != 0 || tot.MaxDirtyRatio >= 0.9 {
		t.Fatalf("before the lag passed: %+v", tot)
	}
	clock.Advance(2 * time.Minute)
	wait("a cleaning past max.compaction.lag.ms", func(c engine.CleanerTotals) bool { return c.Runs > 0 })
}

// TestCleanerKeepsProducersNewestBatch: an idempotent producer whose
// every record is superseded keeps its newest batch, emptied, so that its
// sequence survives a replay of the cleaned log; its older batches go.
func TestCleanerKeepsProducersNewestBatch(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	const pid = 4242
	for seq := int32(0); seq < 3; seq++ {
		b := batch.NewBuilder(batch.None)
		b.SetProducer(pid, 0, seq)
		b.Append(time.Now().UnixMilli(), []byte("shared"), []byte(fmt.Sprint("from the producer ", seq)), nil)
		raw, _ := b.Build()
		if _, err := p.Append(bytes.Clone(raw)); err != nil {
			t.Fatal(err)
		}
	}
	// Others overwrite the key many times, past the producer's batches.
	for i := 0; i < 60; i++ {
		if _, err := p.Append(keyedBatch(t, time.Now().UnixMilli(), "shared", fmt.Sprint("later ", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	var kept []batch.Header
	var buf []byte
	for off := p.LogStartOffset(); off < p.HighWatermark(); {
		b, err := p.ReadBytes(buf[:0], off, 1<<20)
		if err != nil || len(b) == 0 {
			t.Fatalf("read at %d: %v", off, err)
		}
		buf = b
		for rest := b; len(rest) > 0; {
			h, err := batch.ParseHeader(rest)
			if err != nil {
				t.Fatal(err)
			}
			if h.ProducerID == pid {
				kept = append(kept, h)
			}
			off = h.NextOffset()
			rest = rest[h.Size():]
		}
	}
	if len(kept) != 1 || kept[0].BaseSequence != 2 || kept[0].RecordCount != 0 {
		t.Fatalf("the producer's batches after cleaning: %+v; want its newest alone, emptied", kept)
	}
	// The producer's next batch is still in sequence.
	b := batch.NewBuilder(batch.None)
	b.SetProducer(pid, 0, 3)
	b.Append(time.Now().UnixMilli(), []byte("shared"), []byte("next"), nil)
	raw, _ := b.Build()
	if _, err := p.Append(bytes.Clone(raw)); err != nil {
		t.Fatalf("the producer's next batch after cleaning: %v", err)
	}
}

// fillCompacted appends n one-record batches of keys k0..k(keys-1) with
// 1 KiB values to p and returns the newest value of each key.
func fillCompacted(t testing.TB, p *engine.Partition, n, keys int) map[string]string {
	t.Helper()
	newest := map[string]string{}
	pad := string(bytes.Repeat([]byte{'x'}, 1024))
	for i := 0; i < n; i++ {
		k, v := fmt.Sprint("k", i%keys), fmt.Sprint(i, pad)
		if _, err := p.Append(keyedBatch(t, time.Now().UnixMilli(), k, v)); err != nil {
			t.Fatal(err)
		}
		newest[k] = v
	}
	return newest
}

// TestCleanerThrottled: log.cleaner.io.max.bytes.per.second paces a
// cleaning's reads and writes.
func TestCleanerThrottled(t *testing.T) {
	const rate = 2e6
	e := openEngine(t, t.TempDir(), engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true, CleanerIOMaxBytesPerSecond: rate})
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "65536"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	newest := fillCompacted(t, p, 600, 10)
	st, err := p.Clean()
	if err != nil {
		t.Fatal(err)
	}
	io := st.BytesRead + st.BytesWritten
	// A lower bound only (sleeping is never shorter than asked): the
	// throttle banks at most 300 ms of rate from before the cleaning.
	if least := time.Duration(float64(io)/rate*float64(time.Second)) - 300*time.Millisecond; io < 1e6 || st.Took < least {
		t.Fatalf("cleaning %d bytes of I/O at %v B/s took %v, less than %v", io, rate, st.Took, least)
	}
	checkNewest(t, p, newest)
}

// checkNewest reads p and checks each key's last record holds its newest
// value.
func checkNewest(t testing.TB, p *engine.Partition, newest map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, r := range readKeyed(t, p, p.LogStartOffset()) {
		got[r.key] = string(r.value)
	}
	if len(got) != len(newest) {
		t.Fatalf("read %d keys, wrote %d", len(got), len(newest))
	}
	for k, v := range newest {
		if got[k] != v {
			t.Fatalf("key %s: newest value %.20q, want %.20q", k, got[k], v)
		}
	}
}

// TestCleanerDoesNotBlockAppendsOrFetches: while a cleaning runs (held
// back by a throttle so that it runs for minutes), appends and fetches of
// the partition it cleans go on, and closing the engine stops the
// cleaning and leaves the log whole.
func TestCleanerDoesNotBlockAppendsOrFetches(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true, CleanerIOMaxBytesPerSecond: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "16384"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	newest := fillCompacted(t, p, 200, 10) // 200 KiB: 100 s of cleaning at 2 KB/s
	started := make(chan struct{})
	engine.SetCleanerHook(e, func(step string) {
		if step == "started" {
			close(started)
		}
	})
	cleaned := make(chan error, 1)
	go func() {
		_, err := p.Clean()
		cleaned <- err
	}()
	select {
	case <-started:
	case err := <-cleaned:
		t.Fatalf("the cleaning ended before it started: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the cleaning did not start")
	}
	for k, v := range fillCompacted(t, p, 100, 20) {
		newest[k] = v
	}
	if got := readKeyed(t, p, 0); len(got) != 300 {
		t.Fatalf("read %d records while the cleaning ran, want all 300", len(got))
	}
	select {
	case err := <-cleaned:
		t.Fatalf("the cleaning ended (%v) before the appends and fetches did: they waited for it", err)
	default:
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-cleaned:
		if !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("cleaning stopped by Close: %v, want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the cleaning went on after Close")
	}
	e2 := openEngine(t, dir, engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true})
	p2, _ := e2.Partition("c", 0)
	if got := readKeyed(t, p2, 0); len(got) != 300 {
		t.Fatalf("read %d records after a stopped cleaning and a restart, want all 300", len(got))
	}
	checkNewest(t, p2, newest)
}

// TestCleanerMapFillsUp: with a dedupe buffer smaller than the keys of
// the dirty section (the smallest allowed, 1 MiB: 39,321 keys), each
// cleaning deduplicates what its map holds (ending the section at the
// first record it could not take, mid-segment if need be), and cleanings
// one after another reach every key's newest record alone.
func TestCleanerMapFillsUp(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true,
		CleanerDedupeBufferSize: 1 << 20})
	const mapKeys = (1 << 20) / 24 * 9 / 10
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1048576"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	newest := map[string]string{}
	appendKeys := func(prefix string, n, round int) {
		for k := 0; k < n; k += 100 {
			b := batch.NewBuilder(batch.None)
			for j := k; j < k+100 && j < n; j++ {
				key, v := fmt.Sprint(prefix, j), fmt.Sprint("v", round, "-", j)
				b.Append(time.Now().UnixMilli(), []byte(key), []byte(v), nil)
				newest[key] = v
			}
			raw, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Append(bytes.Clone(raw)); err != nil {
				t.Fatal(err)
			}
		}
	}
	const keys = 50_000
	for round := 0; round < 3; round++ {
		appendKeys("key-", keys, round)
	}
	appendKeys("tail-", 40_000, 0) // a segment more, so that all of the above is cleanable
	var last int64 = -1
	cleanings := 0
	for ; cleanings < 50; cleanings++ {
		st, err := p.Clean()
		if err != nil {
			t.Fatal(err)
		}
		if st.Groups == 0 {
			break
		}
		if st.End <= last || st.End-st.FirstDirty > int64(mapKeys)*3 {
			t.Fatalf("cleaning %d: %+v after one that ended at %d, with a map of %d keys", cleanings, st, last, mapKeys)
		}
		last = st.End
	}
	if last < 3*keys || cleanings < 3*keys/mapKeys {
		t.Fatalf("%d cleanings reached offset %d of %d records of %d keys, with a map of %d", cleanings, last, 3*keys, keys, mapKeys)
	}
	checkNewest(t, p, newest)
	seen := map[string]bool{}
	for _, r := range readKeyed(t, p, 0) {
		if r.offset < last && seen[r.key] {
			t.Fatalf("key %s twice below the cleaned end %d", r.key, last)
		}
		seen[r.key] = true
	}
}

// TestCompactedTopicRollsForMaxCompactionLag: on a compacted topic the
// active segment rolls once max.compaction.lag.ms passes (as Kafka rolls
// at the sooner of it and segment.ms), so that the cleaner, which never
// touches the active segment, can honour the lag; a delete topic keeps
// segment.ms.
func TestCompactedTopicRollsForMaxCompactionLag(t *testing.T) {
	clock := newFakeClock()
	e := openEngine(t, t.TempDir(), engine.Options{Now: clock.Now, RetentionCheckInterval: -1, CleanerDisabled: true})
	for name, policy := range map[string]string{"c": "compact", "d": "delete"} {
		if err := e.CreateTopic(name, 1, map[string]string{"cleanup.policy": policy, "max.compaction.lag.ms": "60000"}); err != nil {
			t.Fatal(err)
		}
		p, _ := e.Partition(name, 0)
		for i := 0; i < 2; i++ {
			if _, err := p.Append(keyedBatch(t, clock.Now().UnixMilli(), "k", fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Minute)
		}
		want := map[string]int{"c": 2, "d": 1}[name]
		if got := p.Stats().Segments; got != want {
			t.Errorf("%s (%s): %d segments after two appends 2 minutes apart, want %d", name, policy, got, want)
		}
	}
	p, _ := e.Partition("c", 0)
	if st, err := p.Clean(); err != nil || st.Groups != 1 || st.End != 1 {
		t.Fatalf("cleaning the rolled segment: %+v %v, want it cleanable up to offset 1", st, err)
	}
}
