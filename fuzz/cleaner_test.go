package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// The cleaner targets run an engine on a fixed clock, with nothing in the
// background: the fuzz input alone decides what happens.
var (
	cleanNow       = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cleanRetention = time.Hour // the topic's delete.retention.ms
	// Timestamps either side of delete.retention.ms: a tombstone at
	// cleanOld goes at the next cleaning, one at cleanFresh stays.
	cleanOld   = cleanNow.Add(-2 * cleanRetention).UnixMilli()
	cleanFresh = cleanNow.Add(-time.Minute).UnixMilli()
)

func cleanOpts() engine.Options {
	return engine.Options{
		Now:                     func() time.Time { return cleanNow },
		RetentionCheckInterval:  -1,
		CleanerDisabled:         true,
		CleanerDedupeBufferSize: engine.MinCleanerDedupeBufferPerThread,
		// No idle closing of segments behind the input's back.
		SegmentIdleTimeout: -1,
	}
}

// cleanTopicConfig is the compacted topic of both targets: small segments
// (so that a few batches make several, and cleanings regroup them) with
// frequent index entries.
var cleanTopicConfig = map[string]string{
	"cleanup.policy":       "compact",
	"segment.bytes":        "1024",
	"index.interval.bytes": "128",
	"delete.retention.ms":  fmt.Sprint(cleanRetention.Milliseconds()),
}

// cleanPartDir is where topic "c" partition 0 keeps its segments.
func cleanPartDir(dataDir string) string { return filepath.Join(dataDir, "c-0") }

// cleanTemplate makes, once per fuzzing process, a data directory holding
// the empty compacted topic "c", closed cleanly; each input starts from a
// copy, which costs less than creating the store and the topic again.
func cleanTemplate(f *testing.F) string {
	dir := filepath.Join(f.TempDir(), "template")
	e, err := engine.Open(dir, cleanOpts())
	if err != nil {
		f.Fatal(err)
	}
	if err := e.CreateTopic("c", 1, cleanTopicConfig); err != nil {
		f.Fatal(err)
	}
	if err := e.Close(); err != nil {
		f.Fatal(err)
	}
	return dir
}

// execDir returns a fresh directory for one input, removed after it. The
// engine fsyncs its segments and directories and pebble its WAL, which on
// a disk dominates an input's time; on tmpfs an fsync costs nothing, so
// /dev/shm is used where there is one.
func execDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "sluice-fuzz-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// copyTree copies the data directory src to dst, leaving out the lock file
// (a copy is a fresh directory).
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Name() == ".lock" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// cleanRec is one record as a consumer reads it.
type cleanRec struct {
	offset     int64
	key, value []byte // nil is not empty: a nil value is a tombstone
	ts         int64
	control    bool
}

func (r *cleanRec) String() string {
	if r.value == nil {
		return fmt.Sprintf("%d %q=<tombstone> ts %d", r.offset, r.key, r.ts)
	}
	return fmt.Sprintf("%d %q=%q ts %d", r.offset, r.key, r.value, r.ts)
}

func (r *cleanRec) same(o *cleanRec) bool {
	return r.offset == o.offset && batchSameBytes(r.key, o.key) && batchSameBytes(r.value, o.value) &&
		r.ts == o.ts && r.control == o.control
}

// errCleanRead marks a read that broke a reader's expectations (offsets
// going back, a read that does not move on) rather than a batch that does
// not decode.
var errCleanRead = errors.New("broken read")

