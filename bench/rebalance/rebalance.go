// Package rebalance measures what a consumer-group rebalance costs the
// members that keep their partitions: a broker runs in-process, a producer
// writes to every partition at a steady rate, three members of a group
// consume, and a fourth joins. For each partition that stays with its
// owner, the longest gap between two consumed records while the group
// rebalances is its stall; the figure is the longest such stall. The
// cooperative protocol (cooperative-sticky) should keep it near the
// producer's own interval; the eager one (sticky: same placement, but every
// member revokes everything first) stops every partition for the whole
// rebalance.
package rebalance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/client/assign"
)

// Config is one measurement.
type Config struct {
	Partitions        int32
	Cooperative       bool
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	// ProduceInterval is the pause between rounds of one record per
	// partition.
	ProduceInterval time.Duration
	// FetchWait is fetch.max.wait.ms of the members.
	FetchWait time.Duration
	// Warmup is how long the group of three consumes before the fourth
	// member joins; Settle how long the measurement goes on after the
	// fourth member has its partitions.
	Warmup, Settle time.Duration
	Dir            string // parent of the temporary data directory
}

// Result is one measurement's figures.
type Result struct {
	// MaxStallUnaffected is the longest consumption gap of a partition
	// that kept its owner, during the rebalance.
	MaxStallUnaffected time.Duration
	// MaxStallMoved is the same for the partitions that moved.
	MaxStallMoved time.Duration
	// Rebalance is the time from the fourth member's start to its first
	// partitions.
	Rebalance        time.Duration
	Unaffected, Move int
}

// tracker records consumption times per partition.
type tracker struct {
	mu      sync.Mutex
	last    map[client.TopicPartition]time.Time
	maxGap  map[client.TopicPartition]time.Duration
	owner   map[client.TopicPartition]string
	counted int
}

func newTracker() *tracker {
	return &tracker{last: map[client.TopicPartition]time.Time{}, maxGap: map[client.TopicPartition]time.Duration{},
		owner: map[client.TopicPartition]string{}}
}

func (t *tracker) consumed(member string, recs []client.ConsumerRecord) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		p := client.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if l, ok := t.last[p]; ok {
			t.maxGap[p] = max(t.maxGap[p], now.Sub(l))
		}
		t.last[p] = now
		t.owner[p] = member
		t.counted++
	}
}

// reset starts a new measurement window.
func (t *tracker) reset() {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range t.last {
		t.last[p] = now
	}
	t.maxGap = map[client.TopicPartition]time.Duration{}
}

// finish closes the window: a partition silent since its last record
// counts that silence too.
func (t *tracker) finish() map[client.TopicPartition]time.Duration {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[client.TopicPartition]time.Duration{}
	for p, l := range t.last {
		out[p] = max(t.maxGap[p], now.Sub(l))
	}
	return out
}

func (t *tracker) owners() map[client.TopicPartition]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[client.TopicPartition]string, len(t.owner))
	for p, o := range t.owner {
		out[p] = o
	}
	return out
}

