package engine_test

// Benchmarks of the engine's hot paths: append (per codec, record and batch
// size, and durable with group commit), segment roll, read of a region at a
// random offset, ListOffsets by time, and Open of a partition with 10,000
// segments after a clean shutdown and after a crash. BENCHMARKS.md at the
// top of the repository has the figures and the commands.
//
// Every helper here is prefixed with bench so that it never collides with
// the helpers of the engine's functional tests, which share this package.
//
// Disk use: append benchmarks roll 64 MiB segments and enforce a 256 MiB
// retention (timer stopped) every 256 MiB written, so a run stays under
// about 600 MiB whatever b.N is; the read fixtures are 256 MiB each.
//
//	go test -run='^$' -bench=. -benchmem ./engine/

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

const (
	benchKiB = 1 << 10
	benchMiB = 1 << 20

	benchTopic = "bench"
	// benchBaseTS is the first record's timestamp (2026-11-25T00:00:00Z);
	// every record is one millisecond younger than the one before it.
	benchBaseTS = int64(1795564800000)
	// benchRingBytes is how many distinct batch bytes an append benchmark
	// cycles through, so that it does not append one hot buffer forever.
	benchRingBytes = 32 * benchMiB
	// benchRetentionEvery is how much an append benchmark writes between
	// two (untimed) retention passes that keep its disk use bounded.
	benchRetentionEvery = 256 * benchMiB
)

// benchWords make record values compress about as well as JSON logs do, so
// that lz4 and zstd have something to do.
var benchWords = []string{
	`"user_id":`, `"session":`, `"event":"page_view"`, `"event":"click"`, `"path":"/checkout"`,
	`"path":"/cart"`, `"status":200`, `"status":404`, `"region":"eu-west-1"`, `"region":"us-east-2"`,
	`"ua":"Mozilla/5.0"`, `"latency_ms":`, `"ok":true`, `"ok":false`, `"items":[`, `],`, `{`, `}`, `,`,
}

// benchValue fills a value of n bytes with words and random digits.
func benchValue(rng *rand.Rand, n int) []byte {
	v := make([]byte, 0, n+32)
	for len(v) < n {
		if rng.IntN(3) == 0 {
			v = strconv.AppendUint(v, rng.Uint64N(1_000_000_000), 10)
		} else {
			v = append(v, benchWords[rng.IntN(len(benchWords))]...)
		}
	}
	return v[:n]
}

// benchBatches is a ring of prebuilt batches and what they hold.
type benchBatches struct {
	ring    [][]byte
	bytes   int64 // sum of len(ring[i])
	records int64 // sum of the records in the ring
}

// avgBytes is the average stored size of a batch of the ring.
func (r *benchBatches) avgBytes() int64 { return r.bytes / int64(len(r.ring)) }

// avgRecords is the average number of records in a batch of the ring.
func (r *benchBatches) avgRecords() float64 { return float64(r.records) / float64(len(r.ring)) }

// benchBuild builds at least minBatches batches (and at least ringBytes of
// them) of recordBytes-byte values, each batch filled until its uncompressed
// size would pass batchBytes. Timestamps grow by 1 ms per record from ts0.
func benchBuild(tb testing.TB, codec batch.Codec, recordBytes, batchBytes, ringBytes, minBatches int, ts0 int64) *benchBatches {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(recordBytes), uint64(batchBytes)))
	values := make([][]byte, 64)
	for i := range values {
		values[i] = benchValue(rng, recordBytes)
	}
	bld := batch.NewBuilder(codec)
	out := &benchBatches{}
	ts := ts0
	var uncompressed int64
	for len(out.ring) < minBatches || uncompressed < int64(ringBytes) {
		bld.Reset()
		for bld.Records() == 0 || bld.Size()+recordBytes+16 <= batchBytes {
			bld.Append(ts, nil, values[rng.IntN(len(values))], nil)
			ts++
		}
		b, err := bld.Build()
		if err != nil {
			tb.Fatal(err)
		}
		uncompressed += int64(bld.Size())
		out.ring = append(out.ring, append([]byte(nil), b...))
		out.bytes += int64(len(b))
		out.records += int64(bld.Records())
	}
	return out
}

