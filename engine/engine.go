package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/segment/fsys"
)

// Defaults for Options.
const (
	DefaultMaintenanceInterval    = time.Second
	DefaultRetentionCheckInterval = 5 * time.Minute // log.retention.check.interval.ms
	// DefaultMaxPartitions is the default cap on one topic's partitions
	// (the broker's max.partitions.per.topic): high enough for a broker
	// of 100,000 partitions in one topic. Creates are bounded by the
	// process's limits as well (Limits).
	DefaultMaxPartitions      = 100000
	DefaultSegmentIdleTimeout = 5 * time.Minute

	DefaultCleanerThreads          = 1                // log.cleaner.threads
	DefaultCleanerDedupeBufferSize = 128 << 20        // log.cleaner.dedupe.buffer.size
	DefaultCleanerBackoff          = 15 * time.Second // log.cleaner.backoff.ms
	// MinCleanerDedupeBufferPerThread is the least dedupe buffer each
	// cleaner thread may get, as Kafka requires.
	MinCleanerDedupeBufferPerThread = 1 << 20
)

// cleanShutdownFile marks a data directory whose every log was flushed and
// closed cleanly; Open trusts such logs without scanning them.
const cleanShutdownFile = ".clean-shutdown"

// Options configure an Engine. The zero value is ready to use.
type Options struct {
	// Logger receives the engine's structured logs. Nil discards them.
	Logger *slog.Logger
	// TopicDefaults overrides Kafka's topic config defaults for every
	// topic, with topic-level names ("retention.ms", "segment.bytes", ...).
	// The broker fills it from log.retention.ms and friends.
	TopicDefaults map[string]string
	// Now is the clock; nil means time.Now. Tests inject their own.
	Now func() time.Time
	// MaintenanceInterval is how often flush.ms is checked.
	MaintenanceInterval time.Duration
	// RetentionCheckInterval is how often retention runs
	// (log.retention.check.interval.ms). Negative disables the background
	// run; EnforceRetention still works.
	RetentionCheckInterval time.Duration
	// MaxPartitions caps the partitions of one topic
	// (max.partitions.per.topic). Zero means DefaultMaxPartitions.
	MaxPartitions int32
	// ReservedDescriptors is how many file descriptors the process needs
	// besides the engine's (the broker's max.connections and the table
	// files of its other stores): Open subtracts them from RLIMIT_NOFILE
	// to size the descriptor budget (see Limits).
	ReservedDescriptors int64
	// ProducerIDExpiration is how long a partition remembers an idempotent
	// producer that stopped writing (producer.id.expiration.ms, one day by
	// default). Negative never forgets.
	ProducerIDExpiration time.Duration
	// SegmentIdleTimeout is how long a sealed segment stays open (a file
	// descriptor and two index mappings) after its last read. Negative
	// keeps segments open until Close.
	SegmentIdleTimeout time.Duration
	// ActiveSegmentIdleTimeout is how long a partition's active segment
	// keeps its files (a descriptor and two index mappings) without an
	// append or a read; it is then parked and reopens on the next use.
	// Zero means DefaultActiveSegmentIdleTimeout; negative never parks an
	// idle one (the handle budget still may).
	ActiveSegmentIdleTimeout time.Duration
	// MaxOpenSegments is the handle budget: how many segments may hold
	// their files at once, past which the least recently used are closed
	// or parked (see handles.go). Zero sizes it from the process's limits
	// (Limits); negative sets no budget.
	MaxOpenSegments int64
	// Replicated makes every partition a replica of a cluster: its high
	// watermark moves only by SetHighWatermark (the smallest log end in
	// the ISR), batches appended as leader carry the leader epoch, and the
	// leader-epoch history is kept beside the log. Without it the high
	// watermark follows each append, as on a single node.
	Replicated bool
	// OnStorageError is called once per partition that a storage error
	// takes offline (see Partition.Offline). It may run with the
	// partition's locks held: it must not call back into the partition.
	OnStorageError func(topic string, partition int32, err error)
	// FS is the file system segments and their indexes live on; nil is
	// the real one. Tests inject faults with fsys.Faulty.
	FS fsys.FS
	// OnFlush, when set, is told how long each fsync of a partition's log
	// took (flush.ms, flush.messages, rolls, flush.on.ack's group
	// commits). It runs on the flushing goroutine and must be quick.
	OnFlush func(time.Duration)

	// The log cleaner compacts the partitions of topics whose
	// cleanup.policy includes compact (Kafka's log.cleaner.* properties).

	// CleanerDisabled is log.cleaner.enable=false: no partition is
	// compacted, so compacted topics grow without bound.
	CleanerDisabled bool
	// CleanerThreads is log.cleaner.threads: how many partitions are
	// cleaned at once. Zero or negative means DefaultCleanerThreads (1).
	CleanerThreads int
	// CleanerDedupeBufferSize is log.cleaner.dedupe.buffer.size: the
	// memory, in bytes, of the offset maps of all cleaner threads
	// together; each thread gets an equal share, which must be at least
	// MinCleanerDedupeBufferPerThread. A map holds one entry per distinct
	// key (a hash of the key and the offset of its newest record), so the
	// share bounds how many keys one pass over a partition can
	// deduplicate.
	// Zero or negative means DefaultCleanerDedupeBufferSize (128 MiB).
	CleanerDedupeBufferSize int64
	// CleanerIOMaxBytesPerSecond is log.cleaner.io.max.bytes.per.second:
	// the cleaner threads together read and write at most this many bytes
	// a second, on average. Zero, the default, means no limit, as do
	// +Inf and math.MaxFloat64 (Kafka's default, its way of saying so);
	// negative or NaN is an error.
	CleanerIOMaxBytesPerSecond float64
	// CleanerBackoff is log.cleaner.backoff.ms: how long a cleaner thread
	// sleeps when no partition needs cleaning. Zero or negative means
	// DefaultCleanerBackoff (15 s).
	CleanerBackoff time.Duration
}

