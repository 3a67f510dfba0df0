package cleanbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/bench/enginebench"
	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/segment/batch"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	DefaultBytes          = 1 << 30 // the partition cleaned
	DefaultUniqueFraction = 0.1     // key space / records
	DefaultValueBytes     = 100
	DefaultBatchBytes     = 16 << 10  // a producer's batch.size
	DefaultSegmentBytes   = 128 << 20 // Kafka's segment.bytes is 1 GiB
	DefaultChunkBytes     = 1 << 20   // what the cleaner reads at a time
	DefaultRounds         = 3
	DefaultProduceRounds  = 2
	DefaultDuration       = 10 * time.Second
	DefaultLead           = time.Second
	DefaultCleanerBackoff = 100 * time.Millisecond
)

// Quick is the command's -quick setting: a small partition and short
// phases, a check that every part of the harness works; its figures are
// noise.
var Quick = Config{Bytes: 24 << 20, SegmentBytes: 4 << 20, Rounds: 1, ProduceRounds: 1, Duration: time.Second, Lead: 300 * time.Millisecond}

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Dir is the parent of the temporary directories (os.TempDir() when
	// empty); everything written is removed at the end.
	Dir string
	// Bytes is the size of the partition cleaned (whole batches: the
	// last may pass it).
	Bytes int64
	// UniqueFraction is the key space as a share of the records: each
	// record's key is drawn uniformly from that many keys, so a cleaning
	// keeps about that share of the records (one per key).
	UniqueFraction float64
	// ValueBytes is each record's value size; keys are KeyBytes.
	ValueBytes int
	// BatchBytes is the uncompressed size a batch is filled to, as a
	// producer's batch.size; Codec compresses it.
	BatchBytes int
	Codec      batch.Codec
	// SegmentBytes is the topic's segment.bytes.
	SegmentBytes int64
	// ChunkBytes is the plain read's read size: the cleaner's (1 MiB).
	ChunkBytes int
	// Rounds is how many fresh copies of the partition are cleaned, each
	// beside a plain read of the same segments.
	Rounds int
	// ProduceRounds is how many rounds measure produce throughput on a
	// sluiced process with and without its cleaner running, each on a
	// freshly loaded topic; -1 leaves that part out.
	ProduceRounds int
	// Duration is the producer's measured window without the cleaner
	// (with it, the window is the cleaning); Lead is how long the
	// producer runs before either window opens.
	Duration time.Duration
	Lead     time.Duration
	// CleanerBackoff is the broker's log.cleaner.backoff.ms.
	CleanerBackoff time.Duration
	// Profile takes a CPU profile of each round's cleaning (this process,
	// runtime/pprof) and reports the functions that took the most of it,
	// merged (go tool pprof -top). ProfileDir, if set, keeps the profiles
	// there, clean-round-NN.pprof (it implies Profile).
	Profile    bool
	ProfileDir string
	// Sluiced is a prebuilt broker binary; empty builds cmd/sluiced of
	// the module the harness runs in. BrokerConfig is its properties
	// file; empty means cmd/sluiced/sluiced.properties of the module.
	Sluiced      string
	BrokerConfig string
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any) `json:"-"`
}