// readRecords reads every record of p from its log start to its high
// watermark through Partition.ReadBytes, decoding each batch, as a consumer
// of the topic would. Offsets must ascend and each read must move on; a
// failure to do either wraps errCleanRead.
func readRecords(p *engine.Partition) ([]cleanRec, error) {
	var out []cleanRec
	var rd batch.Reader
	var buf []byte
	last := int64(-1)
	for off, reads := p.LogStartOffset(), 0; off < p.HighWatermark(); reads++ {
		if reads > 1<<16 {
			return out, fmt.Errorf("%w: %d reads and still at offset %d of %d", errCleanRead, reads, off, p.HighWatermark())
		}
		b, err := p.ReadBytes(buf[:0], off, 64<<10)
		if err != nil {
			return out, fmt.Errorf("read at %d: %w", off, err)
		}
		buf = b
		if len(b) == 0 {
			break // a gap up to the high watermark: nothing left
		}
		from := off
		for rest := b; len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				return out, fmt.Errorf("read at %d: %w", from, err)
			}
			h, err := rd.Reset(first)
			if err != nil {
				return out, fmt.Errorf("batch at %d: %w", h.BaseOffset, err)
			}
			for {
				r, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return out, fmt.Errorf("batch at %d: %w", h.BaseOffset, err)
				}
				if r.Offset < from {
					continue // the read began inside this batch
				}
				if r.Offset <= last {
					return out, fmt.Errorf("%w: offset %d after %d", errCleanRead, r.Offset, last)
				}
				last = r.Offset
				out = append(out, cleanRec{offset: r.Offset, key: bytes.Clone(r.Key), value: bytes.Clone(r.Value),
					ts: r.Timestamp, control: h.Control()})
			}
			off = max(off, h.NextOffset())
			rest = tail
		}
		if off <= from {
			return out, fmt.Errorf("%w: a read at %d gave batches ending at %d", errCleanRead, from, off)
		}
	}
	return out, nil
}

// checkCleaned holds what a cleaning of a log read as before must leave,
// read as after, where end is the cleaning's end: every record read is one
// that was there, at the same offset; nothing at or past end changed; each
// key still reads its newest record, tombstones included (the clock stands
// still, and a tombstone stays delete.retention.ms past the first cleaning
// that saw it); control records stay. Records without a key below end may
// go, as Kafka's cleaner drops them.
func checkCleaned(t *testing.T, what string, before, after []cleanRec, end int64) {
	t.Helper()
	at := make(map[int64]*cleanRec, len(before))
	newest := map[string]*cleanRec{}
	for i := range before {
		r := &before[i]
		at[r.offset] = r
		if r.key != nil && !r.control {
			newest[string(r.key)] = r
		}
	}
	got := make(map[int64]bool, len(after))
	for i := range after {
		r := &after[i]
		w, ok := at[r.offset]
		if !ok || !w.same(r) {
			t.Fatalf("%s: read %v, which was not in the log (there: %v)", what, r, w)
		}
		got[r.offset] = true
	}
	for i := range before {
		r := &before[i]
		if got[r.offset] {
			continue
		}
		switch {
		case r.offset >= end:
			t.Fatalf("%s: %v, at or past the cleaned end %d, is gone", what, r, end)
		case r.control:
			t.Fatalf("%s: control record %v is gone", what, r)
		case r.key == nil:
		case newest[string(r.key)] == r:
			t.Fatalf("%s: key %q lost its newest record %v", what, r.key, r)
		}
	}
}

// cleanKeys are the keys the built batches draw from: few, so that they
// repeat and supersede each other.
var cleanKeys = [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e"), []byte("f")}

// cleanCodecs are the codecs the built batches use.
var cleanCodecs = []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}

// segBuilder turns FuzzCleanSegments' plan into the bytes of segment files.
type segBuilder struct {
	tb   testing.TB
	r    *opReader
	raw  []byte // arbitrary bytes the plan cuts pieces from
	bld  *batch.Builder
	flt  batch.Filterer
	next int64 // the offset after the last batch built
	n    int   // batches built, to tell values apart
}

// take cuts n bytes off the front of the raw input (fewer when it runs out).
func (s *segBuilder) take(n int) []byte {
	n = min(n, len(s.raw))
	out := s.raw[:n]
	s.raw = s.raw[n:]
	return out
}