// cleanerUnlimited reports whether a CleanerIOMaxBytesPerSecond means no
// limit.
func cleanerUnlimited(rate float64) bool {
	return rate == 0 || rate >= math.MaxFloat64
}

// validateCleaner checks the cleaner's options once their defaults are
// in.
func (o *Options) validateCleaner() error {
	if r := o.CleanerIOMaxBytesPerSecond; !(r >= 0) { // NaN fails too
		return fmt.Errorf("engine options: %w: CleanerIOMaxBytesPerSecond %v: must be positive, or 0 for no limit", ErrInvalidConfig, r)
	}
	if share := o.CleanerDedupeBufferSize / int64(o.CleanerThreads); share < MinCleanerDedupeBufferPerThread {
		return fmt.Errorf("engine options: %w: CleanerDedupeBufferSize %d over %d CleanerThreads leaves %d bytes a thread, below the %d each needs",
			ErrInvalidConfig, o.CleanerDedupeBufferSize, o.CleanerThreads, share, MinCleanerDedupeBufferPerThread)
	}
	return nil
}

// Engine is Sluice's storage engine: topics of partitioned logs in one data
// directory. It is safe for concurrent use.
type Engine struct {
	dir      string
	opts     Options
	logger   *slog.Logger
	meta     *metaStore
	lock     *os.File
	defaults TopicConfig

	mu     sync.RWMutex
	topics map[string]*topic
	closed bool

	bg       sync.WaitGroup
	stop     chan struct{}
	stopping atomic.Bool

	recovery RecoveryStats // written by load alone, before Open returns
	handles  handleState   // the handle budget of every open segment
	limits   Limits        // set by Open, read-only after

	cleaned cleanerTotals
	// cleanerThrottle paces all cleanings together, the background
	// cleaner's threads and Partition.Clean alike; nil when unlimited.
	cleanerThrottle *throttle
	// readers lends batch readers to checkKeyed, which runs outside the
	// partitions' locks, on every appender's goroutine.
	readers sync.Pool
	// cleanerHook, set by tests only, is called at each step of a
	// cleaned segment's replacement.
	cleanerHook func(step string)
}

// topic is an open topic: its persisted description, effective config and
// partitions. meta and partitions change only under Engine.mu (write) and
// are read under it; cfg is read lock-free by the append path.
type topic struct {
	name       string
	meta       *topicMeta
	cfg        atomic.Pointer[TopicConfig]
	partitions []*Partition
}

