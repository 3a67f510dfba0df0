package cleanbench

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// KeyBytes is the size of every key: "k" and 11 decimal digits of the
// key's number.
const KeyBytes = 12

// topicName is the compacted topic of the in-process engine.
const topicName = "cleanbench"

// appendKey appends key number k's bytes.
func appendKey(dst []byte, k int64) []byte {
	dst = append(dst, 'k')
	var digits [20]byte
	s := strconv.AppendInt(digits[:0], k, 10)
	for range KeyBytes - 1 - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// recordBound is at most what a record of a key and a value of n bytes
// takes in a batch: the two, and the record's length, attributes,
// timestamp and offset deltas, lengths and header count as varints.
func recordBound(n int) int { return KeyBytes + n + 24 }

// keyStream draws the records' key numbers uniformly from [0, space),
// the same sequence for the same seed.
type keyStream struct {
	rng   *rand.Rand
	space int64
}

func newKeyStream(seed uint64, space int64) *keyStream {
	return &keyStream{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), space: space}
}

func (s *keyStream) next() int64 { return s.rng.Int64N(s.space) }

// distinctKeys counts the distinct keys among the first n draws of the
// stream seed makes over space: the records a cleaning of those n records
// keeps, one per key.
func distinctKeys(seed uint64, space, n int64) int64 {
	seen := make([]uint64, (space+63)/64)
	ks := newKeyStream(seed, space)
	var distinct int64
	for range n {
		k := ks.next()
		if seen[k/64]&(1<<(k%64)) == 0 {
			seen[k/64] |= 1 << (k % 64)
			distinct++
		}
	}
	return distinct
}

// expectedDistinct is how many distinct keys n uniform draws from space
// keys hold on average: space * (1 - (1 - 1/space)^n).
func expectedDistinct(space, n int64) float64 {
	if space <= 0 {
		return 0
	}
	return float64(space) * -math.Expm1(float64(n)*math.Log1p(-1/float64(space)))
}

// workload is what every writer of the partition shares: the key space,
// the seed of the key sequence and the values.
type workload struct {
	cfg     Config
	seed    uint64
	space   int64 // keys
	planned int64 // records the volume holds, estimated
	values  [][]byte
}

// words make values that compress about as well as JSON logs (as
// bench/enginebench's do), so that a codec has work to do.
var words = []string{
	`"user_id":`, `"session":`, `"event":"page_view"`, `"event":"click"`, `"path":"/checkout"`,
	`"path":"/cart"`, `"status":200`, `"status":404`, `"region":"eu-west-1"`, `"region":"us-east-2"`,
	`"ua":"Mozilla/5.0"`, `"latency_ms":`, `"ok":true`, `"ok":false`, `"items":[`, `],`, `{`, `}`, `,`,
}

func newWorkload(cfg Config) *workload {
	w := &workload{cfg: cfg, seed: 0xc1ea2}
	rng := rand.New(rand.NewPCG(uint64(cfg.ValueBytes), 7))
	w.values = make([][]byte, 4096)
	for i := range w.values {
		v := make([]byte, 0, cfg.ValueBytes+32)
		for len(v) < cfg.ValueBytes {
			if rng.IntN(3) == 0 {
				v = strconv.AppendUint(v, rng.Uint64N(1_000_000_000), 10)
			} else {
				v = append(v, words[rng.IntN(len(words))]...)
			}
		}
		w.values[i] = v[:cfg.ValueBytes:cfg.ValueBytes]
	}
	w.planned = w.plan()
	w.space = keySpace(w.planned, cfg.UniqueFraction)
	return w
}

// keySpace is the number of keys for records records of which a share
// unique are to survive a cleaning: at least one.
func keySpace(records int64, unique float64) int64 {
	return max(int64(math.Round(float64(records)*unique)), 1)
}

// value is record i's value.
func (w *workload) value(i int64) []byte { return w.values[i%int64(len(w.values))] }

// fill appends records to b until the batch is full, as a producer fills
// batch.size; next gives each record's key number, and i counts the
// records.
func (w *workload) fill(b *batch.Builder, ts int64, i *int64, next func() int64, key []byte) []byte {
	bound := recordBound(w.cfg.ValueBytes)
	for b.Records() == 0 || b.Size()+bound <= w.cfg.BatchBytes {
		key = appendKey(key[:0], next())
		b.Append(ts, key, w.value(*i), nil)
		*i++
	}
	return key
}

