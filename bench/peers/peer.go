package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
	"github.com/sluicelog/sluice/net/client"
)

// stallTimeout fails a consumer that received nothing for this long.
const stallTimeout = 30 * time.Second

// peer is a broker other than Sluice, driven by its own client.
type peer interface {
	name() string
	createTopic(ctx context.Context, cfg *perf.Config) error
	// produce sends cfg.NumRecords records; with e2e non-nil, values start
	// with their send time (rec.Since) and e2e counts them.
	produce(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, e2e *atomic.Int64) error
	// consume reads from the start until target() records have come
	// (target is negative while unknown).
	consume(ctx context.Context, cfg *perf.Config, rec *perf.Recorder, target func() int64, e2e bool) error
}

// runPeer runs one workload (produce, consume or e2e, quota-based) on a
// peer and returns its result in bench/perf's form.
func runPeer(ctx context.Context, p peer, cfg perf.Config, progress io.Writer) (*perf.Result, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := &perf.Result{
		System:     p.name(),
		Workload:   cfg.Workload,
		Config:     cfg,
		Machine:    perf.ReadMachine(),
		Date:       time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(),
	}
	rec := perf.NewRecorder()
	stop := rec.StartProgress(ctx, progress, cfg.Interval)
	var err error
	var what string
	switch cfg.Workload {
	case perf.Produce:
		what = "send to ack"
		if err = p.createTopic(ctx, &cfg); err == nil {
			err = p.produce(ctx, &cfg, rec, nil)
		}
	case perf.Consume:
		what = "per fetch"
		err = p.consume(ctx, &cfg, rec, func() int64 { return cfg.NumRecords }, false)
	case perf.E2E:
		what = "send to receipt"
		if err = p.createTopic(ctx, &cfg); err != nil {
			break
		}
		var sent, target atomic.Int64
		target.Store(-1) // known when the producers are done
		cctx, cancel := context.WithCancel(ctx)
		cerr := make(chan error, 1)
		go func() { cerr <- p.consume(cctx, &cfg, rec, target.Load, true) }()
		perr := p.produce(ctx, &cfg, rec, &sent)
		target.Store(sent.Load())
		if perr != nil {
			cancel()
		}
		err = errors.Join(perr, <-cerr)
		cancel()
	default:
		err = fmt.Errorf("workload %s: not for peers", cfg.Workload)
	}
	stop()
	rec.Result(res, what)
	res.LoadAfter = hostinfo.LoadAverage()
	if err == nil && res.Errors > 0 {
		_, first := rec.Errors()
		err = fmt.Errorf("%d records failed, the first with: %w", res.Errors, first)
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", p.name(), cfg.Workload, err)
	}
	return res, nil
}

// deadline is when a producer stops: after cfg.Duration when the run has
// no record count, else never.
func deadline(cfg *perf.Config) time.Time {
	if cfg.NumRecords == 0 && cfg.Duration > 0 {
		return time.Now().Add(cfg.Duration)
	}
	return time.Time{}
}

// past reports whether the i-th record is past the deadline (the clock is
// read every 256 records).
func past(i int64, end time.Time) bool {
	return !end.IsZero() && i&255 == 0 && time.Now().After(end)
}

// router picks a record's partition the way bench/perf's producers do:
// the key's partition for keyed records, otherwise a partition that
// changes every batch's worth of records.
type router struct {
	parts    int32
	perBatch int64
	part     int32
}

func newRouter(cfg *perf.Config, w int) *router {
	return &router{
		parts:    cfg.Partitions,
		perBatch: max(int64(cfg.BatchSize)/int64(cfg.RecordSize+12), 1),
		part:     int32(w) % cfg.Partitions,
	}
}

func (r *router) next(i int64, key []byte) int32 {
	if key != nil {
		return client.KeyPartition(key, r.parts)
	}
	if i > 0 && i%r.perBatch == 0 {
		r.part = (r.part + 1) % r.parts
	}
	return r.part
}

// quotaOf is producer w's share of cfg.NumRecords; without a record count
// there is none (the producer stops at its deadline).
func quotaOf(cfg *perf.Config, w int) int64 {
	if cfg.NumRecords == 0 {
		return 1<<63 - 1
	}
	q := cfg.NumRecords / int64(cfg.Producers)
	if int64(w) < cfg.NumRecords%int64(cfg.Producers) {
		q++
	}
	return q
}
