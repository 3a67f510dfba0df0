package broker_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// scrapePartitions reads /metrics once and returns the topic/partition
// pairs of sluice_log_end_offset (one of the per-partition families),
// sorted, the value of sluice_topic_bytes_in_total{topic}, and the page.
func scrapePartitions(t *testing.T, b *broker.Broker, topic string) ([]string, float64, string) {
	t.Helper()
	code, body := getOps(t, b, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	if f := fams["sluice_log_end_offset"]; f != nil {
		for _, m := range f.Metric {
			var tp, part string
			for _, l := range m.Label {
				switch l.GetName() {
				case "topic":
					tp = l.GetValue()
				case "partition":
					part = l.GetValue()
				}
			}
			shown = append(shown, tp+"/"+part)
		}
	}
	slices.Sort(shown)
	total := -1.0
	if f := fams["sluice_topic_bytes_in_total"]; f != nil {
		for _, m := range f.Metric {
			if len(m.Label) == 1 && m.Label[0].GetValue() == topic {
				total = m.GetCounter().GetValue()
			}
		}
	}
	return shown, total, body
}

// TestMetricsPartitionSeriesActive: with metrics.partition.series=active
// a scrape shows the partitions produced to since the last one, and the
// topic's total stays exact when none is shown; the page passes promtool.
// (The default, auto, is all at this size: TestOpsListener.)
// A bad value is refused with the property's name.
func TestMetricsPartitionSeriesActive(t *testing.T) {
	c := broker.DefaultConfig()
	if err := c.ApplyProperties(map[string]string{"metrics.partition.series": "most"}); err == nil ||
		!strings.Contains(err.Error(), "metrics.partition.series") {
		t.Fatalf("bad value: %v", err)
	}
	b := broker.StartTest(t, func(c *broker.Config) {
		c.MetricsListen = "127.0.0.1:0"
		if err := c.ApplyProperties(map[string]string{"metrics.partition.series": "active"}); err != nil {
			t.Fatal(err)
		}
	})
	if err := b.Engine.CreateTopic("s", 4, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce := func(partition int32, value string) {
		t.Helper()
		r := &kgo.Record{Topic: "s", Partition: partition, Value: []byte(value)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	if shown, total, _ := scrapePartitions(t, b, "s"); shown != nil || total != 0 {
		t.Fatalf("before any traffic: shown %v, total %v", shown, total)
	}
	produce(2, "abc")
	produce(2, "defg")
	shown, total, page := scrapePartitions(t, b, "s")
	if !slices.Equal(shown, []string{"s/2"}) || total <= 0 {
		t.Fatalf("after producing to s/2: shown %v, bytes in %v", shown, total)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(page)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
	if shown, again, _ := scrapePartitions(t, b, "s"); shown != nil || again != total {
		t.Fatalf("idle since: shown %v, bytes in %v, want %v", shown, again, total)
	}
	produce(0, "h")
	if shown, more, _ := scrapePartitions(t, b, "s"); !slices.Equal(shown, []string{"s/0"}) || more <= total {
		t.Fatalf("after producing to s/0: shown %v, bytes in %v (was %v)", shown, more, total)
	}
}
