package metrics_test

import (
	"bytes"
	"os/exec"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
)

// partitionFamilies are the families with a series per partition.
var partitionFamilies = []string{
	"sluice_partition_bytes_in_total", "sluice_partition_bytes_out_total",
	"sluice_partition_records_in_total", "sluice_partition_records_out_total",
	"sluice_log_size_bytes", "sluice_log_segments", "sluice_log_start_offset", "sluice_log_end_offset",
	"sluice_partition_high_watermark", "sluice_partition_isr_size", "sluice_partition_replicas",
}

// shownPartitions gathers reg once (a scrape: in active mode it starts
// the next interval) and returns the topic/partition labels the
// per-partition families have series for, sorted; it fails the test if
// the families disagree.
func shownPartitions(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for i, name := range partitionFamilies {
		var got []string
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.Metric {
				got = append(got, labelOf(m, "topic")+"/"+labelOf(m, "partition"))
			}
		}
		slices.Sort(got)
		if i == 0 {
			first = got
		} else if !slices.Equal(got, first) {
			t.Fatalf("%s has series for %v, %s for %v", name, got, partitionFamilies[0], first)
		}
	}
	return first
}

// TestPartitionSeriesModes: metrics.partition.series chooses which
// partitions get series of their own; the topic and broker totals are
// exact in every mode. Active shows the partitions that had traffic since
// the last scrape alone.
func TestPartitionSeriesModes(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for name, n := range map[string]int32{"t": 3, "u": 2} {
		if err := eng.CreateTopic(name, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	traffic := func(topic string, id int32, bytesIn, fetches int64) {
		t.Helper()
		p, err := eng.Partition(topic, id)
		if err != nil {
			t.Fatal(err)
		}
		p.Traffic().BytesIn.Add(bytesIn)
		p.Traffic().FetchRequests.Add(fetches)
	}
	registry := func(mode metrics.PartitionSeries) *prometheus.Registry {
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewCollector(metrics.Sources{Engine: eng, PartitionSeries: mode}))
		return reg
	}
	every := []string{"t/0", "t/1", "t/2", "u/0", "u/1"}
	all, active, none, auto := registry(metrics.PartitionSeriesAll), registry(metrics.PartitionSeriesActive),
		registry(metrics.PartitionSeriesNone), registry(metrics.PartitionSeriesAuto)

	scrape := func(want []string, tBytes, uBytes, tFetches float64) {
		t.Helper()
		got := shownPartitions(t, active)
		if !slices.Equal(got, want) {
			t.Fatalf("active shows %v, want %v", got, want)
		}
		for name, reg := range map[string]*prometheus.Registry{"all": all, "auto": auto} {
			if got := shownPartitions(t, reg); !slices.Equal(got, every) {
				t.Fatalf("%s shows %v, want %v", name, got, every)
			}
		}
		if got := shownPartitions(t, none); got != nil {
			t.Fatalf("none shows %v", got)
		}
		for name, reg := range map[string]*prometheus.Registry{"all": all, "active": active, "none": none} {
			for _, c := range []struct {
				family, topic string
				want          float64
			}{
				{"sluice_topic_bytes_in_total", "t", tBytes},
				{"sluice_topic_bytes_in_total", "u", uBytes},
				{"sluice_topic_fetch_requests_total", "t", tFetches},
			} {
				if got, ok := counterOf(t, reg, c.family, c.topic); !ok || got != c.want {
					t.Fatalf("%s: %s{topic=%s} = %v (present %v), want %v", name, c.family, c.topic, got, ok, c.want)
				}
			}
			if got := gaugeValue(t, reg, "sluice_partitions"); got != 5 {
				t.Fatalf("%s: sluice_partitions = %v", name, got)
			}
		}
	}
	scrape(nil, 0, 0, 0)
	traffic("t", 0, 100, 0)
	traffic("u", 1, 7, 0)
	scrape([]string{"t/0", "u/1"}, 100, 7, 0)
	scrape(nil, 100, 7, 0) // no traffic since: nothing shown, totals kept
	traffic("t", 2, 0, 3)  // a fetch that read nothing is traffic too
	scrape([]string{"t/2"}, 100, 7, 3)
}

// TestPartitionSeriesPromtool: every mode's page passes promtool check
// metrics, where promtool is installed (apt: prometheus).
func TestPartitionSeriesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateTopic("t", 4, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := eng.Partition("t", 1)
	p.Traffic().BytesIn.Add(10)
	for _, mode := range []metrics.PartitionSeries{metrics.PartitionSeriesAuto, metrics.PartitionSeriesAll,
		metrics.PartitionSeriesActive, metrics.PartitionSeriesNone} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewCollector(metrics.Sources{Engine: eng, PartitionSeries: mode}))
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var page bytes.Buffer
		enc := expfmt.NewEncoder(&page, expfmt.FmtText)
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = &page
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%v: promtool check metrics: %v\n%s", mode, err, out)
		}
	}
}

func TestParsePartitionSeries(t *testing.T) {
	for _, mode := range []metrics.PartitionSeries{metrics.PartitionSeriesAuto, metrics.PartitionSeriesAll,
		metrics.PartitionSeriesActive, metrics.PartitionSeriesNone} {
		got, err := metrics.ParsePartitionSeries(mode.String())
		if err != nil || got != mode {
			t.Fatalf("%v: parsed %v, %v", mode, got, err)
		}
	}
	for _, bad := range []string{"", "ALL", "some", "active "} {
		if _, err := metrics.ParsePartitionSeries(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