// batch builds a well-formed batch at the next offset (or a little past
// it): keys from cleanKeys, some tombstones, the odd record without a key,
// timestamps either side of delete.retention.ms, any codec, maybe an
// idempotent producer's, maybe thinned as a cleaning would leave it.
func (s *segBuilder) batch() []byte {
	r := s.r
	s.bld.Reset()
	s.bld.SetCodec(cleanCodecs[int(r.byte())%len(cleanCodecs)])
	flags := r.byte()
	if flags&1 != 0 {
		s.bld.SetProducer(int64(flags>>1&3), 0, int32(s.n))
	}
	records := 1 + int(r.byte()%5)
	for j := range records {
		kb := r.byte()
		key := cleanKeys[int(kb)%len(cleanKeys)]
		if kb&planNoKey == planNoKey {
			key = nil // refused on append, but a log may hold one
		}
		var value []byte
		if kb&0x30 != 0x30 {
			value = fmt.Appendf(nil, "batch %d record %d", s.n, j)
		}
		ts := cleanFresh
		if kb&0x40 != 0 {
			ts = cleanOld
		}
		s.bld.Append(ts+int64(j), key, value, nil)
	}
	b, err := s.bld.Build()
	if err != nil {
		s.tb.Fatal(err)
	}
	b = bytes.Clone(b)
	if flags&0x10 != 0 {
		// Thinned: mask bit d keeps the record at delta d.
		mask := r.byte()
		keep := func(rec *batch.Record) bool { return mask>>(rec.OffsetDelta%8)&1 != 0 }
		if b, _, err = s.flt.Filter(nil, b, keep, batch.FilterOptions{KeepEmpty: flags&0x20 != 0}); err != nil {
			s.tb.Fatal(err)
		}
	}
	s.n++
	base := s.next
	if flags&0xc0 == 0xc0 {
		base += int64(r.byte() % 8) // a gap a cleaning left
	}
	if len(b) == 0 {
		s.next = base + int64(records) // all of it cleaned away
		return nil
	}
	batch.SetBaseOffset(b, base)
	s.next = base + int64(records)
	return b
}

// fixedUp makes the next raw bytes a batch at the next offset with the
// right length, magic and CRC, whatever else they say, so that they get
// past recovery and reach the record decoders of the cleaner and reader.
func (s *segBuilder) fixedUp(n int) []byte {
	b := make([]byte, batch.HeaderSize, batch.HeaderSize+n)
	copy(b, s.take(batch.HeaderSize))
	b = append(b, s.take(n)...)
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(s.next))
	be.PutUint32(b[8:], uint32(len(b)-12))
	b[16] = batch.Magic
	if s.r.byte()&1 == 0 {
		// Usually a plain batch: no producer, a sane count.
		be.PutUint64(b[43:], ^uint64(0))
		delta := int32(be.Uint32(b[23:]) % 8)
		be.PutUint32(b[23:], uint32(delta))
		be.PutUint32(b[57:], uint32(delta+1))
	}
	be.PutUint32(b[17:], crc32.Checksum(b[21:], batchCastagnoli))
	if h, err := batch.ValidateStoredFraming(b); err == nil && h.LastOffsetDelta >= 0 {
		s.next = h.NextOffset()
	}
	return b
}

// segments builds the log files: up to five segments, each a run of
// pieces (built batches, raw bytes as they are or fixed up as a batch),
// then perhaps damaged or cut short. Bases follow the offsets, a little
// before (an overlap recovery must cut) or past them (a cleaned gap).
func (s *segBuilder) segments() map[int64][]byte {
	r := s.r
	segs := map[int64][]byte{}
	count := 1 + int(r.byte()%5)
	s.next = int64(r.byte()%4) * 100
	for range count {
		switch d := r.byte(); {
		case d < 0x10:
			s.next = max(0, s.next-int64(d%4)) // overlaps the last segment
		case d >= 0xf8:
			s.next += 1 << 31 // past what 32-bit relative offsets reach
		case d >= 0xc0:
			s.next += int64(d % 16)
		}
		base := s.next
		var log []byte
		for range int(r.byte() % 32) {
			switch r.byte() % 8 {
			case 0, 1, 2, 3:
				log = append(log, s.batch()...)
			case 4: // raw bytes as they are
				log = append(log, s.take(int(r.byte()))...)
			case 5: // raw bytes as a batch that frames
				log = append(log, s.fixedUp(int(r.byte()))...)
			case 6: // a flipped byte
				if len(log) > 0 {
					pos := int(binary.BigEndian.Uint16([]byte{r.byte(), r.byte()})) % len(log)
					log[pos] ^= 1 << (r.byte() % 8)
				}
			case 7: // cut short
				log = log[:len(log)-min(len(log), int(r.byte()%64))]
			}
		}
		segs[base] = append(segs[base], log...)
	}
	return segs
}

// planWriter writes plans for segBuilder, for the seeds: each method
// writes what the builder reads, in its order.
type planWriter struct{ b []byte }

// start begins a plan of n segments (1 to 5) whose offsets start at
// first*100.
func (w *planWriter) start(n, first byte) *planWriter {
	w.b = append(w.b, n-1, first)
	return w
}

