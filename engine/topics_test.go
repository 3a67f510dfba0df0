package engine_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// TestTopicCleanupPolicy: cleanup.policy takes delete, compact or both, in
// either order and spelling of the list, and is kept normalised; Compact
// and Delete say which it names. Anything else is refused with the allowed
// values named, on create, alter and as an engine default.
func TestTopicCleanupPolicy(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{})
	good := []struct {
		value, want     string
		compact, delete bool
	}{
		{"delete", "delete", false, true},
		{"compact", "compact", true, false},
		{"compact,delete", "compact,delete", true, true},
		{"delete,compact", "compact,delete", true, true},
		{" delete , compact ", "compact,delete", true, true},
		{"compact,compact", "compact", true, false},
	}
	for i, c := range good {
		name := fmt.Sprintf("good-%d", i)
		if err := e.CreateTopic(name, 1, map[string]string{"cleanup.policy": c.value}); err != nil {
			t.Fatalf("%q: %v", c.value, err)
		}
		cfg, _ := e.TopicConfig(name)
		if cfg.CleanupPolicy != c.want || cfg.Compact != c.compact || cfg.Delete != c.delete {
			t.Errorf("%q: policy %q compact %v delete %v, want %q %v %v", c.value, cfg.CleanupPolicy, cfg.Compact, cfg.Delete, c.want, c.compact, c.delete)
		}
		if got := describedConfig(t, e, name, "cleanup.policy"); got.Value != c.want || got.Source != "topic" {
			t.Errorf("%q: described as %+v", c.value, got)
		}
	}
	for _, v := range []string{"", "Compact", "compact,", ",delete", "compact;delete", "retain", "delete,bogus", "none"} {
		err := engine.ValidateConfigs(map[string]string{"cleanup.policy": v})
		if !errors.Is(err, engine.ErrInvalidConfig) || !strings.Contains(err.Error(), "delete, compact") {
			t.Errorf("%q: %v, want ErrInvalidConfig naming the allowed values", v, err)
		}
		if err := e.CreateTopic("bad", 1, map[string]string{"cleanup.policy": v}); !errors.Is(err, engine.ErrInvalidConfig) {
			t.Errorf("create with %q: %v", v, err)
		}
	}

	// The default is delete; an alter turns compaction on, and it survives
	// a restart; removing the override goes back to delete.
	if err := e.CreateTopic("users", 1, nil); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := e.TopicConfig("users"); cfg.CleanupPolicy != "delete" || cfg.Compact || !cfg.Delete {
		t.Fatalf("default: %+v", cfg)
	}
	if err := e.AlterTopicConfig("users", map[string]string{"cleanup.policy": "compact"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.AlterTopicConfig("users", map[string]string{"cleanup.policy": "shred"}, nil); !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("bad alter: %v", err)
	}
	e.Close()
	e = openEngine(t, dir, engine.Options{})
	if cfg, _ := e.TopicConfig("users"); cfg.CleanupPolicy != "compact" || !cfg.Compact || cfg.Delete {
		t.Fatalf("after restart: %+v", cfg)
	}
	if err := e.AlterTopicConfig("users", nil, []string{"cleanup.policy"}); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := e.TopicConfig("users"); cfg.CleanupPolicy != "delete" || cfg.Compact || !cfg.Delete {
		t.Fatalf("override removed: %+v", cfg)
	}

	// An engine default (log.cleanup.policy) applies to topics without an
	// override, and a bad one stops Open.
	e2 := openEngine(t, t.TempDir(), engine.Options{TopicDefaults: map[string]string{"cleanup.policy": "delete,compact"}})
	if err := e2.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := e2.TopicConfig("t"); cfg.CleanupPolicy != "compact,delete" || !cfg.Compact || !cfg.Delete {
		t.Fatalf("engine default: %+v", cfg)
	}
	if got := describedConfig(t, e2, "t", "cleanup.policy"); got.Value != "compact,delete" || got.Source != "default" {
		t.Fatalf("engine default described as %+v", got)
	}
	if _, err := engine.Open(t.TempDir(), engine.Options{TopicDefaults: map[string]string{"cleanup.policy": "archive"}}); !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("bad engine default: %v", err)
	}
}

