package cleanbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// Modes of a produce phase.
const (
	Idle     = "idle"     // the cleaner has nothing to clean
	Cleaning = "cleaning" // the cleaner cleans the loaded topic
)

// produceOrder is the order of a produce round's phases: without the
// cleaner first in odd rounds, with it first in even ones.
func produceOrder(round int) []string {
	if round%2 == 0 {
		return []string{Cleaning, Idle}
	}
	return []string{Idle, Cleaning}
}

// lagHold is the loaded topic's min.compaction.lag.ms until its cleaning
// is wanted: a day, so that none of its segments is cleanable.
const lagHold = "86400000"

// BrokerPart is the produce throughput of one sluiced process with and
// without its cleaner running.
type BrokerPart struct {
	// Build is how the broker binary was made; Command how it ran (the
	// temporary paths shortened).
	Build   string `json:"build"`
	Command string `json:"command"`
	// BigTopicConfigs are the loaded topic's configs at creation; the
	// cleaning phase sets min.compaction.lag.ms=0.
	BigTopicConfigs map[string]string `json:"big_topic_configs"`
	Rounds          []ProduceRound    `json:"rounds"`
	ExitCode        int               `json:"exit_code"`
	// Warnings are the WARN and ERROR lines the broker logged.
	Warnings []string `json:"warnings,omitempty"`
}

// LoadResult is the loading of a round's compacted topic.
type LoadResult struct {
	Records int64   `json:"records"`
	Bytes   int64   `json:"bytes"` // keys and values
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
}

