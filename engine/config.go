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
	MinInsyncReplicas  int64               // min.insync.replicas: ISR size acks=all needs
	// CleanupPolicy is cleanup.policy, normalised: "delete", "compact" or
	// "compact,delete". Compact and Delete say which policies it names:
	// Delete lets retention.ms and retention.bytes remove old segments,
	// Compact lets the log cleaner keep only each key's newest record.
	CleanupPolicy string
	Compact       bool
	Delete        bool
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio, in [0, 1]: the
	// share of a compacted log not yet cleaned (its dirty part) above which
	// the cleaner takes it up.
	MinCleanableDirtyRatio float64
	// MinCompactionLagMs is min.compaction.lag.ms: a record stays
	// uncompacted at least this long after its timestamp.
	// MaxCompactionLagMs is max.compaction.lag.ms: a record becomes
	// eligible for cleaning at most this long after its timestamp, dirty
	// ratio or not. Overrides may not set min above max; when the two come
	// from different layers (a topic override, a broker default) and
	// cross, min wins: no record younger than it is cleaned.
	MinCompactionLagMs int64
	MaxCompactionLagMs int64
	// DeleteRetentionMs is delete.retention.ms: how long the cleaner keeps
	// a tombstone (a record with a null value) once the cleaned part of the
	// log reaches it, so that a consumer reading from the start sees it.
	DeleteRetentionMs int64
	// UncleanLeaderElection is unclean.leader.election.enable: a
	// partition whose ISR has no live member may be led by a live replica
	// outside it, losing what only the ISR had.
	UncleanLeaderElection bool
}

// rollMs is how long the active segment takes appends before it rolls:
// segment.ms, or on a compacted topic max.compaction.lag.ms if sooner, as
// Kafka rolls, since the cleaner never touches the active segment.
func (c *TopicConfig) rollMs() int64 {
	if c.Compact && c.MaxCompactionLagMs > 0 {
		return min(c.SegmentMs, c.MaxCompactionLagMs)
	}
	return c.SegmentMs
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

// ratioConfig is a DOUBLE config in [0, 1].
func ratioConfig(name, def, doc string, field func(*TopicConfig) *float64) configDef {
	return configDef{
		name: name, def: def, doc: doc,
		set: func(c *TopicConfig, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return fmt.Errorf("%s=%q: not a number", name, v)
			}
			if !(f >= 0 && f <= 1) { // NaN fails too
				return fmt.Errorf("%s=%q: must be in [0, 1]", name, v)
			}
			*field(c) = f
			return nil
		},
		get: func(c *TopicConfig) string { return formatDouble(*field(c)) },
	}
}

// formatDouble prints a DOUBLE config as Kafka does for ordinary values:
// 0.5, and 1.0 rather than 1.
func formatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// Cleanup policies, the items cleanup.policy's list may hold.
const (
	PolicyCompact = "compact"
	PolicyDelete  = "delete"
)

// parseCleanupPolicy reads cleanup.policy, a list of policies in any
// order, with or without spaces, repeats allowed, and returns it
// normalised ("delete", "compact" or "compact,delete").
func parseCleanupPolicy(v string) (policy string, compact, del bool, err error) {
	for _, it := range strings.Split(v, ",") {
		switch strings.TrimSpace(it) {
		case PolicyCompact:
			compact = true
		case PolicyDelete:
			del = true
		default:
			return "", false, false, fmt.Errorf("cleanup.policy=%q: must be delete, compact, or both (compact,delete)", v)
		}
	}
	switch {
	case compact && del:
		return PolicyCompact + "," + PolicyDelete, true, true, nil
	case compact:
		return PolicyCompact, true, false, nil
	default:
		return PolicyDelete, false, true, nil
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
		name: "cleanup.policy", def: PolicyDelete,
		doc: "delete: retention removes old segments; compact: the log cleaner keeps each key's newest record; compact,delete: both",
		set: func(c *TopicConfig, v string) error {
			p, compact, del, err := parseCleanupPolicy(v)
			if err != nil {
				return err
			}
			c.CleanupPolicy, c.Compact, c.Delete = p, compact, del
			return nil
		},
		get: func(c *TopicConfig) string { return c.CleanupPolicy },
	},
	ratioConfig("min.cleanable.dirty.ratio", "0.5", "share of a compacted log not yet cleaned above which the cleaner takes it up",
		func(c *TopicConfig) *float64 { return &c.MinCleanableDirtyRatio }),
	longConfig("min.compaction.lag.ms", "0", "shortest time a record stays uncompacted", 0,
		func(c *TopicConfig) *int64 { return &c.MinCompactionLagMs }),
	longConfig("max.compaction.lag.ms", strconv.FormatInt(math.MaxInt64, 10), "longest time a record stays ineligible for compaction", 1,
		func(c *TopicConfig) *int64 { return &c.MaxCompactionLagMs }),
	longConfig("delete.retention.ms", "86400000", "how long the cleaner keeps tombstones of a compacted log", 0,
		func(c *TopicConfig) *int64 { return &c.DeleteRetentionMs }),
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
	// Min above max is refused when both come from overrides, as Kafka
	// does. Against the base (the broker's defaults) it is tolerated: a
	// stored topic must load whatever the defaults became since.
	_, hasMin := overrides["min.compaction.lag.ms"]
	_, hasMax := overrides["max.compaction.lag.ms"]
	if hasMin && hasMax && c.MinCompactionLagMs > c.MaxCompactionLagMs {
		return c, fmt.Errorf("%w: min.compaction.lag.ms=%d is above max.compaction.lag.ms=%d", ErrInvalidConfig, c.MinCompactionLagMs, c.MaxCompactionLagMs)
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