// benchEngine opens a fresh engine in dir with one single-partition topic
// configured by configs, and returns the engine and its partition.
func benchEngine(tb testing.TB, dir string, configs map[string]string) (*engine.Engine, *engine.Partition) {
	tb.Helper()
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.CreateTopic(benchTopic, 1, configs); err != nil {
		e.Close()
		tb.Fatal(err)
	}
	p, err := e.Partition(benchTopic, 0)
	if err != nil {
		e.Close()
		tb.Fatal(err)
	}
	return e, p
}

// benchTempDir makes a directory that the caller removes itself, so that a
// benchmark function that the testing package runs several times (for each
// b.N) frees its disk between runs instead of at the very end.
func benchTempDir(tb testing.TB, pattern string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sluice-bench-"+pattern+"-")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func benchSizeName(n int) string {
	switch {
	case n >= benchMiB && n%benchMiB == 0:
		return fmt.Sprintf("%dMiB", n/benchMiB)
	case n >= benchKiB && n%benchKiB == 0:
		return fmt.Sprintf("%dKiB", n/benchKiB)
	}
	return fmt.Sprintf("%dB", n)
}

// benchAppendConfigs bound an append benchmark's disk use: 64 MiB segments,
// 256 MiB kept (retention is run by the benchmark, timer stopped).
func benchAppendConfigs() map[string]string {
	return map[string]string{
		"segment.bytes":     strconv.Itoa(64 * benchMiB),
		"retention.bytes":   strconv.Itoa(benchRetentionEvery),
		"max.message.bytes": strconv.Itoa(2 * benchMiB),
	}
}

// BenchmarkAppend times Partition.Append of one prebuilt batch per op, for
// 100 B and 1 KiB records in 16 KiB and 1 MiB batches, uncompressed and with
// lz4 and zstd. MB/s counts stored (compressed) bytes; records/s counts
// records. Appends land in the page cache (Kafka's default): the durable
// sub-benchmarks wait for fdatasync with flush.on.ack=true, one appender and
// four concurrent ones (b.RunParallel), which share syncs by group commit.
func BenchmarkAppend(b *testing.B) {
	for _, codec := range []batch.Codec{batch.None, batch.LZ4, batch.Zstd} {
		for _, recordBytes := range []int{100, benchKiB} {
			for _, batchBytes := range []int{16 * benchKiB, benchMiB} {
				name := fmt.Sprintf("codec=%s/record=%s/batch=%s", codec, benchSizeName(recordBytes), benchSizeName(batchBytes))
				var ring *benchBatches // built on the first run only (b.N=1), before the timer starts
				b.Run(name, func(b *testing.B) {
					if ring == nil {
						ring = benchBuild(b, codec, recordBytes, batchBytes, benchRingBytes, 4, benchBaseTS)
					}
					benchAppend(b, ring)
				})
			}
		}
	}
	var durable *benchBatches
	for _, appenders := range []int{1, 4} {
		b.Run(fmt.Sprintf("durable/record=1KiB/batch=16KiB/appenders=%d", appenders), func(b *testing.B) {
			if durable == nil {
				durable = benchBuild(b, batch.None, benchKiB, 16*benchKiB, 4*benchMiB, 4, benchBaseTS)
			}
			benchAppendDurable(b, durable, appenders)
		})
	}
}