// Run makes one measurement.
func Run(ctx context.Context, cfg Config) (Result, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "rebalancebench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	bcfg := broker.DefaultConfig()
	bcfg.Listen = "127.0.0.1:0"
	bcfg.DataDir = dir
	bcfg.GroupInitialDelay = 0
	bcfg.GroupMinSessionTimeout = time.Second
	b, err := broker.Start(bcfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return Result{}, err
	}
	defer b.Close(context.Background())
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		return Result{}, err
	}
	defer cl.Close()
	const topic = "rebalance"
	if err := cl.CreateTopic(ctx, topic, cfg.Partitions, 1, nil); err != nil {
		return Result{}, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var prodErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		prodErr = produce(runCtx, cl, topic, cfg)
	}()

	tr := newTracker()
	assignors := []assign.Assignor{assign.Sticky()}
	if cfg.Cooperative {
		assignors = []assign.Assignor{assign.CooperativeSticky()}
	}
	var members []*client.GroupConsumer
	errs := make(chan error, 4)
	start := func(name string) (*client.GroupConsumer, error) {
		g, err := cl.NewGroupConsumer(client.GroupConfig{
			GroupID: "bench", Topics: []string{topic}, ClientID: name, Assignors: assignors,
			SessionTimeout: cfg.SessionTimeout, HeartbeatInterval: cfg.HeartbeatInterval,
			AutoOffsetReset: "latest", Consumer: client.ConsumerConfig{MaxWait: cfg.FetchWait},
		})
		if err != nil {
			return nil, err
		}
		members = append(members, g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				recs, err := g.Poll(runCtx)
				if err != nil {
					if runCtx.Err() == nil && !errors.Is(err, client.ErrClosed) {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				tr.consumed(name, recs)
			}
		}()
		return g, nil
	}
	defer func() {
		stop()
		wg.Wait()
		for _, g := range members {
			g.Close()
		}
	}()
	// The members start a third of a heartbeat interval apart, so that
	// their heartbeats (which tell them of a rebalance) are spread over the
	// interval as they would be in a real deployment.
	for i := 0; i < 3; i++ {
		if i > 0 {
			if err := sleep(ctx, cfg.HeartbeatInterval/3); err != nil {
				return Result{}, err
			}
		}
		if _, err := start(fmt.Sprintf("m%d", i)); err != nil {
			return Result{}, err
		}
	}
	if err := waitOwned(ctx, members, int(cfg.Partitions), errs); err != nil {
		return Result{}, fmt.Errorf("group of 3: %w", err)
	}
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return Result{}, err
	}
	before := tr.owners()
	tr.reset()
	t0 := time.Now()
	fourth, err := start("m3")
	if err != nil {
		return Result{}, err
	}
	for len(fourth.Assignment()) == 0 {
		select {
		case err := <-errs:
			return Result{}, err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	res := Result{Rebalance: time.Since(t0)}
	if err := waitOwned(ctx, members, int(cfg.Partitions), errs); err != nil {
		return Result{}, fmt.Errorf("group of 4: %w", err)
	}
	if err := sleep(ctx, cfg.Settle); err != nil {
		return Result{}, err
	}
	gaps := tr.finish()
	after := tr.owners()
	for p, gap := range gaps {
		if before[p] != "" && before[p] == after[p] {
			res.Unaffected++
			res.MaxStallUnaffected = max(res.MaxStallUnaffected, gap)
		} else {
			res.Move++
			res.MaxStallMoved = max(res.MaxStallMoved, gap)
		}
	}
	stop()
	wg.Wait()
	if prodErr != nil && !errors.Is(prodErr, context.Canceled) {
		return Result{}, prodErr
	}
	return res, nil
}

// waitOwned waits until every partition is owned by one member and the
// counts differ by at most one.
func waitOwned(ctx context.Context, members []*client.GroupConsumer, partitions int, errs chan error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		total, lo, hi := 0, 1<<30, 0
		for _, g := range members {
			n := len(g.Assignment())
			total += n
			lo, hi = min(lo, n), max(hi, n)
		}
		if total == partitions && hi-lo <= 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the group did not settle: %d of %d partitions owned", total, partitions)
		}
		select {
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// produce writes one record to every partition per round, a round every
// ProduceInterval.
func produce(ctx context.Context, cl *client.Client, topic string, cfg Config) error {
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: client.AcksLeader, Linger: time.Millisecond})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	tick := time.NewTicker(cfg.ProduceInterval)
	defer tick.Stop()
	value := make([]byte, 100)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for part := int32(0); part < cfg.Partitions; part++ {
			if err := p.Send(ctx, &client.Record{Topic: topic, Partition: part, Value: value}, nil); err != nil {
				return err
			}
		}
	}
}

// Median returns the median of durations.
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
