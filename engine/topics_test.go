package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

func TestTopicNames(t *testing.T) {
	good := []string{"a", "events", "a.b_c-D9", strings.Repeat("x", 249), "..."}
	for _, n := range good {
		if err := engine.ValidateTopicName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	bad := []string{"", ".", "..", strings.Repeat("x", 250), "a/b", "a b", "é", "a\x00", "topic:1"}
	for _, n := range bad {
		if err := engine.ValidateTopicName(n); !errors.Is(err, engine.ErrInvalidTopic) {
			t.Errorf("%q: got %v, want ErrInvalidTopic", n, err)
		}
	}
	e := openEngine(t, t.TempDir(), engine.Options{})
	if err := e.CreateTopic("../escape", 1, nil); !errors.Is(err, engine.ErrInvalidTopic) {
		t.Fatalf("create ../escape: %v", err)
	}
	if got := e.Topics(); len(got) != 0 {
		t.Fatalf("topics after refused creates: %v", got)
	}
}

func TestTopicLifecycle(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	if err := e.CreateTopic("orders", 3, map[string]string{"retention.ms": "1000", "message.timestamp.type": "LogAppendTime"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("audit", 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("orders", 1, nil); !errors.Is(err, engine.ErrTopicExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := e.CreateTopic("zero", 0, nil); !errors.Is(err, engine.ErrInvalidPartitions) {
		t.Fatalf("0 partitions: %v", err)
	}
	if err := e.CreateTopic("bad-config", 1, map[string]string{"retention.mss": "1"}); !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("unknown config: %v", err)
	}
	if err := e.CreateTopic("bad-value", 1, map[string]string{"segment.bytes": "ten"}); !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("bad value: %v", err)
	}
	if got, want := e.Topics(), []string{"audit", "orders"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("topics %v, want %v", got, want)
	}
	d, err := e.DescribeTopic("orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 3 {
		t.Fatalf("partitions %d", len(d.Partitions))
	}
	cfgs := map[string]engine.ConfigEntry{}
	for _, c := range d.Configs {
		cfgs[c.Name] = c
	}
	if c := cfgs["retention.ms"]; c.Value != "1000" || c.Source != "topic" {
		t.Fatalf("retention.ms %+v", c)
	}
	if c := cfgs["segment.bytes"]; c.Value != "1073741824" || c.Source != "default" {
		t.Fatalf("segment.bytes %+v", c)
	}
	if _, err := e.Partition("orders", 3); !errors.Is(err, engine.ErrUnknownPartition) {
		t.Fatalf("partition 3: %v", err)
	}
	if _, err := e.Partition("nope", 0); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}

	// Alter: set one, remove another; an invalid value changes nothing.
	if err := e.AlterTopicConfig("orders", map[string]string{"retention.bytes": "5000"}, []string{"retention.ms"}); err != nil {
		t.Fatal(err)
	}
	if err := e.AlterTopicConfig("orders", map[string]string{"retention.bytes": "-7"}, nil); !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("invalid alter: %v", err)
	}
	cfg, _ := e.TopicConfig("orders")
	if cfg.RetentionBytes != 5000 || cfg.RetentionMs != 604800000 || cfg.TimestampType != batch.LogAppendTime {
		t.Fatalf("after alter: %+v", cfg)
	}

	// Everything survives a restart.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := openEngine(t, dir, engine.Options{})
	if got, want := e2.Topics(), []string{"audit", "orders"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("topics after restart %v", got)
	}
	cfg, _ = e2.TopicConfig("orders")
	if cfg.RetentionBytes != 5000 || cfg.RetentionMs != 604800000 || cfg.TimestampType != batch.LogAppendTime {
		t.Fatalf("config after restart: %+v", cfg)
	}
	d2, _ := e2.DescribeTopic("orders")
	if d2.ID != d.ID {
		t.Fatal("topic id changed across restart")
	}

	// Delete removes the folders and the metadata; the name is free again.
	p, _ := e2.Partition("orders", 1)
	if _, err := p.Append(buildBatch(t, batch.None, "x", 3, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e2.DeleteTopic("orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "orders-1")); !os.IsNotExist(err) {
		t.Fatalf("partition folder still there: %v", err)
	}
	if err := e2.DeleteTopic("orders"); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := p.Append(buildBatch(t, batch.None, "x", 1, 1)); err == nil {
		t.Fatal("append to a deleted topic's partition succeeded")
	}
	if err := e2.CreateTopic("orders", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ = e2.Partition("orders", 0)
	if p.LogEndOffset() != 0 {
		t.Fatalf("recreated topic starts at %d", p.LogEndOffset())
	}
	if err := e2.CreatePartitions("orders", 4); err != nil {
		t.Fatal(err)
	}
	if err := e2.CreatePartitions("orders", 2); !errors.Is(err, engine.ErrInvalidPartitions) {
		t.Fatalf("shrink: %v", err)
	}
	if _, err := e2.Partition("orders", 3); err != nil {
		t.Fatal(err)
	}
}

func TestDataDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	openEngine(t, dir, engine.Options{})
	if _, err := engine.Open(dir, engine.Options{}); !errors.Is(err, engine.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

func TestBadEngineDefaults(t *testing.T) {
	_, err := engine.Open(t.TempDir(), engine.Options{TopicDefaults: map[string]string{"segment.bytes": "1"}})
	if !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

func TestEngineDefaultsApply(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{TopicDefaults: map[string]string{"retention.ms": "60000"}})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := e.TopicConfig("t")
	if cfg.RetentionMs != 60000 {
		t.Fatalf("retention.ms %d", cfg.RetentionMs)
	}
}

func TestOperationsAfterClose(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	checks := map[string]error{
		"create":     e.CreateTopic("u", 1, nil),
		"delete":     e.DeleteTopic("t"),
		"alter":      e.AlterTopicConfig("t", map[string]string{"retention.ms": "1"}, nil),
		"partitions": e.CreatePartitions("t", 2),
	}
	_, checks["partition"] = e.Partition("t", 0)
	_, checks["append"] = p.Append(buildBatch(t, batch.None, "x", 1, 1))
	for name, err := range checks {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s after close: %v, want ErrClosed", name, err)
		}
	}
}