func benchAppend(b *testing.B, ring *benchBatches) {
	dir := benchTempDir(b, "append")
	defer os.RemoveAll(dir)
	e, p := benchEngine(b, dir, benchAppendConfigs())
	defer e.Close()
	b.ReportAllocs()
	b.SetBytes(ring.avgBytes())
	var sinceRetention int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := ring.ring[i%len(ring.ring)]
		if _, err := p.Append(rec); err != nil {
			b.Fatal(err)
		}
		if sinceRetention += int64(len(rec)); sinceRetention >= benchRetentionEvery {
			b.StopTimer()
			if _, err := e.EnforceRetention(); err != nil {
				b.Fatal(err)
			}
			sinceRetention = 0
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(ring.avgRecords()*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchAppendDurable appends with flush.on.ack=true from appenders
// goroutines. Each appender has its own copy of the ring: Append rewrites
// baseOffset in place, so two appenders must never share a buffer.
func benchAppendDurable(b *testing.B, src *benchBatches, appenders int) {
	dir := benchTempDir(b, "durable")
	defer os.RemoveAll(dir)
	cfg := benchAppendConfigs()
	cfg["flush.on.ack"] = "true"
	e, p := benchEngine(b, dir, cfg)
	defer e.Close()
	b.ReportAllocs()
	b.SetBytes(src.avgBytes())
	if appenders == 1 {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.Append(src.ring[i%len(src.ring)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(1, "appenders")
		b.ReportMetric(src.avgRecords()*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		return
	}
	// RunParallel starts parallelism*GOMAXPROCS goroutines.
	procs := runtime.GOMAXPROCS(0)
	par := (appenders + procs - 1) / procs
	goroutines := par * procs
	rings := make([][][]byte, goroutines)
	for g := range rings {
		rings[g] = make([][]byte, len(src.ring))
		for i, r := range src.ring {
			rings[g][i] = append([]byte(nil), r...)
		}
	}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ring := rings[next.Add(1)-1]
		for i := 0; pb.Next(); i++ {
			if _, err := p.Append(ring[i%len(ring)]); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
		}
	})
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(goroutines), "appenders")
	b.ReportMetric(src.avgRecords()*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchLog fills a fresh partition with totalBytes of 1 KiB records in
// 16 KiB batches (timestamps 1 ms apart) and returns it open.
func benchLog(b *testing.B, dir string, totalBytes, segmentBytes int) (*engine.Engine, *engine.Partition, *benchBatches) {
	b.Helper()
	e, p := benchEngine(b, dir, map[string]string{
		"segment.bytes":     strconv.Itoa(segmentBytes),
		"max.message.bytes": strconv.Itoa(2 * benchMiB),
	})
	ring := benchBuild(b, batch.None, benchKiB, 16*benchKiB, totalBytes, 1, benchBaseTS)
	for _, rec := range ring.ring {
		if _, err := p.Append(rec); err != nil {
			e.Close()
			b.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		e.Close()
		b.Fatal(err)
	}
	return e, p, ring
}

// BenchmarkRead times a fetch of 1 MiB at a random offset of a 256 MiB log
// (1 KiB records, 16 KiB batches, 64 MiB segments) that sits in the page
// cache: Partition.Read finds the region (segment search, index lookup,
// header scan) and Region.ReadTo copies it out. region-only times Read and
// Release alone, which is what a sendfile fetch pays before the copy.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	e, p, ring := benchLog(b, dir, 256*benchMiB, 64*benchMiB)
	defer e.Close()
	end := p.HighWatermark()
	perMiB := int64(float64(benchMiB) / float64(ring.bytes) * float64(ring.records))
	rng := rand.New(rand.NewPCG(1, 2))
	offsets := make([]int64, 4096)
	for i := range offsets {
		offsets[i] = rng.Int64N(end - perMiB)
	}
	b.Run("copy/1MiB", func(b *testing.B) {
		buf := make([]byte, 0, 2*benchMiB)
		var got int64
		b.ReportAllocs()
		b.SetBytes(benchMiB)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r, err := p.Read(offsets[i%len(offsets)], benchMiB)
			if err != nil {
				b.Fatal(err)
			}
			if buf, err = r.ReadTo(buf[:0]); err != nil {
				b.Fatal(err)
			}
			r.Release()
			got += int64(len(buf))
		}
		b.StopTimer()
		b.ReportMetric(float64(got)/float64(b.N), "region-bytes/op")
	})
	b.Run("region-only/1MiB", func(b *testing.B) {
		var got int64
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r, err := p.Read(offsets[i%len(offsets)], benchMiB)
			if err != nil {
				b.Fatal(err)
			}
			got += r.Len
			r.Release()
		}
		b.StopTimer()
		b.ReportMetric(float64(got)/float64(b.N), "region-bytes/op")
	})
}

// BenchmarkListOffsetByTime times ListOffsets by timestamp at a random time
// within a 256 MiB log of 16 MiB segments (16 segments, 1 KiB records in
// 16 KiB batches, 1 ms apart): segment walk, time index, offset index,
// header scan and decoding the one batch that holds the answer.
func BenchmarkListOffsetByTime(b *testing.B) {
	dir := b.TempDir()
	e, p, ring := benchLog(b, dir, 256*benchMiB, 16*benchMiB)
	defer e.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	stamps := make([]int64, 4096)
	for i := range stamps {
		stamps[i] = benchBaseTS + rng.Int64N(ring.records)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts := stamps[i%len(stamps)]
		off, err := p.ListOffset(ts)
		if err != nil {
			b.Fatal(err)
		}
		if off != ts-benchBaseTS {
			b.Fatalf("ListOffset(%d) = %d, want %d", ts, off, ts-benchBaseTS)
		}
	}
}

// benchProcCount counts the entries of /proc/self/fd (lines of
// /proc/self/maps with lines), or returns -1 where /proc is missing.
func benchProcCount(lines bool) int {
	if !lines {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return -1
		}
		return len(fds)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// benchRollSession is how many rolls one engine session makes in
// BenchmarkRoll before it is closed (timer stopped) and reopened.
const benchRollSession = 1000

// BenchmarkRoll times an append that rolls the segment (segment.bytes at its
// minimum, so every append after a segment's first rolls): seal the old
// segment, create the new one with its preallocated indexes, and start the
// old one's background flush. fds/roll and maps/roll are the descriptors
// and memory mappings the live engine still holds per segment it rolled,
// measured over the first session's rolls.
func BenchmarkRoll(b *testing.B) {
	one := benchBuild(b, batch.None, 100, 200, 0, 1, benchBaseTS).ring[0]
	configs := map[string]string{"segment.bytes": "14", "segment.index.bytes": "1024"}
	dir := benchTempDir(b, "roll")
	defer os.RemoveAll(dir)
	e, p := benchEngine(b, dir, configs)
	defer func() { e.Close() }()
	fds0, maps0 := benchProcCount(false), benchProcCount(true)
	measured := false
	measure := func(rolls int) {
		if measured || rolls == 0 || fds0 < 0 {
			return
		}
		measured = true
		b.ReportMetric(float64(benchProcCount(false)-fds0)/float64(rolls), "fds/roll")
		b.ReportMetric(float64(benchProcCount(true)-maps0)/float64(rolls), "maps/roll")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%benchRollSession == 0 {
			b.StopTimer()
			measure(i)
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			var err error
			if e, err = engine.Open(dir, engine.Options{RetentionCheckInterval: -1}); err != nil {
				b.Fatal(err)
			}
			if p, err = e.Partition(benchTopic, 0); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if _, err := p.Append(one); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	measure(min(b.N, benchRollSession))
}

// Open10000 fixture: 10,000 segments of one 1-record batch each.
const (
	benchOpenSegments = 10000
	// benchCrashTail is what the crash variant appends after the last
	// flush: the tail that recovery must scan.
	benchCrashTail = 8 * benchMiB
)

// benchManySegments builds a clean-shut-down data directory whose partition
// has n segments, each holding one batch of one 100 B record.
//
// The engine creates the topic and, at the end, opens and closes the
// directory, so its metadata (recovery point included) is the engine's own.
// The segments in between are written with package segment's Create,
// Append, Seal and Close, the calls the engine's roll makes, because rolling
// 10,000 times through the engine costs one background fdatasync and two
// msyncs per roll (about 24 s on a virtual disk) and, in one session, a
// descriptor limit of 20,000 fails at segment 6,660: a live engine keeps
// three descriptors per rolled segment.
func benchManySegments(b *testing.B, dir string, n int) {
	b.Helper()
	one := benchBuild(b, batch.None, 100, 200, 0, 1, benchBaseTS).ring[0]
	e, _ := benchEngine(b, dir, map[string]string{
		"segment.bytes":       "14", // the minimum: every append after the first rolls
		"segment.index.bytes": "1024",
	})
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	pdir := filepath.Join(dir, benchTopic+"-0")
	if err := os.RemoveAll(pdir); err != nil {
		b.Fatal(err)
	}
	if err := os.Mkdir(pdir, 0o755); err != nil {
		b.Fatal(err)
	}
	opts := segment.Options{MaxIndexBytes: 1024}
	for i := 0; i < n; i++ {
		s, err := segment.Create(pdir, int64(i), opts)
		if err != nil {
			b.Fatal(err)
		}
		batch.SetBaseOffset(one, int64(i))
		if err := s.Append(one); err != nil {
			b.Fatal(err)
		}
		if err := s.Seal(); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	d, err := e.DescribeTopic(benchTopic)
	if err == nil && (d.Partitions[0].Segments != n || d.Partitions[0].LogEndOffset != int64(n)) {
		err = fmt.Errorf("fixture has %d segments ending at %d, want %d", d.Partitions[0].Segments, d.Partitions[0].LogEndOffset, n)
	}
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
}

// benchCopyTree copies the regular files and folders under src to dst,
// skipping the lock file, as a crash would leave them (the page cache's
// view). Files for which link returns true are hard-linked instead: the
// caller vouches that nobody writes them. Files that vanish during the walk
// are skipped.
func benchCopyTree(b *testing.B, src, dst string, link func(name string) bool) {
	b.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
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
		if d.Name() == ".lock" || !d.Type().IsRegular() {
			return nil
		}
		if link != nil && link(d.Name()) {
			return os.Link(path, target)
		}
		in, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpen10000Segments times engine.Open of a data directory whose one
// partition has 10,000 segments.
//
// clean: Open + Close after a clean shutdown. Old segments open lazily (one
// stat each); only the active one is activated. open-ns/op and close-ns/op
// split the time between the two.
//
// crash: Open of a copy taken while the engine ran, so without the
// clean-shutdown marker, with the last 8 MiB appended after the last flush.
// Recovery scans (CRC and all) only the segment that holds the recovery
// point, which holds that tail: MB/s is that tail over the whole Open. The
// copy hard-links the sealed segments, which nobody writes any more, and
// copies the rest. Before each op the copy's pebble metadata is
// restored (timer stopped), since the previous op's Close advanced its
// recovery point; Close is not timed.
func BenchmarkOpen10000Segments(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "data")
	start := time.Now()
	benchManySegments(b, dir, benchOpenSegments)
	b.Logf("built %d segments in %v", benchOpenSegments, time.Since(start).Round(time.Millisecond))
	// The fixture was written below the engine, so it has no producer-state
	// snapshot yet; one open and clean close leaves what any clean shutdown
	// leaves.
	if e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1}); err != nil {
		b.Fatal(err)
	} else if err := e.Close(); err != nil {
		b.Fatal(err)
	}

	b.Run("clean", func(b *testing.B) {
		b.ReportAllocs()
		var opening time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			opening += time.Since(start)
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(opening.Nanoseconds())/float64(b.N), "open-ns/op")
		b.ReportMetric(float64((b.Elapsed()-opening).Nanoseconds())/float64(b.N), "close-ns/op")
	})

	// The crash copy: reopen, append a tail in the active segment after
	// making segments large, and copy the directory while the engine runs.
	crash := filepath.Join(root, "crash")
	pristineMeta := filepath.Join(root, "crash-meta")
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.AlterTopicConfig(benchTopic, map[string]string{"segment.bytes": strconv.Itoa(1 << 30), "max.message.bytes": strconv.Itoa(2 * benchMiB)}, nil); err != nil {
		e.Close()
		b.Fatal(err)
	}
	p, err := e.Partition(benchTopic, 0)
	if err != nil {
		e.Close()
		b.Fatal(err)
	}
	tail := benchBuild(b, batch.None, benchKiB, 16*benchKiB, benchCrashTail, 1, benchBaseTS)
	for _, rec := range tail.ring {
		if _, err := p.Append(rec); err != nil {
			e.Close()
			b.Fatal(err)
		}
	}
	// Sealed segments (all but the last) are immutable: link them; copy
	// the active segment, the metadata and the rest.
	active := segment.FileName(benchOpenSegments-1, "")
	benchCopyTree(b, dir, crash, func(name string) bool {
		return len(name) > 20 && name[20] == '.' && name[:20] < active
	})
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(crash, ".clean-shutdown")); err == nil {
		b.Fatal("crash copy has a clean-shutdown marker")
	}
	benchCopyTree(b, filepath.Join(crash, "meta"), pristineMeta, nil)

	b.Run("crash", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(tail.bytes)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := os.RemoveAll(filepath.Join(crash, "meta")); err != nil {
				b.Fatal(err)
			}
			benchCopyTree(b, pristineMeta, filepath.Join(crash, "meta"), nil)
			if err := os.Remove(filepath.Join(crash, ".clean-shutdown")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				b.Fatal(err)
			}
			b.StartTimer()
			e, err := engine.Open(crash, engine.Options{RetentionCheckInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			p, err := e.Partition(benchTopic, 0)
			if err != nil {
				b.Fatal(err)
			}
			if got, want := p.LogEndOffset(), int64(benchOpenSegments)+tail.records; got != want {
				b.Fatalf("recovered log end %d, want %d", got, want)
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
