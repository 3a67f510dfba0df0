package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
)

// counterOf is the value of counter name with the given topic label ("":
// no label), and whether it is on the page.
func counterOf(t *testing.T, reg *prometheus.Registry, name, topic string) (float64, bool) {
	t.Helper()
	f := family(t, reg, name)
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if labelOf(m, "topic") == topic {
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestCountersSurviveRemovedPartitions: a replica moved away takes its
// counters with it, yet the topic's and the broker's sums never go down
// (Prometheus would read that as a reset); a topic with nothing left here
// drops out.
func TestCountersSurviveRemovedPartitions(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateTopic("t", 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := eng.CreateTopic("gone", 1, nil); err != nil {
		t.Fatal(err)
	}
	for id, n := range []int64{100, 40} {
		p, err := eng.Partition("t", int32(id))
		if err != nil {
			t.Fatal(err)
		}
		p.Traffic().BytesIn.Add(n)
		p.Traffic().ReplicationBytesIn.Add(n)
	}
	g, _ := eng.Partition("gone", 0)
	g.Traffic().BytesIn.Add(7)
	g.Traffic().ReplicationBytesOut.Add(7)

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(metrics.Sources{Engine: eng}))
	check := func(name, topic string, want float64, present bool) {
		t.Helper()
		got, ok := counterOf(t, reg, name, topic)
		if ok != present || got != want {
			t.Fatalf("%s{topic=%q} = %v (present %v), want %v (present %v)", name, topic, got, ok, want, present)
		}
	}
	check("sluice_topic_bytes_in_total", "t", 140, true)
	check("sluice_replication_bytes_in_total", "", 140, true)
	check("sluice_replication_bytes_out_total", "", 7, true)

	// Partition 1 of t moves away; topic gone goes.
	if err := eng.SetHosted("t", 2, []int32{0}); err != nil {
		t.Fatal(err)
	}
	if err := eng.DeleteTopic("gone"); err != nil {
		t.Fatal(err)
	}
	p0, _ := eng.Partition("t", 0)
	p0.Traffic().BytesIn.Add(1)
	check("sluice_topic_bytes_in_total", "t", 141, true)
	check("sluice_replication_bytes_in_total", "", 140, true)
	check("sluice_replication_bytes_out_total", "", 7, true)
	check("sluice_topic_bytes_in_total", "gone", 0, false)
	// And again: retired counts are added once, not per scrape.
	check("sluice_topic_bytes_in_total", "t", 141, true)
	check("sluice_replication_bytes_in_total", "", 140, true)
}
