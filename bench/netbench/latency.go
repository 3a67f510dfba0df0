package netbench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluicelog/sluice/net/client"
)

// LatencyResult is produce latency at a fixed rate: each record's time
// from the start of its Send call to its acknowledgement callback.
type LatencyResult struct {
	Topic string `json:"topic"`
	// TargetRate is the rate asked for: LatencyFraction of the peak
	// records/s measured by the produce phase of the same run.
	TargetRate float64 `json:"target_records_per_s"`
	Rate       float64 `json:"records_per_s"` // achieved
	Records    int64   `json:"records"`
	Failed     int64   `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	// Percentiles of the latency, in microseconds (HdrHistogram, 3
	// significant digits).
	P50Us  float64 `json:"p50_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
	MeanUs float64 `json:"mean_us"`
	CPU    CPUUse  `json:"cpu"`
}

// LatencyFraction is the share of the peak produce rate at which latency
// is measured (issue 3: "at half of peak throughput").
const LatencyFraction = 0.5

// pacingTick is how often the paced producer catches up with its
// schedule: short enough that a tick's records go out as a small burst
// (about a millisecond's worth), long enough that sleeping is cheap.
const pacingTick = time.Millisecond

// produceLatency sends records to a fresh topic at rate records/s for
// about d and measures each one's latency.
func (r *runner) produceLatency(ctx context.Context, rate float64, d time.Duration) (LatencyResult, error) {
	cfg := &r.cfg
	res := LatencyResult{Topic: r.work.topic + "-latency", TargetRate: rate}
	if rate <= 0 {
		return res, fmt.Errorf("latency: no rate to run at (%.0f records/s)", rate)
	}
	if err := r.cl.CreateTopic(ctx, res.Topic, 1, 1, nil); err != nil {
		return res, err
	}
	if _, err := r.cl.Partitions(ctx, res.Topic); err != nil {
		return res, err
	}
	p, err := r.cl.NewProducer(client.ProducerConfig{
		Acks: cfg.Acks, Compression: cfg.Compression, Linger: cfg.Linger,
		BatchSize: cfg.BatchSize, MaxRequestSize: cfg.maxRequestSize(),
		Partitioner: client.ManualPartitioner(),
	})
	if err != nil {
		return res, err
	}
	defer p.Close(context.Background())

	total := int64(rate * d.Seconds())
	// Send start times by offset: the topic is new, so a record's offset
	// is its index, and one callback serves every record.
	sentAt := make([]int64, total)
	hist := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var mu sync.Mutex
	var failed int64
	var firstErr error
	cb := func(md client.RecordMetadata, err error) {
		now := time.Now().UnixNano()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if failed++; firstErr == nil {
				firstErr = err
			}
			return
		}
		if md.Offset >= 0 && md.Offset < total {
			hist.RecordValue(max((now-sentAt[md.Offset])/int64(time.Microsecond), 1))
		}
	}
	recs := r.work.recs
	rec := client.Record{Topic: res.Topic, Partition: 0}
	meter := startCPU(r.broker.pid())
	start := time.Now()
	var sent int64
	for sent < total {
		due := min(total, int64(time.Since(start).Seconds()*rate)+1)
		for ; sent < due; sent++ {
			rec.Value = recs[sent%int64(len(recs))].Value
			sentAt[sent] = time.Now().UnixNano()
			if err := p.Send(ctx, &rec, cb); err != nil {
				return res, fmt.Errorf("latency: send record %d: %w", sent, err)
			}
		}
		// Caught up with the schedule: let a tick's worth of records
		// come due.
		if sent < total {
			time.Sleep(pacingTick)
		}
	}
	if err := p.Flush(ctx); err != nil {
		return res, err
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	mu.Lock()
	defer mu.Unlock()
	res.Records, res.Failed = sent, failed
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	res.Seconds = elapsed.Seconds()
	res.Rate = float64(sent) / elapsed.Seconds()
	res.P50Us = float64(hist.ValueAtQuantile(50))
	res.P99Us = float64(hist.ValueAtQuantile(99))
	res.P999Us = float64(hist.ValueAtQuantile(99.9))
	res.MaxUs = float64(hist.Max())
	res.MeanUs = hist.Mean()
	if got := hist.TotalCount(); got != sent-failed {
		return res, fmt.Errorf("latency: %d acknowledgements recorded for %d records sent (%d failed)", got, sent, failed)
	}
	return res, nil
}