// segment adds a segment whose base is moved by d (see segments) and which
// holds pieces (at most 31).
func (w *planWriter) segment(d byte, pieces ...[]byte) *planWriter {
	w.b = append(w.b, d, byte(len(pieces)))
	for _, p := range pieces {
		w.b = append(w.b, p...)
	}
	return w
}

// Key bytes of planned records: a key index, or'ed with these.
const (
	planTombstone = 0x30
	planOld       = 0x40 // a timestamp past delete.retention.ms
	planNoKey     = 0x87 // no key at all
)

// planBatch is a built batch piece of keys (1 to 5 key bytes); flags are
// segBuilder.batch's, mask and gap used only when flags ask for them.
func planBatch(codec, flags, mask, gap byte, keys ...byte) []byte {
	p := append([]byte{0, codec, flags, byte(len(keys) - 1)}, keys...)
	if flags&0x10 != 0 {
		p = append(p, mask)
	}
	if flags&0xc0 == 0xc0 {
		p = append(p, gap)
	}
	return p
}

// cleanSeedPlans are plans that build logs worth cleaning: several
// segments of batches whose keys repeat, tombstones (fresh and expired),
// idempotent producers, thinned batches, gaps, and a little damage.
func cleanSeedPlans() [][]byte {
	var plans [][]byte
	// Random logs of built batches only, every codec, so that cleanings
	// make several groups.
	for seed := range 4 {
		rng := rand.New(rand.NewSource(int64(seed)))
		w := (&planWriter{}).start(byte(3+seed%3), byte(seed%2))
		for range 3 + seed%3 {
			var pieces [][]byte
			for range 4 + rng.Intn(10) {
				keys := make([]byte, 1+rng.Intn(5))
				for i := range keys {
					keys[i] = byte(rng.Intn(len(cleanKeys)))
					if rng.Intn(6) == 0 {
						keys[i] |= planTombstone
					}
					if rng.Intn(3) == 0 {
						keys[i] |= planOld
					}
				}
				flags := byte(0)
				if seed >= 2 {
					flags = byte(rng.Intn(256)) &^ 0xc0
					if rng.Intn(5) == 0 {
						flags |= 0xc0
					}
				}
				pieces = append(pieces, planBatch(byte(rng.Intn(len(cleanCodecs))), flags, byte(rng.Intn(256)), byte(rng.Intn(8)), keys...))
			}
			d := byte(0x20)
			if rng.Intn(3) == 0 {
				d = 0xc0 | byte(rng.Intn(16)) // a gap between segments
			}
			w.segment(d, pieces...)
		}
		plans = append(plans, w.b)
	}
	b := func(keys ...byte) []byte { return planBatch(0, 0, 0, 0, keys...) }
	// Damage in the last segment, and in a sealed one.
	plans = append(plans, (&planWriter{}).start(3, 0).
		segment(0x20, b(0, 1, 2), b(0, 1), b(2, 3, 4), b(3)).
		segment(0x20, b(0, 1, 2, 3, 4), b(1, 1), b(planTombstone|2, 3), b(5), b(0), b(1)).
		segment(0x20, b(0, 1), b(4), []byte{6, 0, 200, 3}, b(5)).b)
	plans = append(plans, (&planWriter{}).start(3, 0).
		segment(0x20, b(0, 1, 2), b(0, 1), b(2, 3, 4), b(3)).
		segment(0x20, b(0, 1, 2, 3, 4), []byte{7, 50}, b(5), b(0), b(1)).
		segment(0x20, b(0, 1), b(4), b(5)).b)
	// Raw bytes, and raw bytes as a batch, between built ones.
	plans = append(plans, (&planWriter{}).start(2, 0).
		segment(0x20, b(0, 1, 2), []byte{5, 40, 0}, b(2, 3), b(planNoKey, 1)).
		segment(0x20, b(3, 4), []byte{4, 30}, b(5)).b)
	// An overlap between segments.
	plans = append(plans, (&planWriter{}).start(3, 2).
		segment(0x20, b(0, 1, 2), b(3, 4)).
		segment(0x03, b(0, 1), b(2)).
		segment(0x20, b(3), b(4)).b)
	// A jump past 32-bit relative offsets between segments.
	plans = append(plans, (&planWriter{}).start(4, 0).
		segment(0x20, b(0, 1, 2), b(3, 4), b(0, 1, 2, 3, 4), b(5)).
		segment(0xfa, b(0, 1, 2), b(planOld|planTombstone|0, 1)).
		segment(0x20, b(3), b(4), b(planOld|planTombstone|1)).
		segment(0x20, b(3), b(4)).b)
	return plans
}

