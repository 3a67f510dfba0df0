package metabench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	DefaultTopics      = 200
	DefaultConcurrency = 8
	DefaultMoves       = 2000
	DefaultSyncs       = 300
	// ClusterSize is how many brokers the cluster has.
	ClusterSize = 3
)

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Topics is how many topics each create phase makes (and each delete
	// phase deletes).
	Topics int
	// Concurrency is how many workers the concurrent phases run, and how
	// many partitions the leader-move topic has.
	Concurrency int
	// Moves is how many leader moves each move phase commits.
	Moves int
	// Syncs is how many synced writes each limit measurement makes.
	Syncs int
	// Dir is the parent of the temporary directories; empty means
	// os.TempDir().
	Dir string
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Topics <= 0 {
		c.Topics = DefaultTopics
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Moves <= 0 {
		c.Moves = DefaultMoves
	}
	if c.Syncs <= 0 {
		c.Syncs = DefaultSyncs
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Phase is one timed phase.
type Phase struct {
	Target  string  `json:"target"`  // "single node" or "cluster of 3"
	Op      string  `json:"op"`      // "create RF 1", "delete", "leader move"
	Workers int     `json:"workers"` // 1 for the sequential phases
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	P50us   int64   `json:"p50_us"`
	P99us   int64   `json:"p99_us"`
	MaxUs   int64   `json:"max_us"`
	// LimitPS is the log store's synced appends per second, the mean of
	// the measurements just before and just after this phase; Ratio is
	// PerSec over it.
	LimitPS float64 `json:"log_store_syncs_per_sec"`
	Ratio   float64 `json:"ratio_to_log_sync"`
}

// SyncRun is one measurement of the limits.
type SyncRun struct {
	When        string  `json:"when"`
	LogStorePS  float64 `json:"log_store_syncs_per_sec"`
	FdatasyncPS float64 `json:"fdatasync_per_sec"`
}

// Report is what Run measured.
type Report struct {
	Command    string    `json:"command"`
	Machine    Machine   `json:"machine"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Config     Config    `json:"config"`
	// Controller is the node id of the cluster's active controller, on
	// whose quorum node the leader moves were proposed.
	Controller int32     `json:"controller"`
	Phases     []Phase   `json:"phases"`
	Syncs      []SyncRun `json:"syncs"`
	// LogStorePS and FdatasyncPS are the medians of Syncs.
	LogStorePS  float64 `json:"log_store_syncs_per_sec"`
	FdatasyncPS float64 `json:"fdatasync_per_sec"`
}

// Run measures everything once. ctx bounds the whole run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	dir, err := os.MkdirTemp(cfg.Dir, "sluice-metabench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: describeMachine(dir), Start: time.Now().UTC(), LoadBefore: hostinfo.LoadAverage(), Config: cfg}
	rep.Config.Logf = nil
	seq := 0
	r := &runner{cfg: cfg, rep: rep, tempDir: func() string {
		seq++
		d := filepath.Join(dir, fmt.Sprintf("d%d", seq))
		if err := os.MkdirAll(d, 0o755); err != nil {
			panic(err) // the parent was just made; a failure here is a broken disk
		}
		return d
	}}
	if err := r.runSingle(ctx); err != nil {
		return nil, fmt.Errorf("single node: %w", err)
	}
	if err := r.runCluster(ctx); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	var ls, fs []float64
	for _, s := range rep.Syncs {
		ls = append(ls, s.LogStorePS)
		fs = append(fs, s.FdatasyncPS)
	}
	rep.LogStorePS, rep.FdatasyncPS = median(ls), median(fs)
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

const (
	targetSingle  = "single node"
	targetCluster = "cluster of 3"
)

// runner carries a run's state: the report it fills and the last
// measurement of the limit, which serves as the next phase's "before".
type runner struct {
	cfg     Config
	rep     *Report
	tempDir func() string
	last    *SyncRun
}

// measure measures the limits once, in a fresh directory.
func (r *runner) measure(when string) (SyncRun, error) {
	s, err := measureSyncs(r.tempDir(), r.cfg.Syncs)
	if err != nil {
		return s, err
	}
	s.When = when
	r.rep.Syncs = append(r.rep.Syncs, s)
	return s, nil
}

// phase times one phase (see timed) between two measurements of the
// limit, and records it.
func (r *runner) phase(ctx context.Context, target, op string, workers, count int, fn func(ctx context.Context, w, i int) error) error {
	label := fmt.Sprintf("%s, %s, %d worker(s)", target, op, workers)
	r.cfg.Logf("metabench: %s", label)
	if r.last == nil {
		s, err := r.measure("before " + label)
		if err != nil {
			return err
		}
		r.last = &s
	}
	ph, err := timed(ctx, target, op, workers, count, fn)
	if err != nil {
		return err
	}
	after, err := r.measure("after " + label)
	if err != nil {
		return err
	}
	ph.LimitPS = (r.last.LogStorePS + after.LogStorePS) / 2
	if ph.LimitPS > 0 {
		ph.Ratio = ph.PerSec / ph.LimitPS
	}
	r.last = &after
	r.rep.Phases = append(r.rep.Phases, ph)
	return nil
}

func (r *runner) runSingle(ctx context.Context) error {
	r.last = nil
	bc := broker.DefaultConfig()
	bc.Listen = "127.0.0.1:0"
	bc.KafkaListen = "127.0.0.1:0"
	bc.DataDir = r.tempDir()
	b, err := broker.StartContext(ctx, bc, nil)
	if err != nil {
		return err
	}
	defer closeBroker(b)
	r.cfg.Logf("metabench: single-node broker on %s", b.Addr())
	return r.topicPhases(ctx, targetSingle, b.Addr().String(), "s", []int16{1})
}

func (r *runner) runCluster(ctx context.Context) error {
	r.last = nil
	cfgs, err := broker.TestClusterConfigs(ClusterSize, r.tempDir)
	if err != nil {
		return err
	}
	bs := make([]*broker.Broker, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			bs[i], errs[i] = broker.StartContext(sctx, cfgs[i], nil)
		})
	}
	wg.Wait()
	defer func() {
		for _, b := range bs {
			if b != nil {
				closeBroker(b)
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.cfg.Logf("metabench: cluster of %d brokers started", len(bs))
	if err := r.topicPhases(ctx, targetCluster, bs[0].Addr().String(), "c", []int16{1, ClusterSize}); err != nil {
		return err
	}
	return r.movePhases(ctx, bs)
}

func closeBroker(b *broker.Broker) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Close(ctx)
}

// topicPhases creates and deletes topics through the native client at addr,
// sequentially and with cfg.Concurrency workers, for each replication
// factor.
func (r *runner) topicPhases(ctx context.Context, target, addr, prefix string, rfs []int16) error {
	cfg := r.cfg
	clients := make([]*client.Client, cfg.Concurrency)
	for i := range clients {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{addr}})
		if err != nil {
			return err
		}
		defer cl.Close()
		clients[i] = cl
	}
	for _, rf := range rfs {
		var names []string
		for _, workers := range []int{1, cfg.Concurrency} {
			batch := make([]string, cfg.Topics)
			for i := range batch {
				batch[i] = fmt.Sprintf("%s-rf%d-w%d-%d", prefix, rf, workers, i)
			}
			names = append(names, batch...)
			err := r.phase(ctx, target, fmt.Sprintf("create RF %d", rf), workers, len(batch), func(ctx context.Context, w, i int) error {
				return clients[w].CreateTopic(ctx, batch[i], 1, rf, nil)
			})
			if err != nil {
				return err
			}
		}
		// Delete what was made: half in sequence, half concurrently, so
		// each delete phase has cfg.Topics topics.
		for k, workers := range []int{1, cfg.Concurrency} {
			batch := names[k*cfg.Topics : (k+1)*cfg.Topics]
			err := r.phase(ctx, target, fmt.Sprintf("delete RF %d", rf), workers, len(batch), func(ctx context.Context, w, i int) error {
				return clients[w].DeleteTopic(ctx, batch[i])
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// timed runs op count times over workers goroutines, each taking the next
// index, and records every call's latency. Worker w's calls all come from
// goroutine w.
func timed(ctx context.Context, target, name string, workers, count int, op func(ctx context.Context, w, i int) error) (Phase, error) {
	hists := make([]*hdrhistogram.Histogram, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		hists[w] = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, w, i); err != nil {
					errs[w] = fmt.Errorf("%s, %s #%d: %w", target, name, i, err)
					next.Store(int64(count)) // stop the others
					return
				}
				hists[w].RecordValue(max(1, time.Since(t0).Microseconds()))
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return Phase{}, err
	}
	if err := ctx.Err(); err != nil {
		return Phase{}, err
	}
	h := hists[0]
	for _, o := range hists[1:] {
		h.Merge(o)
	}
	return Phase{Target: target, Op: name, Workers: workers, Count: count, Seconds: secs, PerSec: float64(count) / secs,
		P50us: h.ValueAtQuantile(50), P99us: h.ValueAtQuantile(99), MaxUs: h.Max()}, nil
}

const moveTopic = "leader-moves"

// movePhases moves partition leaders of a replication-factor-3 topic
// through the active controller's quorum node.
func (r *runner) movePhases(ctx context.Context, bs []*broker.Broker) error {
	cfg, rep := r.cfg, r.rep
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.CreateTopic(ctx, moveTopic, int32(cfg.Concurrency), ClusterSize, nil); err != nil {
		return err
	}
	// The proposer: the active controller, the quorum's leader, so that
	// no proposal is forwarded.
	var ctl *broker.Broker
	if err := waitFor(ctx, "the active controller to have applied the topic", func() bool {
		for _, b := range bs {
			if b.Member().Node().IsLeader() {
				if _, ok := b.Member().State().Topic(moveTopic); ok {
					ctl = b
					return true
				}
			}
		}
		return false
	}); err != nil {
		return err
	}
	rep.Controller = ctl.Member().NodeID()
	m := ctl.Member()
	propose := func(ctx context.Context, rec metadata.PartitionChange) error {
		cmd, err := metadata.Encode(rec)
		if err != nil {
			return err
		}
		out, err := m.Node().Propose(ctx, cmd)
		if err != nil {
			return err
		}
		res, err := metadata.DecodeResult(out)
		if err != nil {
			return err
		}
		return res.Err()
	}

	// Every replica into the ISR, so that any may lead.
	movers := make([]*mover, cfg.Concurrency)
	for p := range movers {
		part, ok := m.State().Partition(moveTopic, int32(p))
		if !ok {
			return fmt.Errorf("%s-%d not in the image", moveTopic, p)
		}
		if err := propose(ctx, metadata.PartitionChange{Topic: moveTopic, Partition: int32(p), LeaderEpoch: part.LeaderEpoch, ISR: slices.Clone(part.Replicas)}); err != nil {
			return fmt.Errorf("widen the isr of %s-%d: %w", moveTopic, p, err)
		}
		movers[p] = &mover{partition: int32(p), replicas: part.Replicas, leader: part.Leader, epoch: part.LeaderEpoch, firstEpoch: part.LeaderEpoch}
	}
	move := func(ctx context.Context, mv *mover) error {
		i := slices.Index(mv.replicas, mv.leader)
		next := mv.replicas[(i+1)%len(mv.replicas)]
		if err := propose(ctx, metadata.PartitionChange{Topic: moveTopic, Partition: mv.partition, LeaderEpoch: mv.epoch, Leader: &next}); err != nil {
			return err
		}
		mv.leader, mv.epoch = next, mv.epoch+1
		mv.moves++
		return nil
	}

	cfg.Logf("metabench: leader moves proposed on node %d", rep.Controller)
	if err := r.phase(ctx, targetCluster, "leader move", 1, cfg.Moves, func(ctx context.Context, _, _ int) error {
		return move(ctx, movers[0])
	}); err != nil {
		return err
	}
	// Concurrent: worker w moves partition w only.
	if err := r.phase(ctx, targetCluster, "leader move", cfg.Concurrency, cfg.Moves, func(ctx context.Context, w, _ int) error {
		return move(ctx, movers[w])
	}); err != nil {
		return err
	}

	// The image must show every move: leader epochs advanced by exactly
	// the moves made, on every broker once it has caught up.
	for _, b := range bs {
		st := b.Member().State()
		err := waitFor(ctx, fmt.Sprintf("node %d to apply every move", b.Member().NodeID()), func() bool {
			for _, mv := range movers {
				part, ok := st.Partition(moveTopic, mv.partition)
				if !ok || part.LeaderEpoch != mv.firstEpoch+int32(mv.moves) || part.Leader != mv.leader {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mover is one partition's leadership, as the mover last set it. Only one
// goroutine moves a partition at a time.
type mover struct {
	partition  int32
	replicas   []int32
	leader     int32
	epoch      int32
	firstEpoch int32
	moves      int
}

func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