// plan estimates how many records Config.Bytes of batches hold, from one
// batch built as the writer builds them.
func (w *workload) plan() int64 {
	b := batch.NewBuilder(w.cfg.Codec)
	var i int64
	w.fill(b, time.Now().UnixMilli(), &i, func() int64 { return i }, nil)
	out, err := b.Build()
	if err != nil {
		panic("cleanbench: building a batch: " + err.Error()) // only a bug gets here
	}
	batches := (w.cfg.Bytes + int64(len(out)) - 1) / int64(len(out))
	return batches * int64(b.Records())
}

// Written describes the partition as the engine wrote it.
type Written struct {
	Records  int64   `json:"records"`
	Batches  int64   `json:"batches"`
	Bytes    int64   `json:"bytes"` // stored
	KeySpace int64   `json:"key_space"`
	Seconds  float64 `json:"seconds"`
	// Segments are the segment files' sizes, in offset order; every one
	// but the last (the active segment) is cleanable: CleanableBytes,
	// CleanableRecords (the active segment's base offset).
	Segments          int     `json:"segments"`
	SegmentSizes      []int64 `json:"segment_sizes"`
	CleanableSegments int     `json:"cleanable_segments"`
	CleanableBytes    int64   `json:"cleanable_bytes"`
	CleanableRecords  int64   `json:"cleanable_records"`
}

// writePartition writes the workload's records to partition 0 of a
// compacted topic of a fresh engine in dir, in the order every writer
// uses, flushes it and closes the engine.
func writePartition(dir string, w *workload) (Written, error) {
	c := w.cfg
	out := Written{KeySpace: w.space}
	e, err := engine.Open(dir, engine.Options{CleanerDisabled: true})
	if err != nil {
		return out, err
	}
	defer e.Close()
	if err := e.CreateTopic(topicName, 1, map[string]string{"cleanup.policy": "compact",
		"segment.bytes": strconv.FormatInt(c.SegmentBytes, 10)}); err != nil {
		return out, err
	}
	p, err := e.Partition(topicName, 0)
	if err != nil {
		return out, err
	}
	start := time.Now()
	b := batch.NewBuilder(c.Codec)
	ks := newKeyStream(w.seed, w.space)
	ts := start.UnixMilli()
	var key []byte
	for out.Bytes < c.Bytes {
		b.Reset()
		key = w.fill(b, ts, &out.Records, ks.next, key)
		bb, err := b.Build()
		if err != nil {
			return out, err
		}
		if _, err := p.Append(bb); err != nil {
			return out, err
		}
		out.Bytes += int64(len(bb))
		out.Batches++
	}
	if err := p.Flush(); err != nil {
		return out, err
	}
	if err := e.Close(); err != nil {
		return out, err
	}
	out.Seconds = time.Since(start).Seconds()
	segs, err := segmentFiles(partitionDir(dir))
	if err != nil {
		return out, err
	}
	if len(segs) < 2 {
		return out, fmt.Errorf("%d segment(s): nothing is cleanable", len(segs))
	}
	out.Segments = len(segs)
	for i, s := range segs {
		out.SegmentSizes = append(out.SegmentSizes, s.size)
		if i < len(segs)-1 {
			out.CleanableBytes += s.size
		}
	}
	out.CleanableSegments = len(segs) - 1
	out.CleanableRecords = segs[len(segs)-1].base
	if sum := sumSizes(segs); sum != out.Bytes {
		return out, fmt.Errorf("the segments hold %d bytes, %d were appended", sum, out.Bytes)
	}
	return out, nil
}

// partitionDir is the directory of the topic's partition 0 in the engine
// directory dir.
func partitionDir(dir string) string { return filepath.Join(dir, topicName+"-0") }

// segmentFile is one segment's log file.
type segmentFile struct {
	path string
	base int64
	size int64
}

// segmentFiles lists a partition directory's segment log files
// (BASE.log, BASE the 20-digit base offset) in offset order.
func segmentFiles(dir string) ([]segmentFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []segmentFile
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, segmentFile{path: filepath.Join(dir, e.Name()), base: base, size: info.Size()})
	}
	slices.SortFunc(out, func(a, b segmentFile) int { return cmp.Compare(a.base, b.base) })
	return out, nil
}

func sumSizes(segs []segmentFile) int64 {
	var n int64
	for _, s := range segs {
		n += s.size
	}
	return n
}
