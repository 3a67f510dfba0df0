package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// TestMaxPartitionsPerTopicProperty: max.partitions.per.topic bounds
// CreateTopics and CreatePartitions (INVALID_PARTITIONS naming the
// property), DescribeConfigs reports it, and its default is the
// engine's, high enough for 100,000 partitions.
func TestMaxPartitionsPerTopicProperty(t *testing.T) {
	if def := broker.DefaultConfig().MaxPartitionsPerTopic; def < 100000 {
		t.Fatalf("default max.partitions.per.topic %d, want at least 100000", def)
	}
	b := broker.StartTest(t, func(c *broker.Config) {
		if err := c.ApplyProperties(map[string]string{"max.partitions.per.topic": "8"}); err != nil {
			t.Fatal(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, 9, 1, nil, "nine")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.InvalidPartitions) || !strings.Contains(resp.ErrMessage, "max.partitions.per.topic") {
		t.Fatalf("create of 9 over a cap of 8: %v %q", err, resp.ErrMessage)
	}
	if resp, err := adm.CreateTopic(ctx, 8, 1, nil, "eight"); err != nil || resp.Err != nil {
		t.Fatalf("create of 8: %v %v", err, resp.Err)
	}
	grown, err := adm.CreatePartitions(ctx, 9, "eight")
	if err == nil {
		err = grown["eight"].Err
	}
	if !errors.Is(err, kerr.InvalidPartitions) {
		t.Fatalf("grow past the cap: %v", err)
	}
	cfgs, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, rc := range cfgs {
		for _, c := range rc.Configs {
			if c.Key == "max.partitions.per.topic" {
				got = c.MaybeValue()
			}
		}
	}
	if got != "8" {
		t.Fatalf("DescribeConfigs max.partitions.per.topic = %q, want 8", got)
	}
	zero := broker.DefaultConfig()
	if err := zero.ApplyProperties(map[string]string{"max.partitions.per.topic": "0"}); err == nil {
		t.Fatal("max.partitions.per.topic=0 accepted")
	}
}
