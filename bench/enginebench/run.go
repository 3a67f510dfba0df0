package enginebench

import (
	"errors"
	"fmt"
	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/units"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// Defaults for Config.
const (
	DefaultBytes        = 2 << 30   // throughput mode volume
	DefaultDurableBytes = 256 << 20 // durable mode volume: every batch waits for a sync
	DefaultRecordBytes  = 1 << 10
	DefaultBatchBytes   = 64 << 10
	DefaultRingBytes    = 64 << 20 // throughput mode: one ring
	DefaultDurableRing  = 4 << 20  // durable mode: one ring per producer
	// TargetRatio is the goal: the engine reaches at least this fraction of
	// the plain sequential write, fdatasync included.
	TargetRatio = 0.8
)

// DefaultProducers are the producer counts of durable mode.
var DefaultProducers = []int{1, 4, 16}

// Config sets up a run. The zero value runs the default throughput mode in
// os.TempDir().
type Config struct {
	// Dir is where the run makes its temporary directory; "" is
	// os.TempDir(). Everything written is removed at the end.
	Dir string
	// Bytes is the volume each run writes (rounded up to whole batches);
	// 0 is DefaultBytes, or DefaultDurableBytes when Durable.
	Bytes int64
	// RecordBytes is the size of each record's value (no key, no headers).
	RecordBytes int
	// BatchBytes is the uncompressed size a batch is filled up to.
	BatchBytes int
	// Codec compresses the batches (the engine stores them as built).
	Codec batch.Codec
	// RingBytes is how many uncompressed bytes of distinct batches are
	// prebuilt and cycled through; per producer in durable mode.
	RingBytes int64
	// Durable appends with flush.on.ack=true from each count of Producers
	// concurrent producers, against plain writes each followed by
	// fdatasync.
	Durable   bool
	Producers []int
	// TopicConfigs overrides the engine's topic configs (Kafka names, as
	// for engine.CreateTopic), e.g. segment.bytes. Defaults otherwise.
	TopicConfigs map[string]string
	// Rounds repeats the measurement, alternating which side runs first;
	// the report gives every round and the medians. 0 is 1.
	Rounds int
	// CPUProfile, if set, receives a CPU profile of the first round's
	// engine runs only.
	CPUProfile io.Writer
	// StallThreshold, if positive, makes the engine runs write to
	// StallWriter the stacks of Sluice's goroutines whenever an append has
	// been in flight that long (at most a few times a run), to show where
	// a slow append waits. Off-CPU waits do not show in a CPU profile.
	StallThreshold time.Duration
	StallWriter    io.Writer
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	if c.Bytes == 0 {
		c.Bytes = DefaultBytes
		if c.Durable {
			c.Bytes = DefaultDurableBytes
		}
	}
	if c.RecordBytes == 0 {
		c.RecordBytes = DefaultRecordBytes
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.RingBytes == 0 {
		c.RingBytes = DefaultRingBytes
		if c.Durable {
			c.RingBytes = DefaultDurableRing
		}
	}
	if c.Rounds == 0 {
		c.Rounds = 1
	}
	if len(c.Producers) == 0 {
		c.Producers = DefaultProducers
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case c.Bytes < 0 || c.RecordBytes < 0 || c.BatchBytes < 0 || c.RingBytes < 0 || c.Rounds < 0:
		return c, errors.New("enginebench: sizes must be positive")
	case c.BatchBytes < batch.HeaderSize+c.RecordBytes+16:
		return c, fmt.Errorf("enginebench: a %d-byte batch cannot hold a %d-byte record", c.BatchBytes, c.RecordBytes)
	case c.BatchBytes > 64<<20:
		return c, fmt.Errorf("enginebench: batch of %d bytes: at most 64 MiB", c.BatchBytes)
	case !c.Codec.Valid():
		return c, fmt.Errorf("enginebench: invalid codec %v", c.Codec)
	}
	for _, p := range c.Producers {
		if p < 1 {
			return c, fmt.Errorf("enginebench: %d producers", p)
		}
	}
	return c, nil
}

// ring is a set of prebuilt batches, cycled through in order.
type ring struct {
	batches [][]byte
	records []int // records in each batch
}

// clone copies the batches: Append rewrites baseOffset in place, so
// concurrent producers each need their own.
func (r *ring) clone() *ring {
	c := &ring{batches: make([][]byte, len(r.batches)), records: r.records}
	for i, b := range r.batches {
		c.batches[i] = append([]byte(nil), b...)
	}
	return c
}

// plan is the sequence of batches a run writes: batch i is ring entry
// i % len(ring), for count batches.
type plan struct {
	count   int64
	bytes   int64
	records int64
}

func makePlan(r *ring, volume int64) plan {
	var p plan
	for p.bytes < volume {
		i := p.count % int64(len(r.batches))
		p.bytes += int64(len(r.batches[i]))
		p.records += int64(r.records[i])
		p.count++
	}
	return p
}

// words make values that compress about as well as JSON logs, so that the
// codecs have work to do.
var words = []string{
	`"user_id":`, `"session":`, `"event":"page_view"`, `"event":"click"`, `"path":"/checkout"`,
	`"path":"/cart"`, `"status":200`, `"status":404`, `"region":"eu-west-1"`, `"region":"us-east-2"`,
	`"ua":"Mozilla/5.0"`, `"latency_ms":`, `"ok":true`, `"ok":false`, `"items":[`, `],`, `{`, `}`, `,`,
}

func makeValue(rng *rand.Rand, n int) []byte {
	v := make([]byte, 0, n+32)
	for len(v) < n {
		if rng.IntN(3) == 0 {
			v = strconv.AppendUint(v, rng.Uint64N(1_000_000_000), 10)
		} else {
			v = append(v, words[rng.IntN(len(words))]...)
		}
	}
	return v[:n]
}

// buildRing builds batches until ringBytes of uncompressed batches exist,
// timing only the builder's Append and Build calls.
func buildRing(c Config) (*ring, BuilderResult) {
	rng := rand.New(rand.NewPCG(uint64(c.RecordBytes), uint64(c.BatchBytes)))
	values := make([][]byte, 64)
	for i := range values {
		values[i] = makeValue(rng, c.RecordBytes)
	}
	b := batch.NewBuilder(c.Codec)
	r := &ring{}
	res := BuilderResult{Codec: c.Codec.String()}
	ts := time.Now().UnixMilli()
	var took time.Duration
	for res.UncompressedBytes < c.RingBytes || len(r.batches) == 0 {
		start := time.Now()
		b.Reset()
		for b.Records() == 0 || b.Size()+c.RecordBytes+16 <= c.BatchBytes {
			b.Append(ts, nil, values[rng.IntN(len(values))], nil)
			ts++
		}
		out, err := b.Build()
		took += time.Since(start)
		if err != nil {
			panic("enginebench: building a batch: " + err.Error()) // only a bug gets here
		}
		r.batches = append(r.batches, append([]byte(nil), out...))
		r.records = append(r.records, b.Records())
		res.Batches++
		res.Records += int64(b.Records())
		res.UncompressedBytes += int64(b.Size())
		res.Bytes += int64(len(out))
	}
	res.Seconds = took.Seconds()
	res.MBps = mbps(res.UncompressedBytes, took)
	res.RecordsPerSec = float64(res.Records) / took.Seconds()
	return r, res
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// Run measures the engine against plain sequential writes as c says.
func Run(c Config) (*Report, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(c.Dir, "enginebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rep := &Report{Machine: DescribeMachine(tmp), Durable: c.Durable, Codec: c.Codec.String(),
		RecordBytes: c.RecordBytes, BatchBytes: c.BatchBytes, RequestedBytes: c.Bytes,
		Rounds: c.Rounds, TargetRatio: TargetRatio, TopicConfigs: c.TopicConfigs, LoadBefore: hostinfo.LoadAverage()}
	c.Logf("building %s of %s batches (%d-byte records, %s)...", units.FormatSize(c.RingBytes), units.FormatSize(int64(c.BatchBytes)), c.RecordBytes, c.Codec)
	r, br := buildRing(c)
	rep.Builder = br
	p := makePlan(r, c.Bytes)
	rep.Batches, rep.Bytes, rep.Records = p.count, p.bytes, p.records
	rep.AvgBatchBytes = float64(p.bytes) / float64(p.count)

	producers := []int{1}
	if c.Durable {
		producers = c.Producers
	}
	for round := 1; round <= c.Rounds; round++ {
		var plainRun Result
		var engineRuns []Result
		doPlain := func() error {
			c.Logf("round %d: plain: %s in %d writes (fdatasync after each: %v)...", round, units.FormatSize(p.bytes), p.count, c.Durable)
			plainRun, err = runPlain(tmp, r, p, c.Durable)
			return err
		}
		doEngine := func() error {
			// Only the first round is profiled: a profile cannot resume.
			stop := func() {}
			if round == 1 {
				stop = startProfile(c.CPUProfile)
			}
			defer stop()
			for _, n := range producers {
				c.Logf("round %d: engine: %s in %d appends from %d producer(s)...", round, units.FormatSize(p.bytes), p.count, n)
				res, err := runEngine(tmp, r, p, c, n)
				if err != nil {
					return err
				}
				engineRuns = append(engineRuns, res)
			}
			return nil
		}
		// Alternate the order so that neither side always runs first.
		steps := []func() error{doPlain, doEngine}
		if round%2 == 0 {
			steps[0], steps[1] = doEngine, doPlain
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return nil, err
			}
		}
		plainRun.Round = round
		rep.Runs = append(rep.Runs, plainRun)
		for _, e := range engineRuns {
			e.Round = round
			e.compare(plainRun)
			rep.Runs = append(rep.Runs, e)
		}
	}
	rep.LoadAfter = hostinfo.LoadAverage()
	rep.summarize()
	return rep, nil
}

func startProfile(w io.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(w); err != nil {
		return func() {}
	}
	return pprof.StopCPUProfile
}

// runPlain writes the plan's batches to one file with one Write each, then
// fdatasync; with syncEach, fdatasync follows every write.
func runPlain(dir string, r *ring, p plan, syncEach bool) (Result, error) {
	res := Result{Name: "plain write", Kind: "plain", Producers: 1}
	if syncEach {
		res.Name = "plain write+fdatasync each"
	}
	path := filepath.Join(dir, "plain.data")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, err
	}
	defer os.Remove(path)
	defer f.Close()
	lat := make([]time.Duration, 0, p.count)
	syncAll()
	start := time.Now()
	last := start
	for i := int64(0); i < p.count; i++ {
		b := r.batches[i%int64(len(r.batches))]
		if _, err := f.Write(b); err != nil {
			return res, fmt.Errorf("plain write: %w", err)
		}
		if syncEach {
			if err := fdatasync(f); err != nil {
				return res, fmt.Errorf("plain fdatasync: %w", err)
			}
		}
		now := time.Now()
		lat = append(lat, now.Sub(last))
		last = now
	}
	written := time.Since(start)
	if err := fdatasync(f); err != nil {
		return res, fmt.Errorf("plain fdatasync: %w", err)
	}
	total := time.Since(start)
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.fill(p, written, total)
	res.latencies(lat)
	res.StoredBytes = fi.Size()
	return res, nil
}

// runEngine appends the plan's batches to one partition of a fresh engine
// from producers goroutines, then flushes the partition. With c.Durable the
// topic has flush.on.ack=true.
func runEngine(dir string, r *ring, p plan, c Config, producers int) (Result, error) {
	res := Result{Name: "engine append", Kind: "engine", Producers: producers}
	configs := map[string]string{
		"max.message.bytes": strconv.Itoa(c.BatchBytes + 1<<20),
	}
	if c.Durable {
		res.Name = "engine append, flush.on.ack"
		configs["flush.on.ack"] = "true"
	}
	for k, v := range c.TopicConfigs {
		configs[k] = v
	}
	data := filepath.Join(dir, "engine")
	defer os.RemoveAll(data)
	e, err := engine.Open(data, engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		return res, err
	}
	defer e.Close()
	const topic = "enginebench"
	if err := e.CreateTopic(topic, 1, configs); err != nil {
		return res, err
	}
	part, err := e.Partition(topic, 0)
	if err != nil {
		return res, err
	}
	rings := []*ring{r}
	for len(rings) < producers {
		rings = append(rings, r.clone())
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, producers)
	lats := make([][]time.Duration, producers)
	for g := range lats {
		lats[g] = make([]time.Duration, 0, p.count/int64(producers)+1)
	}
	watch := newStallWatch(c.StallThreshold, c.StallWriter, producers)
	defer watch.close()
	syncAll()
	start := time.Now()
	for g := 0; g < producers; g++ {
		wg.Add(1)
		go func(mine *ring) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= p.count {
					return
				}
				t0 := time.Now()
				watch.begin(g)
				_, err := part.Append(mine.batches[i%int64(len(mine.batches))])
				watch.end(g)
				if err != nil {
					errs[g] = err
					next.Store(p.count) // stop the others
					return
				}
				lats[g] = append(lats[g], time.Since(t0))
			}
		}(rings[g])
	}
	wg.Wait()
	written := time.Since(start)
	watch.close()
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("engine append: %w", err)
	}
	if err := part.Flush(); err != nil {
		return res, fmt.Errorf("engine flush: %w", err)
	}
	total := time.Since(start)
	res.fill(p, written, total)
	res.latencies(slices.Concat(lats...))
	d, err := e.DescribeTopic(topic)
	if err != nil {
		return res, err
	}
	res.StoredBytes = d.Partitions[0].SizeBytes
	res.Segments = d.Partitions[0].Segments
	if got := d.Partitions[0].LogEndOffset; got != p.records {
		return res, fmt.Errorf("engine log ends at offset %d, want %d records", got, p.records)
	}
	if err := e.Close(); err != nil {
		return res, err
	}
	return res, nil
}
