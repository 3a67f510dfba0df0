package engine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// TopicConfig is the effective configuration of a topic: Kafka's defaults,
// overlaid by the engine's defaults, overlaid by the topic's overrides. The
// field comments give the Kafka config name.
type TopicConfig struct {
	RetentionMs        int64               // retention.ms; -1 keeps data forever
	RetentionBytes     int64               // retention.bytes per partition; -1 for no limit
	SegmentBytes       int64               // segment.bytes
	SegmentMs          int64               // segment.ms
	SegmentIndexBytes  int64               // segment.index.bytes
	IndexIntervalBytes int64               // index.interval.bytes
	FlushMessages      int64               // flush.messages
	FlushMs            int64               // flush.ms
	FlushOnAck         bool                // flush.on.ack (Sluice): appends return after fdatasync
	MaxMessageBytes    int64               // max.message.bytes: largest batch accepted
	TimestampType      batch.TimestampType // message.timestamp.type
	CleanupPolicy      string              // cleanup.policy: only "delete" so far
	MinInsyncReplicas  int64               // min.insync.replicas: ISR size acks=all needs
	// UncleanLeaderElection is unclean.leader.election.enable: a
	// partition whose ISR has no live member may be led by a live replica
	// outside it, losing what only the ISR had.
	UncleanLeaderElection bool
}

// configDef describes one topic config: its name, Kafka's default, and how
// to parse a value into a TopicConfig and print it back.
type configDef struct {
	name string
	def  string
	doc  string
	set  func(c *TopicConfig, v string) error
	get  func(c *TopicConfig) string
}

func longConfig(name, def, doc string, min int64, field func(*TopicConfig) *int64) configDef {
	return configDef{
		name: name, def: def, doc: doc,
		set: func(c *TopicConfig, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: not an integer", name, v)
			}
			if n < min {
				return fmt.Errorf("%s=%d: must be at least %d", name, n, min)
			}
			*field(c) = n
			return nil
		},
		get: func(c *TopicConfig) string { return strconv.FormatInt(*field(c), 10) },
	}
}

func boolConfig(name, doc string, field func(*TopicConfig) *bool) configDef {
	return configDef{
		name: name, def: "false", doc: doc,
		set: func(c *TopicConfig, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s=%q: must be true or false", name, v)
			}
			*field(c) = b
			return nil
		},
		get: func(c *TopicConfig) string { return strconv.FormatBool(*field(c)) },
	}
}

// configDefs lists every topic config Sluice knows, in Kafka's names.
var configDefs = []configDef{
	longConfig("retention.ms", "604800000", "how long a segment is kept after its newest record, -1 for ever", -1,
		func(c *TopicConfig) *int64 { return &c.RetentionMs }),
	longConfig("retention.bytes", "-1", "largest size a partition may reach before its oldest segments go, -1 for no limit", -1,
		func(c *TopicConfig) *int64 { return &c.RetentionBytes }),
	longConfig("segment.bytes", "1073741824", "size at which the active segment rolls", 14,
		func(c *TopicConfig) *int64 { return &c.SegmentBytes }),
	longConfig("segment.ms", "604800000", "age at which the active segment rolls", 1,
		func(c *TopicConfig) *int64 { return &c.SegmentMs }),
	longConfig("segment.index.bytes", "10485760", "preallocated size of a segment's offset index", 4,
		func(c *TopicConfig) *int64 { return &c.SegmentIndexBytes }),
	longConfig("index.interval.bytes", "4096", "log bytes between two offset index entries", 0,
		func(c *TopicConfig) *int64 { return &c.IndexIntervalBytes }),
	longConfig("flush.messages", strconv.FormatInt(math.MaxInt64, 10), "records appended between two fdatasyncs", 1,
		func(c *TopicConfig) *int64 { return &c.FlushMessages }),
	longConfig("flush.ms", strconv.FormatInt(math.MaxInt64, 10), "longest time data stays unsynced", 0,
		func(c *TopicConfig) *int64 { return &c.FlushMs }),
	longConfig("max.message.bytes", "1048588", "largest record batch accepted", 0,
		func(c *TopicConfig) *int64 { return &c.MaxMessageBytes }),
	longConfig("min.insync.replicas", "1", "in-sync replicas an acks=all write needs", 1,
		func(c *TopicConfig) *int64 { return &c.MinInsyncReplicas }),
	boolConfig("unclean.leader.election.enable", "elect a replica outside the ISR when no ISR member is alive, losing data",
		func(c *TopicConfig) *bool { return &c.UncleanLeaderElection }),
	{
		name: "flush.on.ack", def: "false", doc: "acknowledge appends only after fdatasync (group commit)",
		set: func(c *TopicConfig, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("flush.on.ack=%q: must be true or false", v)
			}
			c.FlushOnAck = b
			return nil
		},
		get: func(c *TopicConfig) string { return strconv.FormatBool(c.FlushOnAck) },
	},
	{
		name: "message.timestamp.type", def: "CreateTime", doc: "CreateTime keeps the producer's timestamps, LogAppendTime stamps the broker's",
		set: func(c *TopicConfig, v string) error {
			switch strings.TrimSpace(v) {
			case "CreateTime":
				c.TimestampType = batch.CreateTime
			case "LogAppendTime":
				c.TimestampType = batch.LogAppendTime
			default:
				return fmt.Errorf("message.timestamp.type=%q: must be CreateTime or LogAppendTime", v)
			}
			return nil
		},
		get: func(c *TopicConfig) string {
			if c.TimestampType == batch.LogAppendTime {
				return "LogAppendTime"
			}
			return "CreateTime"
		},
	},
	{
		name: "cleanup.policy", def: "delete", doc: "delete old segments by retention (compaction is not supported yet)",
		set: func(c *TopicConfig, v string) error {
			if strings.TrimSpace(v) != "delete" {
				return fmt.Errorf("cleanup.policy=%q: only delete is supported", v)
			}
			c.CleanupPolicy = "delete"
			return nil
		},
		get: func(c *TopicConfig) string { return c.CleanupPolicy },
	},
}

