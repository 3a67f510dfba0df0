package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
)

// BenchmarkScrape gathers and encodes the collector's page for a single
// node of n partitions (topics of 1,000), 1% of them with traffic between
// scrapes, in each metrics.partition.series mode. A size the engine
// refuses for this process's limits (engine.ErrResourceLimit) is skipped.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1_000, 5_000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) { benchScrape(b, n) })
	}
}

func benchScrape(b *testing.B, n int) {
	eng, err := engine.Open(b.TempDir(), engine.Options{RetentionCheckInterval: -1,
		TopicDefaults: map[string]string{"segment.bytes": "1048576"}})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	for i, left := 0, n; left > 0; i, left = i+1, left-1000 {
		if err := eng.CreateTopic(fmt.Sprintf("t%04d", i), int32(min(left, 1000)), nil); errors.Is(err, engine.ErrResourceLimit) {
			b.Skipf("%d partitions do not fit this process: %v", n, err)
		} else if err != nil {
			b.Fatal(err)
		}
	}
	parts := eng.Partitions()
	for _, mode := range []metrics.PartitionSeries{metrics.PartitionSeriesAll, metrics.PartitionSeriesActive, metrics.PartitionSeriesNone} {
		b.Run(mode.String(), func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(metrics.NewCollector(metrics.Sources{Engine: eng, PartitionSeries: mode}))
			series := 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for range n / 100 {
					parts[i%len(parts)].Traffic().BytesIn.Add(1)
					i += 7
				}
				fams, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				enc := expfmt.NewEncoder(io.Discard, expfmt.FmtText)
				series = 0
				for _, f := range fams {
					series += len(f.Metric)
					if err := enc.Encode(f); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(series), "series")
		})
	}
}
