package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// Run runs the workload cfg describes and returns its result. Progress
// lines go to progress (nil for none). Records that failed are counted in
// Result.Errors and make Run return an error with the result.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	res := &Result{
		System:     "sluice",
		Workload:   cfg.Workload,
		Config:     cfg,
		Machine:    ReadMachine(),
		Date:       time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(),
	}
	var err error
	switch {
	case cfg.Workload == Engine:
		res.System = "sluice-engine"
		err = runEngine(ctx, &cfg, res, progress)
	case cfg.Protocol == ProtocolKafka:
		res.System = "kafka-protocol"
		err = runKafka(ctx, &cfg, res, progress)
	default:
		err = runNet(ctx, &cfg, res, progress)
	}
	res.LoadAfter = hostinfo.LoadAverage()
	if err != nil {
		return res, err
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("perf: %d records failed", res.Errors)
	}
	return res, nil
}

// runNet runs produce, consume or e2e against a broker.
func runNet(ctx context.Context, cfg *Config, res *Result, progress io.Writer) error {
	cl, err := client.New(ctx, client.Config{BootstrapServers: cfg.Bootstrap})
	if err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	defer cl.Close()
	parts, err := ensureTopic(ctx, cl, cfg)
	if err != nil {
		return err
	}
	cfg.Partitions = parts
	res.Config.Partitions = parts

	rec := NewRecorder()
	stopProgress := rec.StartProgress(ctx, progress, cfg.Interval)
	defer stopProgress()
	var what string
	switch cfg.Workload {
	case Produce:
		what = "send to ack"
		err = produce(ctx, cl, cfg, rec, nil)
	case Consume:
		what = "per fetch"
		err = consume(ctx, cl, cfg, rec)
	case E2E:
		what = "send to receipt"
		err = endToEnd(ctx, cl, cfg, rec)
	}
	stopProgress()
	rec.Result(res, what)
	if cfg.Workload == E2E {
		res.Notes = append(res.Notes, "throughput is records received by the consumers")
	}
	return err
}

// ensureTopic creates the topic when it is missing and returns its
// partition count.
func ensureTopic(ctx context.Context, cl *client.Client, cfg *Config) (int32, error) {
	err := cl.CreateTopic(ctx, cfg.Topic, cfg.Partitions, 1, cfg.TopicConfigs)
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return 0, fmt.Errorf("perf: creating topic %s: %w", cfg.Topic, err)
	}
	n, err := cl.Partitions(ctx, cfg.Topic)
	if err != nil {
		return 0, fmt.Errorf("perf: topic %s: %w", cfg.Topic, err)
	}
	return n, nil
}

// stopper tells producers when to stop: after a record quota or at a
// deadline, whichever the config sets, or when ctx ends.
type stopper struct {
	deadline time.Time
}

func newStopper(cfg *Config) stopper {
	var s stopper
	if cfg.NumRecords == 0 && cfg.Duration > 0 {
		s.deadline = time.Now().Add(cfg.Duration)
	}
	return s
}

// done reports whether the i-th record (0-based) of a producer with the
// given quota should not be sent. The clock is read every 256 records.
func (s stopper) done(ctx context.Context, i, quota int64) bool {
	if quota > 0 {
		return i >= quota
	}
	if i&255 == 0 && (ctx.Err() != nil || (!s.deadline.IsZero() && time.Now().After(s.deadline))) {
		return true
	}
	return false
}