// TestTopicCompactionConfigs: min.cleanable.dirty.ratio,
// min.compaction.lag.ms, max.compaction.lag.ms and delete.retention.ms
// have Kafka's defaults and ranges, and are described with every other
// config.
func TestTopicCompactionConfigs(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{})
	if err := e.CreateTopic("defaults", 1, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := e.TopicConfig("defaults")
	if cfg.MinCleanableDirtyRatio != 0.5 || cfg.MinCompactionLagMs != 0 || cfg.MaxCompactionLagMs != math.MaxInt64 || cfg.DeleteRetentionMs != 86400000 {
		t.Fatalf("defaults: %+v", cfg)
	}
	for name, want := range map[string]string{
		"min.cleanable.dirty.ratio": "0.5",
		"min.compaction.lag.ms":     "0",
		"max.compaction.lag.ms":     "9223372036854775807",
		"delete.retention.ms":       "86400000",
	} {
		if got := describedConfig(t, e, "defaults", name); got.Value != want || got.Source != "default" || got.Doc == "" {
			t.Errorf("%s: %+v, want default %s", name, got, want)
		}
		if !slices.Contains(engine.ConfigNames(), name) {
			t.Errorf("%s missing from ConfigNames", name)
		}
	}

	overrides := map[string]string{
		"cleanup.policy":            "compact",
		"min.cleanable.dirty.ratio": "0.01",
		"min.compaction.lag.ms":     "60000",
		"max.compaction.lag.ms":     "3600000",
		"delete.retention.ms":       "0",
	}
	if err := e.CreateTopic("tuned", 1, overrides); err != nil {
		t.Fatal(err)
	}
	cfg, _ = e.TopicConfig("tuned")
	if cfg.MinCleanableDirtyRatio != 0.01 || cfg.MinCompactionLagMs != 60000 || cfg.MaxCompactionLagMs != 3600000 || cfg.DeleteRetentionMs != 0 {
		t.Fatalf("overrides: %+v", cfg)
	}
	for name, want := range overrides {
		if got := describedConfig(t, e, "tuned", name); got.Value != want || got.Source != "topic" {
			t.Errorf("%s: %+v, want topic %s", name, got, want)
		}
	}
	// Ratios print as Kafka prints doubles.
	for v, want := range map[string]string{"0": "0.0", "1": "1.0", "0.25": "0.25", "1e-3": "0.001"} {
		if err := e.AlterTopicConfig("tuned", map[string]string{"min.cleanable.dirty.ratio": v}, nil); err != nil {
			t.Fatalf("ratio %s: %v", v, err)
		}
		if got := describedConfig(t, e, "tuned", "min.cleanable.dirty.ratio"); got.Value != want {
			t.Errorf("ratio %s described as %q, want %q", v, got.Value, want)
		}
	}

	bad := []map[string]string{
		{"min.cleanable.dirty.ratio": "1.5"},
		{"min.cleanable.dirty.ratio": "-0.1"},
		{"min.cleanable.dirty.ratio": "NaN"},
		{"min.cleanable.dirty.ratio": "half"},
		{"min.compaction.lag.ms": "-1"},
		{"min.compaction.lag.ms": "1m"},
		{"max.compaction.lag.ms": "0"},
		{"delete.retention.ms": "-1"},
		{"min.compaction.lag.ms": "2000", "max.compaction.lag.ms": "1000"},
	}
	for _, b := range bad {
		if err := engine.ValidateConfigs(b); !errors.Is(err, engine.ErrInvalidConfig) {
			t.Errorf("%v: %v, want ErrInvalidConfig", b, err)
		}
		if err := e.CreateTopic("bad", 1, b); !errors.Is(err, engine.ErrInvalidConfig) {
			t.Errorf("create with %v: %v", b, err)
		}
	}
	// Min above max is refused in the engine's defaults too...
	_, err := engine.Open(t.TempDir(), engine.Options{TopicDefaults: map[string]string{"min.compaction.lag.ms": "2000", "max.compaction.lag.ms": "1000"}})
	if !errors.Is(err, engine.ErrInvalidConfig) {
		t.Fatalf("min above max in the defaults: %v", err)
	}
	// ...but tolerated between an override and a default, so a stored
	// topic loads whatever the defaults became.
	e2 := openEngine(t, t.TempDir(), engine.Options{TopicDefaults: map[string]string{"max.compaction.lag.ms": "1000"}})
	if err := e2.CreateTopic("t", 1, map[string]string{"min.compaction.lag.ms": "5000"}); err != nil {
		t.Fatalf("override above the default max: %v", err)
	}
}

// describedConfig returns one config of DescribeTopic's answer.
func describedConfig(t *testing.T, e *engine.Engine, topic, name string) engine.ConfigEntry {
	t.Helper()
	d, err := e.DescribeTopic(topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Configs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("topic %s: no config %s in %+v", topic, name, d.Configs)
	return engine.ConfigEntry{}
}