func findConfig(name string) (*configDef, bool) {
	for i := range configDefs {
		if configDefs[i].name == name {
			return &configDefs[i], true
		}
	}
	return nil, false
}

// ConfigNames lists the topic config names Sluice accepts, sorted.
func ConfigNames() []string {
	names := make([]string, len(configDefs))
	for i, d := range configDefs {
		names[i] = d.name
	}
	sort.Strings(names)
	return names
}

// KafkaDefaultConfig returns Kafka's default topic configuration.
func KafkaDefaultConfig() TopicConfig {
	var c TopicConfig
	for _, d := range configDefs {
		if err := d.set(&c, d.def); err != nil {
			panic("engine: bad built-in default: " + err.Error())
		}
	}
	return c
}

// applyConfigs overlays overrides on base and checks the result.
func applyConfigs(base TopicConfig, overrides map[string]string) (TopicConfig, error) {
	c := base
	for name, v := range overrides {
		d, ok := findConfig(name)
		if !ok {
			return c, fmt.Errorf("%w: unknown config %q (known: %s)", ErrInvalidConfig, name, strings.Join(ConfigNames(), ", "))
		}
		if err := d.set(&c, v); err != nil {
			return c, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	if c.SegmentBytes > segment.MaxSegmentBytes {
		return c, fmt.Errorf("%w: segment.bytes=%d: at most %d", ErrInvalidConfig, c.SegmentBytes, int64(segment.MaxSegmentBytes))
	}
	if c.SegmentIndexBytes > math.MaxInt32 {
		return c, fmt.Errorf("%w: segment.index.bytes=%d: at most %d", ErrInvalidConfig, c.SegmentIndexBytes, math.MaxInt32)
	}
	return c, nil
}

// ConfigEntry is one config of a topic as DescribeTopic reports it.
type ConfigEntry struct {
	Name  string
	Value string
	// Source is "topic" for a per-topic override, "default" otherwise (the
	// engine's defaults, which start from Kafka's).
	Source string
	Doc    string
}

func describeConfigs(c *TopicConfig, overrides map[string]string) []ConfigEntry {
	out := make([]ConfigEntry, 0, len(configDefs))
	for _, d := range configDefs {
		src := "default"
		if _, ok := overrides[d.name]; ok {
			src = "topic"
		}
		out = append(out, ConfigEntry{Name: d.name, Value: d.get(c), Source: src, Doc: d.doc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *TopicConfig) segmentOptions() segment.Options {
	interval := c.IndexIntervalBytes
	if interval == 0 {
		interval = 1 // Kafka's 0: an entry for every batch
	}
	// An entry follows more than interval bytes of log (and at least one
	// batch header), so a segment of SegmentBytes never needs more than
	// this. Preallocating no more than that keeps index files small: 2 MiB
	// instead of 10 for Kafka's 1 GiB segments, and less to trim on roll.
	entries := c.SegmentBytes/max(interval, batch.HeaderSize) + 2
	maxIndex := min(c.SegmentIndexBytes, entries*8)
	return segment.Options{
		IndexIntervalBytes: int(interval),
		MaxIndexBytes:      int(maxIndex),
	}
}

// ValidateConfigs checks topic config overrides (Kafka names) without
// applying them anywhere.
func ValidateConfigs(configs map[string]string) error {
	_, err := applyConfigs(KafkaDefaultConfig(), configs)
	return err
}