// FuzzCleanSegments writes arbitrary segments (built from a plan: well
// formed batches of a few keys, tombstones and idempotent producers in
// any codec, thinned batches and gaps as a cleaning leaves them, raw
// bytes, batches whose framing was fixed up around raw bytes, flipped
// bytes, cut tails) as the log of a compacted topic's partition left by a
// crash, opens the engine and cleans the partition. Open may fail, nothing
// may panic. If the log reads whole before the cleaning, the cleaning must
// succeed, and the log read after it must hold each key's newest record at
// its offset (an expired tombstone aside, with nothing older of its key),
// only records that were there, and everything past the cleaned end; a
// second cleaning must succeed and keep that so, and so must a reopen.
func FuzzCleanSegments(f *testing.F) {
	raw := seedLog(f, 5)
	for _, plan := range cleanSeedPlans() {
		f.Add(plan, []byte{})
		f.Add(plan, raw)
	}
	f.Add([]byte{}, []byte{})
	tmpl := cleanTemplate(f)
	bld := batch.NewBuilder(batch.None) // its compressors serve every input

	f.Fuzz(func(t *testing.T, plan, raw []byte) {
		if len(plan) > 512 {
			plan = plan[:512] // bound the work of one input
		}
		if len(raw) > 2<<10 {
			raw = raw[:2<<10]
		}
		dir := execDir(t)
		copyTree(t, tmpl, dir)
		part := cleanPartDir(dir)
		// The template's partition was never appended to, so it has no
		// directory yet (partitions make theirs on first append).
		if err := os.MkdirAll(part, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(part)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Remove(filepath.Join(part, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		sb := &segBuilder{tb: t, r: &opReader{data: plan}, raw: raw, bld: bld}
		for base, log := range sb.segments() {
			if err := os.WriteFile(filepath.Join(part, segment.FileName(base, ".log")), log, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// A crash: no clean-shutdown marker, so recovery scans the log.
		if err := os.Remove(filepath.Join(dir, ".clean-shutdown")); err != nil {
			t.Fatal(err)
		}

		e, err := engine.Open(dir, cleanOpts())
		if err != nil {
			return // a log recovery gives up on is refused, not a panic
		}
		defer func() { e.Close() }()
		p, err := e.Partition("c", 0)
		if err != nil {
			t.Fatal(err)
		}
		before, readErr := readRecords(p)
		if errors.Is(readErr, errCleanRead) {
			t.Fatalf("before cleaning: %v", readErr)
		}
		st, err := p.Clean()
		if readErr != nil {
			// Records that do not decode (under a good CRC): the
			// cleaning may refuse them, but not panic.
			return
		}
		if err != nil {
			t.Fatalf("clean of a log that reads whole: %v", err)
		}
		after, err := readRecords(p)
		if err != nil {
			t.Fatalf("after cleaning (%+v): %v", st, err)
		}
		checkCleaned(t, "after cleaning", before, after, st.End)
		st2, err := p.Clean()
		if err != nil {
			t.Fatalf("second cleaning: %v", err)
		}
		again, err := readRecords(p)
		if err != nil {
			t.Fatalf("after the second cleaning (%+v): %v", st2, err)
		}
		checkCleaned(t, "after the second cleaning", before, again, max(st.End, st2.End))

		// The cleaned log survives a clean restart.
		if err := e.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if e, err = engine.Open(dir, cleanOpts()); err != nil {
			t.Fatalf("reopen after cleaning: %v", err)
		}
		if p, err = e.Partition("c", 0); err != nil {
			t.Fatal(err)
		}
		reopened, err := readRecords(p)
		if err != nil {
			t.Fatalf("after reopening: %v", err)
		}
		if len(reopened) != len(again) {
			t.Fatalf("after reopening: %d records, %d before", len(reopened), len(again))
		}
		for i := range again {
			if !reopened[i].same(&again[i]) {
				t.Fatalf("after reopening: record %d is %v, was %v", i, &reopened[i], &again[i])
			}
		}
	})
}
