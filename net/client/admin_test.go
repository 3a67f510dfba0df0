package client

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
)

func TestAdminRoundTrip(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)

	if err := cl.CreateTopic(ctx, "orders", 3, 1, map[string]string{"retention.ms": "3600000"}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if err := cl.CreateTopic(ctx, "events", -1, -1, nil); err != nil {
		t.Fatalf("CreateTopic with broker defaults: %v", err)
	}
	err := cl.CreateTopic(ctx, "orders", 3, 1, nil)
	if !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		t.Fatalf("second CreateTopic: %v, want TOPIC_ALREADY_EXISTS", err)
	}
	var be *BrokerError
	if !errors.As(err, &be) || be.Topic != "orders" || be.API != protocol.CreateTopics {
		t.Fatalf("error %v: want a *BrokerError naming the topic and API", err)
	}
	if err := cl.CreateTopic(ctx, "bad", 0, 1, nil); !errors.Is(err, protocol.ErrInvalidPartitions) {
		t.Fatalf("CreateTopic with 0 partitions: %v", err)
	}
	if err := cl.CreateTopic(ctx, "bad", 1, 3, nil); !errors.Is(err, protocol.ErrInvalidReplicationFactor) {
		t.Fatalf("CreateTopic with replication 3: %v", err)
	}
	if err := cl.CreateTopic(ctx, "bad", 1, 1, map[string]string{"no.such.config": "1"}); !errors.Is(err, protocol.ErrInvalidConfig) {
		t.Fatalf("CreateTopic with unknown config: %v", err)
	} else if !strings.Contains(err.Error(), "no.such.config") {
		t.Errorf("error %q should carry the broker's message naming the config", err)
	}

	topics, err := cl.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(topics, []string{"events", "orders"}) {
		t.Fatalf("ListTopics = %v", topics)
	}
	if n, err := cl.Partitions(ctx, "orders"); err != nil || n != 3 {
		t.Fatalf("Partitions = %d, %v", n, err)
	}
	if n, err := cl.Partitions(ctx, "events"); err != nil || n != 1 {
		t.Fatalf("Partitions(events) = %d, %v (num.partitions default)", n, err)
	}

	info, err := cl.DescribeTopic(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "orders" || len(info.Partitions) != 3 {
		t.Fatalf("DescribeTopic = %+v", info)
	}
	for i, p := range info.Partitions {
		if p.Partition != int32(i) || p.Leader != 0 || !slices.Equal(p.Replicas, []int32{0}) || !slices.Equal(p.ISR, []int32{0}) ||
			p.LogStartOffset != 0 || p.HighWatermark != 0 {
			t.Errorf("partition %d: %+v", i, p)
		}
	}

	cfgs, err := cl.DescribeConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	get := func(cfgs []ConfigEntry, name string) ConfigEntry {
		for _, c := range cfgs {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("config %s missing from %+v", name, cfgs)
		return ConfigEntry{}
	}
	if c := get(cfgs, "retention.ms"); c.Value != "3600000" || c.IsDefault || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("retention.ms = %+v", c)
	}
	if c := get(cfgs, "segment.bytes"); !c.IsDefault || c.Source != "DEFAULT_CONFIG" {
		t.Errorf("segment.bytes = %+v", c)
	}
	if !slices.IsSortedFunc(cfgs, func(a, b ConfigEntry) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("configs not sorted by name")
	}

	if err := cl.AlterConfigs(ctx, "orders", map[string]string{"segment.bytes": "1048576"}, []string{"retention.ms"}); err != nil {
		t.Fatal(err)
	}
	cfgs, err = cl.DescribeConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if c := get(cfgs, "segment.bytes"); c.Value != "1048576" || c.IsDefault {
		t.Errorf("after alter, segment.bytes = %+v", c)
	}
	if c := get(cfgs, "retention.ms"); !c.IsDefault || c.Value != "604800000" {
		t.Errorf("after remove, retention.ms = %+v", c)
	}
	if err := cl.AlterConfigs(ctx, "orders", map[string]string{"segment.bytes": "nope"}, nil); !errors.Is(err, protocol.ErrInvalidConfig) {
		t.Errorf("alter with a bad value: %v", err)
	}
	if err := cl.AlterConfigs(ctx, "missing", map[string]string{"segment.bytes": "1048576"}, nil); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Errorf("alter a missing topic: %v", err)
	}
	if _, err := cl.DescribeConfigs(ctx, "missing"); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Errorf("describe configs of a missing topic: %v", err)
	}

	if err := cl.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteTopic(ctx, "orders"); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("second DeleteTopic: %v", err)
	}
	if _, err := cl.DescribeTopic(ctx, "orders"); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("DescribeTopic after delete: %v", err)
	}
	if _, err := cl.Partitions(ctx, "orders"); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("Partitions after delete: %v", err)
	}
	if _, err := cl.ListOffset(ctx, "orders", 0, protocol.LatestTimestamp); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("ListOffset after delete: %v", err)
	}
	topics, err = cl.ListTopics(ctx)
	if err != nil || !slices.Equal(topics, []string{"events"}) {
		t.Fatalf("ListTopics after delete = %v, %v", topics, err)
	}
}

func TestDeleteDisabled(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) { c.DeleteTopicEnable = false })
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 10*time.Second)
	if err := cl.CreateTopic(ctx, "kept", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteTopic(ctx, "kept"); !errors.Is(err, protocol.ErrTopicDeletionDisabled) {
		t.Fatalf("DeleteTopic = %v, want TOPIC_DELETION_DISABLED", err)
	}
}

func TestNewBadAddress(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	ctx := testCtx(t, 10*time.Second)
	start := time.Now()
	_, err := New(ctx, Config{BootstrapServers: []string{addr}, DialTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("New succeeded against a closed port")
	}
	if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q: want ErrNetwork naming %s", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("New took %v to fail", d)
	}
	checkNoClientGoroutines(t)
}
