package request_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// BenchmarkProduce appends one batch of 10 records through the handler,
// with the Produce value reused as a connection reuses it: the layer adds
// no allocation to the engine's append (whose one is publishing the new
// high watermark). With metrics on, the partition's traffic counters add
// atomic adds and no allocation.
func BenchmarkProduce(b *testing.B) {
	for _, m := range metricsModes() {
		b.Run("metrics="+m.name, func(b *testing.B) { benchProduce(b, m.requests) })
	}
}

type metricsMode struct {
	name     string
	requests *metrics.Requests
}

func metricsModes() []metricsMode {
	return []metricsMode{{"off", nil}, {"on", metrics.New(prometheus.NewRegistry()).Requests()}}
}

func benchProduce(b *testing.B, m *metrics.Requests) {
	eng, err := engine.Open(b.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateTopic("bench", 1, nil); err != nil {
		b.Fatal(err)
	}
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h := request.New(eng, local, request.Config{Metrics: m})
	bb := batch.NewBuilder(batch.None)
	for range 10 {
		bb.Append(1, []byte("key"), make([]byte, 100), nil)
	}
	recs, err := bb.Build()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var p request.Produce
	b.SetBytes(int64(len(recs)))
	b.ReportAllocs()
	for b.Loop() {
		p.Reset(1, false)
		p.Add("bench", 0, recs)
		if h.Produce(ctx, &p) {
			b.Fatal(p.Partitions[0].Err)
		}
	}
}

// BenchmarkFetch reads 64 KiB from one partition through the handler, with
// the Fetch value reused: regions, not bytes, come back.
func BenchmarkFetch(b *testing.B) {
	for _, m := range metricsModes() {
		b.Run("metrics="+m.name, func(b *testing.B) { benchFetch(b, m.requests) })
	}
}

func benchFetch(b *testing.B, m *metrics.Requests) {
	eng, err := engine.Open(b.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateTopic("bench", 1, nil); err != nil {
		b.Fatal(err)
	}
	part, _ := eng.Partition("bench", 0)
	bb := batch.NewBuilder(batch.None)
	for range 64 {
		bb.Reset()
		for range 16 {
			bb.Append(1, nil, make([]byte, 1000), nil)
		}
		recs, _ := bb.Build()
		if _, err := part.Append(recs); err != nil {
			b.Fatal(err)
		}
	}
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h := request.New(eng, local, request.Config{Metrics: m})
	ctx := context.Background()
	var f request.Fetch
	b.ReportAllocs()
	for b.Loop() {
		f.Reset(0, 1, 1<<20)
		f.Add("bench", 0, 0, 64<<10, 0)
		h.Fetch(ctx, &f, nil)
		if f.Partitions[0].Err != nil || f.Partitions[0].Records.Len == 0 {
			b.Fatal(f.Partitions[0].Err)
		}
		f.Release()
	}
}