// ProducePhase is one producer's run against the broker, idle or beside
// a cleaning.
type ProducePhase struct {
	Mode  string `json:"mode"`
	Topic string `json:"topic"`
	// The measured window, in seconds from the producer's start: the
	// cleaning's own interval in a Cleaning phase, Config.Duration after
	// Config.Lead in an Idle one.
	WindowStart   float64 `json:"window_start"`
	WindowSeconds float64 `json:"window_seconds"`
	// MBps (values, 10^6 B/s) and RecordsPerSec are the acknowledged
	// records' in the window; BrokerCores the broker's CPU time in it
	// over its length.
	MBps          float64 `json:"mb_per_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	BrokerCores   float64 `json:"broker_cores"`
	// Records is every record acknowledged in the phase.
	Records int64 `json:"records"`
	// Clean is the broker's cleaning (Cleaning phases), CleanDelay the
	// seconds from the config change to its start.
	Clean      *BrokerClean `json:"clean,omitempty"`
	CleanDelay float64      `json:"clean_delay,omitempty"`
}

// ProduceRound is a freshly loaded compacted topic, and a producer run
// with the cleaner idle and one while it cleans that topic.
type ProduceRound struct {
	Index    int            `json:"index"`
	Order    []string       `json:"order"`
	BigTopic string         `json:"big_topic"`
	Load     LoadResult     `json:"load"`
	Phases   []ProducePhase `json:"phases"`
	// Ratio is the Cleaning phase's MBps over the Idle one's.
	Ratio     float64 `json:"ratio"`
	LoadAfter string  `json:"load_after"`
}

// phase returns the round's phase of mode.
func (r ProduceRound) phase(mode string) *ProducePhase {
	for i := range r.Phases {
		if r.Phases[i].Mode == mode {
			return &r.Phases[i]
		}
	}
	return nil
}

// runBroker starts a broker and makes the produce rounds against it.
func runBroker(ctx context.Context, cfg Config, w *workload, rep *Report, dir string) (*BrokerPart, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var modDir string
	var err error
	if cfg.Sluiced == "" || cfg.BrokerConfig == "" {
		if modDir, err = sluicedproc.ModuleDir(ctx); err != nil {
			return nil, err
		}
	}
	bp := &BrokerPart{BigTopicConfigs: map[string]string{"cleanup.policy": "compact",
		"segment.bytes": strconv.FormatInt(cfg.SegmentBytes, 10), "min.compaction.lag.ms": lagHold}}
	bin := cfg.Sluiced
	if bin == "" {
		cfg.Logf("cleanbench: building sluiced")
		if bin, bp.Build, err = sluicedproc.Build(ctx, modDir, dir); err != nil {
			return nil, err
		}
		bp.Build += " at " + sluicedproc.GitDescribe(ctx, modDir)
	} else {
		bp.Build = bin
	}
	props := cfg.BrokerConfig
	if props == "" {
		props = filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	}
	data := filepath.Join(dir, "data")
	overrides := []string{"log.cleaner.enable=true", fmt.Sprintf("log.cleaner.backoff.ms=%d", cfg.CleanerBackoff.Milliseconds())}
	b, err := startBroker(ctx, bin, data, props, overrides)
	if err != nil {
		return nil, err
	}
	defer b.Kill() // error paths; a good run has stopped it already
	bp.Command = strings.NewReplacer(bin, "sluiced", data, "$tmp/data", props, "cmd/sluiced/sluiced.properties").Replace(strings.Join(b.Argv, " "))
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr}})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	distinct := map[int64]int64{} // by end offset
	for i := range cfg.ProduceRounds {
		round := ProduceRound{Index: i + 1, Order: produceOrder(i + 1), BigTopic: fmt.Sprintf("cleanbench-r%d", i+1)}
		if err := produceRound(ctx, cfg, w, rep, b, cl, bp, &round); err != nil {
			return nil, fmt.Errorf("produce round %d: %w", round.Index, err)
		}
		if ph := round.phase(Cleaning); ph != nil && ph.Clean != nil {
			c := ph.Clean
			n, ok := distinct[c.End]
			if !ok {
				n = distinctKeys(w.seed, w.space, c.End)
				distinct[c.End] = n
			}
			checkBrokerClean(rep, round.Index, c, n, round.Load.Records)
		}
		bp.Rounds = append(bp.Rounds, round)
	}
	cl.Close()
	code, err := b.Stop(60 * time.Second)
	bp.ExitCode = code
	if err != nil {
		rep.problem("stopping the broker: %v", err)
	} else if code != 0 {
		rep.problem("the broker exited with status %d after SIGTERM:\n%s", code, b.Tail())
	}
	bp.Warnings = b.Warnings()
	for _, l := range bp.Warnings {
		if strings.Contains(l, "log cleaning failed") {
			rep.problem("the broker: %s", l)
		}
	}
	return bp, nil
}

// checkBrokerClean checks the broker's cleaning of a loaded topic: it
// covered all but the active segment, from offset 0, and kept one record
// per distinct key (one producer wrote the records in the workload's
// order, so offset i holds draw i of the key sequence).
func checkBrokerClean(rep *Report, round int, c *BrokerClean, distinct, loaded int64) {
	pre := fmt.Sprintf("produce round %d, the broker's cleaning: ", round)
	if c.FirstDirty != 0 || c.End <= 0 || c.End >= loaded {
		rep.problem(pre+"cleaned offsets [%d, %d) of %d records", c.FirstDirty, c.End, loaded)
	}
	if c.RecordsKept != distinct || c.RecordsKept+c.RecordsRemoved != c.End-c.FirstDirty {
		rep.problem(pre+"kept %d and removed %d records below offset %d, which hold %d distinct keys", c.RecordsKept, c.RecordsRemoved, c.End, distinct)
	}
}

// produceRound loads a fresh compacted topic and runs the two phases in
// the round's order, each from a synced, dropped page cache.
func produceRound(ctx context.Context, cfg Config, w *workload, rep *Report, b *broker, cl *client.Client, bp *BrokerPart, round *ProduceRound) error {
	if err := cl.CreateTopic(ctx, round.BigTopic, 1, 1, bp.BigTopicConfigs); err != nil {
		return err
	}
	if _, err := cl.Partitions(ctx, round.BigTopic); err != nil {
		return err
	}
	cfg.Logf("cleanbench: produce round %d: loading %d records into %s", round.Index, rep.Partition.Records, round.BigTopic)
	var err error
	if round.Load, err = load(ctx, cfg, w, cl, round.BigTopic, rep.Partition.Records); err != nil {
		return fmt.Errorf("loading %s: %w", round.BigTopic, err)
	}
	if hw, err := cl.ListOffset(ctx, round.BigTopic, 0, protocol.LatestTimestamp); err != nil || hw != round.Load.Records {
		return fmt.Errorf("%s: high watermark %d (%v) after %d records", round.BigTopic, hw, err, round.Load.Records)
	}
	for _, mode := range round.Order {
		settleCache()
		ph := ProducePhase{Mode: mode, Topic: fmt.Sprintf("%s-%s", round.BigTopic, mode)}
		if err := producePhase(ctx, cfg, w, b, cl, round.BigTopic, &ph); err != nil {
			return fmt.Errorf("%s phase: %w", mode, err)
		}
		cfg.Logf("cleanbench:   %-8s %8.1f MB/s over %.1f s, broker %.2f cores", mode, ph.MBps, ph.WindowSeconds, ph.BrokerCores)
		round.Phases = append(round.Phases, ph)
	}
	round.Ratio = units.Ratio(round.phase(Cleaning).MBps, round.phase(Idle).MBps)
	if err := cl.DeleteTopic(ctx, round.BigTopic); err != nil {
		return err
	}
	round.LoadAfter = hostinfo.LoadAverage()
	return nil
}

// load produces n records of the workload, in its order, to partition 0
// of topic, with the producer's defaults (acks=all, idempotent: no
// reordering) but the workload's batch size and codec.
func load(ctx context.Context, cfg Config, w *workload, cl *client.Client, topic string, n int64) (LoadResult, error) {
	out := LoadResult{Records: n}
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), BatchSize: cfg.BatchBytes, Compression: cfg.Codec})
	if err != nil {
		return out, err
	}
	defer p.Close(context.Background())
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	cb := func(_ client.RecordMetadata, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	ks := newKeyStream(w.seed, w.space)
	rec := client.Record{Topic: topic, Partition: 0}
	var key []byte
	start := time.Now()
	for i := range n {
		key = appendKey(key[:0], ks.next())
		rec.Key, rec.Value = key, w.value(i)
		if err := p.Send(ctx, &rec, cb); err != nil {
			return out, fmt.Errorf("send record %d: %w", i, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		return out, err
	}
	out.Seconds = time.Since(start).Seconds()
	out.Bytes = n * int64(KeyBytes+cfg.ValueBytes)
	out.MBps = mbps(out.Bytes, out.Seconds)
	if f := failed.Load(); f > 0 {
		return out, fmt.Errorf("%d of %d records failed; the first: %v", f, n, *firstErr.Load())
	}
	return out, nil
}

// producePhase runs a producer against a topic of its own; in a Cleaning
// phase, Config.Lead after it starts, it lets the broker clean big and
// measures it over the cleaning.
func producePhase(ctx context.Context, cfg Config, w *workload, b *broker, cl *client.Client, big string, ph *ProducePhase) error {
	if err := cl.CreateTopic(ctx, ph.Topic, 1, 1, nil); err != nil {
		return err
	}
	if _, err := cl.Partitions(ctx, ph.Topic); err != nil {
		return err
	}
	pr, err := startProducer(ctx, cl, ph.Topic, w, b.PID())
	if err != nil {
		return err
	}
	defer pr.stop()
	sleep := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := sleep(cfg.Lead); err != nil {
		return err
	}
	var from, to time.Duration
	switch ph.Mode {
	case Idle:
		if err := sleep(cfg.Duration); err != nil {
			return err
		}
		from, to = cfg.Lead, cfg.Lead+cfg.Duration
	case Cleaning:
		altered := time.Since(pr.start)
		if err := cl.AlterConfigs(ctx, big, map[string]string{"min.compaction.lag.ms": "0"}, nil); err != nil {
			return err
		}
		c, at, err := b.waitCleaned(ctx, big, max(5*time.Minute, time.Duration(cfg.Bytes/(5<<20))*time.Second))
		if err != nil {
			return err
		}
		to = at.Sub(pr.start)
		from = to - time.Duration(c.Seconds*float64(time.Second))
		ph.Clean, ph.CleanDelay = &c, (from - altered).Seconds()
	}
	if err := pr.stop(); err != nil {
		return err
	}
	ph.WindowStart, ph.WindowSeconds = from.Seconds(), (to - from).Seconds()
	ph.MBps = pr.bytes.rate(from, to) / 1e6
	ph.RecordsPerSec = pr.records.rate(from, to)
	ph.BrokerCores = pr.brokerCPU.rate(from, to)
	ph.Records = pr.acked.Load()
	return cl.DeleteTopic(ctx, ph.Topic)
}

// sampleEvery is how often a producer's acknowledged bytes are sampled;
// the broker's CPU time is read every cpuEvery-th sample.
const (
	sampleEvery = 20 * time.Millisecond
	cpuEvery    = 5
)

// producer sends records to partition 0 of a topic as fast as the broker
// takes them (acks=1, the native producer's defaults otherwise) until
// stopped, and samples what was acknowledged.
type producer struct {
	start       time.Time
	halt        atomic.Bool
	acked, sent atomic.Int64 // records
	ackedBytes  atomic.Int64 // values
	failed      atomic.Int64
	firstErr    atomic.Pointer[error]
	sendErr     error
	senderDone  chan struct{}
	samplerStop chan struct{}
	samplerDone chan struct{}
	once        sync.Once
	stopErr     error

	// Owned by the sampler until it is done.
	bytes, records, brokerCPU series
}

func startProducer(ctx context.Context, cl *client.Client, topic string, w *workload, brokerPID int) (*producer, error) {
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: client.AcksLeader})
	if err != nil {
		return nil, err
	}
	pr := &producer{senderDone: make(chan struct{}), samplerStop: make(chan struct{}), samplerDone: make(chan struct{})}
	cb := func(_ client.RecordMetadata, err error) {
		if err != nil {
			pr.failed.Add(1)
			pr.firstErr.CompareAndSwap(nil, &err)
			return
		}
		pr.acked.Add(1)
		pr.ackedBytes.Add(int64(w.cfg.ValueBytes))
	}
	cpu0 := sluicedproc.ProcessCPU(brokerPID)
	pr.start = time.Now()
	sample := func(withCPU bool) {
		t := time.Since(pr.start)
		pr.bytes = append(pr.bytes, point{t, float64(pr.ackedBytes.Load())})
		pr.records = append(pr.records, point{t, float64(pr.acked.Load())})
		if withCPU {
			pr.brokerCPU = append(pr.brokerCPU, point{time.Since(pr.start), sluicedproc.ProcessCPU(brokerPID) - cpu0})
		}
	}
	sample(true)
	go func() {
		defer close(pr.samplerDone)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-tick.C:
				sample(n%cpuEvery == 0)
			case <-pr.samplerStop:
				sample(true)
				return
			}
		}
	}()
	go func() {
		defer close(pr.senderDone)
		defer p.Close(context.Background())
		rec := client.Record{Topic: topic, Partition: 0}
		for i := int64(0); !pr.halt.Load(); i++ {
			rec.Value = w.value(i)
			if err := p.Send(ctx, &rec, cb); err != nil {
				pr.sendErr = fmt.Errorf("send record %d: %w", i, err)
				return
			}
			pr.sent.Add(1)
		}
		if err := p.Flush(ctx); err != nil {
			pr.sendErr = err
		}
	}()
	return pr, nil
}

// stop takes a last sample, stops sending and waits for every record sent
// to be acknowledged; it returns the first failure.
func (pr *producer) stop() error {
	pr.once.Do(func() {
		close(pr.samplerStop)
		<-pr.samplerDone
		pr.halt.Store(true)
		<-pr.senderDone
		switch {
		case pr.sendErr != nil:
			pr.stopErr = pr.sendErr
		case pr.failed.Load() > 0:
			pr.stopErr = fmt.Errorf("%d of %d records failed; the first: %v", pr.failed.Load(), pr.sent.Load(), *pr.firstErr.Load())
		}
	})
	return pr.stopErr
}