// Open opens the data directory dir, creating it if needed, and recovers
// every partition. Only one Engine may hold a directory at a time.
func Open(dir string, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaintenanceInterval <= 0 {
		opts.MaintenanceInterval = DefaultMaintenanceInterval
	}
	if opts.RetentionCheckInterval == 0 {
		opts.RetentionCheckInterval = DefaultRetentionCheckInterval
	}
	if opts.MaxPartitions <= 0 {
		opts.MaxPartitions = DefaultMaxPartitions
	}
	if opts.ProducerIDExpiration == 0 {
		opts.ProducerIDExpiration = 24 * time.Hour
	}
	if opts.SegmentIdleTimeout == 0 {
		opts.SegmentIdleTimeout = DefaultSegmentIdleTimeout
	}
	if opts.CleanerThreads <= 0 {
		opts.CleanerThreads = DefaultCleanerThreads
	}
	if opts.CleanerDedupeBufferSize <= 0 {
		opts.CleanerDedupeBufferSize = DefaultCleanerDedupeBufferSize
	}
	if opts.CleanerBackoff <= 0 {
		opts.CleanerBackoff = DefaultCleanerBackoff
	}
	if cleanerUnlimited(opts.CleanerIOMaxBytesPerSecond) {
		opts.CleanerIOMaxBytesPerSecond = 0
	}
	if err := opts.validateCleaner(); err != nil {
		return nil, err
	}
	sys, err := readSysLimits()
	if err != nil {
		return nil, err
	}
	limits, warn, err := computeLimits(sys, opts.ReservedDescriptors)
	if err != nil {
		return nil, fmt.Errorf("engine: cannot start: %w", err)
	}
	if warn != "" {
		opts.Logger.Warn(warn, "event", "fd_limit_low")
	}
	defaults, err := applyConfigs(KafkaDefaultConfig(), opts.TopicDefaults)
	if err != nil {
		return nil, fmt.Errorf("engine defaults: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		dir:      dir,
		opts:     opts,
		logger:   opts.Logger,
		lock:     lock,
		limits:   limits,
		defaults: defaults,
		topics:   map[string]*topic{},
		stop:     make(chan struct{}),
	}
	e.cleanerThrottle = newThrottle(opts.CleanerIOMaxBytesPerSecond, time.Now, sleepUnlessStopped)
	if err := e.load(); err != nil {
		e.closeAll()
		lock.Close()
		return nil, err
	}
	e.bg.Add(1)
	go e.maintenanceLoop()
	e.startCleaners()
	return e, nil
}

func (e *Engine) load() error {
	marker := filepath.Join(e.dir, cleanShutdownFile)
	_, err := os.Stat(marker)
	clean := err == nil
	start := time.Now()
	if e.meta, err = openMeta(e.dir, e.logger); err != nil {
		return err
	}
	metas, err := e.meta.topics()
	if err != nil {
		return err
	}
	strays, err := e.sweepDataDir(metas)
	if err != nil {
		return fmt.Errorf("engine: sweep %s: %w", e.dir, err)
	}
	if err := e.meta.startPreload(); err != nil {
		return fmt.Errorf("engine: read partition state: %w", err)
	}
	defer e.meta.endPreload()
	type job struct {
		t  *topic
		id int32
	}
	var jobs []job
	var ts []*topic
	for _, m := range metas {
		t := &topic{name: m.Name, meta: m}
		ts = append(ts, t)
		cfg, err := applyConfigs(e.defaults, m.Configs)
		if err != nil {
			return fmt.Errorf("topic %s: stored config: %w", m.Name, err)
		}
		t.cfg.Store(&cfg)
		t.partitions = make([]*Partition, m.Partitions)
		for id := int32(0); id < m.Partitions; id++ {
			if m.hosts(id) {
				jobs = append(jobs, job{t, id})
			}
		}
	}
	// Partitions open in a pool, each into its own slot of its topic.
	errs := make([]error, len(jobs))
	forEachInPool(len(jobs), func(i int) {
		j := jobs[i]
		p, err := e.openPartition(j.t, j.id, clean)
		if err != nil {
			// EMFILE here means the partitions on disk outgrew the
			// limits: say which, and how to raise it.
			errs[i] = fmt.Errorf("topic %s partition %d: %w", j.t.name, j.id, resourceError(err))
			return
		}
		j.t.partitions[j.id] = p
	})
	if err := errors.Join(errs...); err != nil {
		for _, j := range jobs {
			if p := j.t.partitions[j.id]; p != nil {
				for _, s := range p.segments() {
					s.Close()
				}
			}
		}
		return err
	}
	partitions := len(jobs)
	for _, j := range jobs {
		p := j.t.partitions[j.id]
		r := &p.recovered
		if r.scanned {
			e.recovery.Recovered++
			e.recovery.TruncatedBytes += r.truncatedBytes
			e.recovery.SegmentsDeleted += r.segmentsDeleted
		}
		e.recovery.SegmentsScanned += r.segmentsScanned
		e.recovery.BytesScanned += r.bytesScanned
		if r.resumed {
			e.recovery.Resumed++
		}
	}
	for _, t := range ts {
		e.topics[t.name] = t
	}
	// From here on a crash must be noticed: drop the marker before any write.
	if clean {
		if err := os.Remove(marker); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		if err := syncDir(e.dir); err != nil {
			return err
		}
	}
	r := &e.recovery
	r.Duration, r.CleanShutdown, r.Partitions = time.Since(start), clean, partitions
	e.logger.Info("engine opened", "event", "engine_opened", "dir", e.dir, "clean_shutdown", clean,
		"topics", len(metas), "partitions", partitions, "partitions_recovered", r.Recovered,
		"truncated_bytes", r.TruncatedBytes, "segments_deleted", r.SegmentsDeleted, "segments_scanned", r.SegmentsScanned, "bytes_scanned", r.BytesScanned,
		"partitions_resumed", r.Resumed, "strays_removed", strays, "took", r.Duration,
		"fd_limit", e.limits.OpenFiles, "fd_budget", e.limits.Descriptors, "map_budget", e.limits.Mappings)
	return nil
}

const deletedSuffix = "-delete"

func (e *Engine) now() time.Time { return e.opts.Now() }

// goBackground runs fn on a goroutine that Close waits for.
func (e *Engine) goBackground(fn func()) {
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		fn()
	}()
}