func (c *Config) setDefaults() error {
	if c.Bytes <= 0 {
		c.Bytes = DefaultBytes
	}
	if c.UniqueFraction <= 0 {
		c.UniqueFraction = DefaultUniqueFraction
	}
	if c.ValueBytes <= 0 {
		c.ValueBytes = DefaultValueBytes
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = DefaultChunkBytes
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.ProduceRounds == 0 {
		c.ProduceRounds = DefaultProduceRounds
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Lead <= 0 {
		c.Lead = DefaultLead
	}
	if c.CleanerBackoff <= 0 {
		c.CleanerBackoff = DefaultCleanerBackoff
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.ProfileDir != "" {
		c.Profile = true
	}
	switch {
	case c.UniqueFraction > 1:
		return fmt.Errorf("cleanbench: unique fraction %v: at most 1", c.UniqueFraction)
	case c.BatchBytes < batch.HeaderSize+recordBound(c.ValueBytes):
		return fmt.Errorf("cleanbench: a %d-byte batch cannot hold a %d-byte record", c.BatchBytes, recordBound(c.ValueBytes))
	case c.BatchBytes > 1<<20:
		return fmt.Errorf("cleanbench: batch of %d bytes: at most 1 MiB (the producer's max.request.size)", c.BatchBytes)
	case !c.Codec.Valid():
		return fmt.Errorf("cleanbench: invalid codec %v", c.Codec)
	case c.SegmentBytes < int64(c.BatchBytes):
		return fmt.Errorf("cleanbench: segment.bytes %d is smaller than a batch (%d)", c.SegmentBytes, c.BatchBytes)
	case c.Bytes < 2*c.SegmentBytes:
		return fmt.Errorf("cleanbench: %d bytes fill fewer than two segments of %d: nothing would be cleanable", c.Bytes, c.SegmentBytes)
	}
	return nil
}

// Report is what Run measured.
type Report struct {
	Command    string              `json:"command"`
	Machine    enginebench.Machine `json:"machine"`
	Start      time.Time           `json:"start"`
	End        time.Time           `json:"end"`
	LoadBefore string              `json:"load_before"`
	LoadAfter  string              `json:"load_after"`
	Config     Config              `json:"config"`
	// CacheDropped says the page cache was dropped before each cold
	// read (as root).
	CacheDropped bool `json:"cache_dropped"`
	// Partition is the partition every round cleans a copy of;
	// FirstRead the untimed plain read of it before the rounds.
	Partition Written    `json:"partition"`
	FirstRead ReadResult `json:"first_read"`
	// DistinctKeys is how many keys the records of the cleanable
	// segments hold: what a cleaning must keep.
	DistinctKeys int64 `json:"distinct_keys"`
	// Cleans are the rounds of plain read and cleaning.
	Cleans []CleanRound `json:"cleans"`
	// Profile is where the cleanings' CPU went (Config.Profile).
	Profile *Profile `json:"profile,omitempty"`
	// Broker is the broker part (nil when left out).
	Broker *BrokerPart `json:"broker,omitempty"`
	// Problems are failed checks; a good run has none.
	Problems []string `json:"problems"`
}

// Run writes the partition, measures its cleaning against a plain read of
// it, then produce throughput on a broker with and without its cleaner
// running.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	parent := cfg.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "sluice-cleanbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: enginebench.DescribeMachine(dir), Start: time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(), Config: cfg, Problems: []string{}}
	rep.Config.Logf = nil
	w := newWorkload(cfg)

	master := filepath.Join(dir, "master")
	cfg.Logf("cleanbench: writing %d bytes of %d-byte values in %d-byte batches (%s), %.0f%% unique keys",
		cfg.Bytes, cfg.ValueBytes, cfg.BatchBytes, cfg.Codec, 100*cfg.UniqueFraction)
	if rep.Partition, err = writePartition(master, w); err != nil {
		return nil, fmt.Errorf("writing the partition: %w", err)
	}
	cfg.Logf("cleanbench: %d records, %d keys, %d segments, %.1f s", rep.Partition.Records, rep.Partition.KeySpace,
		rep.Partition.Segments, rep.Partition.Seconds)
	rep.DistinctKeys = distinctKeys(w.seed, w.space, rep.Partition.CleanableRecords)
	// The first cold read of segments the engine has just written can run
	// far slower than every later one (a quarter of their speed on a VM
	// here: the layers below the page cache still busy with the writes);
	// one untimed read gives every round the same start.
	settleCache()
	segs, err := segmentFiles(partitionDir(master))
	if err != nil {
		return nil, err
	}
	if rep.FirstRead, err = plainRead(segs[:len(segs)-1], cfg.ChunkBytes); err != nil {
		return nil, err
	}
	var profiles []string
	if cfg.Profile {
		profDir := cfg.ProfileDir
		if profDir == "" {
			profDir = filepath.Join(dir, "profiles")
		}
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return nil, err
		}
		for i := range cfg.Rounds {
			profiles = append(profiles, filepath.Join(profDir, fmt.Sprintf("clean-round-%02d.pprof", i+1)))
		}
	}

	for i := range cfg.Rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		round := CleanRound{Index: i + 1, Order: cleanOrder(i + 1)}
		if profiles != nil {
			round.Profile = profiles[i]
		}
		if err := cleanRound(ctx, cfg, rep, master, filepath.Join(dir, "copy"), &round); err != nil {
			return nil, fmt.Errorf("cleaning round %d: %w", round.Index, err)
		}
		cfg.Logf("cleanbench: round %d: plain read %.1f MB/s, cleaning %.1f MB/s of log (%.1f s), clean/plain %.3f",
			round.Index, round.Plain.MBps, round.Clean.LogMBps, round.Clean.Seconds, round.Ratio)
		rep.Cleans = append(rep.Cleans, round)
	}
	if err := os.RemoveAll(master); err != nil {
		return nil, err
	}
	if profiles != nil {
		cfg.Logf("cleanbench: reading the cleanings' CPU profiles")
		if rep.Profile, err = topFunctions(ctx, profiles); err != nil {
			return nil, err
		}
		if cfg.ProfileDir != "" {
			rep.Profile.Files = profiles
		}
	}

	if cfg.ProduceRounds > 0 {
		bp, err := runBroker(ctx, cfg, w, rep, filepath.Join(dir, "broker"))
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		rep.Broker = bp
	}
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

// problem records a failed check.
func (rep *Report) problem(format string, args ...any) {
	rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
}

// errNoEvent: the broker did not log the cleaning in time.
var errNoEvent = errors.New("no \"log cleaned\" line from the broker")