func (e *Engine) maintenanceLoop() {
	defer e.bg.Done()
	e.goBackground(e.closerLoop)
	tick := time.NewTicker(e.opts.MaintenanceInterval)
	defer tick.Stop()
	lastRetention := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		retention := e.opts.RetentionCheckInterval > 0 && time.Since(lastRetention) >= e.opts.RetentionCheckInterval
		if retention {
			lastRetention = time.Now()
		}
		now := e.now()
		for _, p := range e.allPartitions() {
			p.maintain(now, retention)
		}
	}
}

// CloseIdleSegments closes the files and index mappings of sealed segments
// that nobody has read for idle (they reopen on the next read), and returns
// how many it closed. The closer (handles.go) does this on its own after
// Options.SegmentIdleTimeout.
func (e *Engine) CloseIdleSegments(idle time.Duration) int {
	cutoff := time.Now().Add(-idle)
	n := 0
	for _, p := range e.allPartitions() {
		segs := p.segments()
		for _, s := range segs[:len(segs)-1] {
			if s.CloseIdle(cutoff) {
				n++
			}
		}
	}
	return n
}

func (e *Engine) allPartitions() []*Partition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []*Partition
	for _, t := range e.topics {
		for _, p := range t.partitions {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// EnforceRetention runs retention on every partition now and returns the
// number of segments deleted.
func (e *Engine) EnforceRetention() (int, error) {
	var total int
	var errs []error
	for _, p := range e.allPartitions() {
		n, err := p.EnforceRetention()
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// Partition returns a partition of a topic.
func (e *Engine) Partition(topicName string, id int32) (*Partition, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, err := e.topicLocked(topicName)
	if err != nil {
		return nil, err
	}
	if id < 0 || int(id) >= len(t.partitions) {
		return nil, fmt.Errorf("topic %s partition %d: %w", topicName, id, ErrUnknownPartition)
	}
	if t.partitions[id] == nil {
		return nil, fmt.Errorf("topic %s partition %d: %w: not a replica on this broker", topicName, id, ErrUnknownPartition)
	}
	return t.partitions[id], nil
}

// InitProducerID gives an idempotent producer its id and epoch, as Kafka's
// InitProducerId does without transactions: producerID -1 asks for a new id
// (epoch 0); a known id and epoch ask for the next epoch, which fences any
// older instance of that producer.
func (e *Engine) InitProducerID(producerID int64, epoch int16) (int64, int16, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return 0, 0, ErrClosed
	}
	if producerID >= 0 && epoch >= 0 && epoch < math.MaxInt16 {
		return producerID, epoch + 1, nil
	}
	id, err := e.meta.allocateProducerID()
	if err != nil {
		return 0, 0, fmt.Errorf("init producer id: %w", err)
	}
	return id, 0, nil
}

// Flush makes every partition durable up to its log end.
func (e *Engine) Flush() error {
	var errs []error
	for _, p := range e.allPartitions() {
		errs = append(errs, p.Flush())
	}
	return errors.Join(errs...)
}

// Close flushes and closes every partition, then writes the clean-shutdown
// marker so the next Open trusts the logs without scanning them.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.stopping.Store(true)
	e.mu.Unlock()
	close(e.stop)
	e.bg.Wait()
	err := e.closeAll()
	if err == nil {
		err = writeCleanMarker(e.dir)
	}
	if e.lock != nil {
		e.lock.Close()
	}
	if err != nil {
		e.logger.Error("engine closed with errors", "err", err)
	} else {
		e.logger.Info("engine closed cleanly", "dir", e.dir)
	}
	return err
}

func (e *Engine) closeAll() error {
	var errs []error
	var ps []*Partition
	for _, t := range e.topics {
		for _, p := range t.partitions {
			if p != nil {
				ps = append(ps, p)
			}
		}
	}
	if e.meta != nil {
		errs = append(errs, e.closePartitionsForShutdown(ps))
		errs = append(errs, e.meta.flush(), e.meta.close())
		e.meta = nil
	} else {
		for _, p := range ps {
			errs = append(errs, p.close())
		}
	}
	return errors.Join(errs...)
}

func writeCleanMarker(dir string) error {
	f, err := os.Create(filepath.Join(dir, cleanShutdownFile))
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
