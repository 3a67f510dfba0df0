package broker

// The broker's properties: the table of every Kafka-style key Sluice
// honours (what each sets in Config, with its help line), applying a
// properties file's entries to a Config (javaprops.go reads the file;
// ignoredprops.go lists Kafka's keys that are accepted without effect), the
// nearest-name suggestion for a misspelt key, and the listener and role
// values they carry.

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/quorum"
)

// property is one broker property: how to apply its value.
type property struct {
	doc   string
	apply func(c *Config, v string) error
}

// topicDefault maps a broker log.* property onto a topic-level default.
func topicDefault(topicName, doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		c.TopicDefaults[topicName] = v
		return nil
	}}
}

// scaledTopicDefault maps log.retention.hours and friends onto the
// millisecond topic config.
func scaledTopicDefault(topicName string, unit time.Duration, doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n < 0 {
			c.TopicDefaults[topicName] = "-1"
			return nil
		}
		c.TopicDefaults[topicName] = strconv.FormatInt(n*unit.Milliseconds(), 10)
		return nil
	}}
}

func intProp(min, max int64, set func(*Config, int64), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n < min || n > max {
			return fmt.Errorf("%d is out of range [%d, %d]", n, min, max)
		}
		set(c, n)
		return nil
	}}
}

func boolProp(set func(*Config, bool), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		switch strings.TrimSpace(v) {
		case "true":
			set(c, true)
		case "false":
			set(c, false)
		default:
			return fmt.Errorf("must be true or false, not %q", v)
		}
		return nil
	}}
}

// bufferProp is a socket buffer size: -1 for the OS's default, or a
// positive byte count (Kafka rejects 0 too).
func bufferProp(set func(*Config, int), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n != -1 && (n < 1 || n > math.MaxInt32) {
			return fmt.Errorf("%d is not -1 (the OS's default) or a byte count in [1, %d]", n, math.MaxInt32)
		}
		set(c, int(n))
		return nil
	}}
}

func msProp(set func(*Config, time.Duration), doc string) property {
	return intProp(1, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		set(c, time.Duration(n)*time.Millisecond)
	}, doc)
}

// properties lists every broker property Sluice accepts. Where several
// Kafka names set one thing (log.retention.hours/minutes/ms), the most
// precise one wins, as in Kafka, because ApplyProperties applies hours,
// then minutes, then ms.
var properties = map[string]property{
	"node.id":   intProp(0, math.MaxInt32, func(c *Config, n int64) { c.NodeID = int32(n) }, "this broker's id"),
	"broker.id": intProp(0, math.MaxInt32, func(c *Config, n int64) { c.NodeID = int32(n) }, "alias of node.id"),
	"listeners": {doc: "SLUICE://host:port (native protocol), PLAINTEXT://host:port (Kafka protocol; off when absent) and, in a cluster, CONTROLLER://host:port (the metadata quorum; on a process.roles=broker node, where the quorum's leader sends it the metadata log)", apply: func(c *Config, v string) error {
		native, kafka, other, err := parseListeners(v)
		if err != nil {
			return err
		}
		if native != "" {
			c.Listen = native
		}
		c.KafkaListen = kafka
		c.otherListeners = other
		return nil
	}},
	"advertised.listeners": {doc: "the SLUICE:// and PLAINTEXT://host:port clients are told to use", apply: func(c *Config, v string) error {
		native, kafka, _, err := parseListeners(v)
		if err != nil {
			return err
		}
		c.Advertised, c.KafkaAdvertised = native, kafka
		return nil
	}},
	"metrics.listeners": {doc: "http://host:port of the operations listener: /metrics (Prometheus), /debug/pprof/, /healthz, /readyz; empty (default) for none", apply: func(c *Config, v string) error {
		addr, err := parseMetricsListeners(v)
		if err != nil {
			return err
		}
		c.MetricsListen = addr
		return nil
	}},
	"metrics.partition.series": {doc: "which partitions /metrics reports one by one (11 series each): all; active (those with traffic since the last scrape, offline or under-replicated); none; auto (default: all up to 10,000 partitions stored here, active above). Topic and broker totals are exact in every mode", apply: func(c *Config, v string) error {
		mode, err := metrics.ParsePartitionSeries(v)
		if err != nil {
			return err
		}
		c.MetricsPartitionSeries = mode
		return nil
	}},
	"schema.registry.listeners": {doc: "http://host:port of the built-in schema registry (Confluent Schema Registry's REST API, schemas kept in the _schemas topic); empty (default) for none", apply: func(c *Config, v string) error {
		addr, err := parseMetricsListeners(v)
		if err != nil {
			return err
		}
		c.SchemaRegistryListen = addr
		return nil
	}},
	"slow.request.log.threshold.ms": intProp(0, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		c.SlowRequestThreshold = time.Duration(n) * time.Millisecond
	}, "log (event=slow_request) and count a request that takes longer than this beyond the wait it asked for (a fetch's max wait); 0 logs none"),
	"process.roles": {doc: "broker,controller for a broker that is a quorum voter, controller for a voter only, broker for a broker outside controller.quorum.voters (a raft nonvoter: it gets the metadata log but never votes); unset for a single node without a quorum", apply: func(c *Config, v string) error {
		roles, err := parseRoles(v)
		if err != nil {
			return err
		}
		c.ProcessRoles = roles
		return nil
	}},
	"controller.quorum.voters": {doc: "the metadata quorum's voters: id@host:port,... (their CONTROLLER listeners)", apply: func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			c.QuorumVoters = nil
			return nil
		}
		voters, err := quorum.ParseVoters(v)
		if err != nil {
			return err
		}
		c.QuorumVoters = voters
		return nil
	}},
	"controller.listener.names": {doc: "the listener the quorum speaks on (one name; CONTROLLER by default)", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" || strings.Contains(v, ",") {
			return fmt.Errorf("one listener name, got %q", v)
		}
		if v == "SLUICE" || v == "PLAINTEXT" {
			return fmt.Errorf("%s serves clients; the controller needs a listener of its own", v)
		}
		c.ControllerListenerName = v
		return nil
	}},
	"inter.broker.listener.name": {doc: "the listener followers replicate from leaders over: PLAINTEXT, the Kafka protocol (replica Fetch and OffsetForLeaderEpoch)", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "SLUICE" {
			return fmt.Errorf("SLUICE cannot carry replication: followers fetch with Kafka's replica Fetch and OffsetForLeaderEpoch, so it must be PLAINTEXT")
		}
		if v != "PLAINTEXT" {
			return fmt.Errorf("must be PLAINTEXT, not %q", v)
		}
		c.InterBrokerListenerName = v
		return nil
	}},
	"cluster.id": {doc: "the cluster's id (Kafka's storage format -t); unset lets the first controller name it", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > 64 || strings.ContainsAny(v, " \t=#") {
			return fmt.Errorf("%q is not a cluster id", v)
		}
		c.ClusterID = v
		return nil
	}},
	"broker.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.BrokerSessionTimeout = d },
		"a broker without a heartbeat for this long is fenced"),
	"broker.heartbeat.interval.ms": msProp(func(c *Config, d time.Duration) { c.BrokerHeartbeatInterval = d },
		"how often a broker heartbeats to the active controller"),
	"log.dirs": {doc: "the data directory (one)", apply: setDataDir},
	"log.dir":  {doc: "the data directory (when log.dirs is unset)", apply: setDataDir},

	"num.partitions": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.NumPartitions = int32(n) }, "partitions of auto-created topics"),
	"default.replication.factor": intProp(1, math.MaxInt16, func(c *Config, n int64) { c.DefaultReplicationFactor = int16(n) },
		"replication factor of topics created without one (1 on a single node)"),
	"auto.create.topics.enable": boolProp(func(c *Config, b bool) { c.AutoCreateTopics = b }, "create unknown topics on produce or metadata"),
	"delete.topic.enable":       boolProp(func(c *Config, b bool) { c.DeleteTopicEnable = b }, "allow DeleteTopics"),

	"log.retention.hours":            scaledTopicDefault("retention.ms", time.Hour, "retention.ms default, in hours"),
	"log.retention.minutes":          scaledTopicDefault("retention.ms", time.Minute, "retention.ms default, in minutes"),
	"log.retention.ms":               topicDefault("retention.ms", "retention.ms default"),
	"log.retention.bytes":            topicDefault("retention.bytes", "retention.bytes default"),
	"log.segment.bytes":              topicDefault("segment.bytes", "segment.bytes default"),
	"log.roll.hours":                 scaledTopicDefault("segment.ms", time.Hour, "segment.ms default, in hours"),
	"log.roll.ms":                    topicDefault("segment.ms", "segment.ms default"),
	"log.index.interval.bytes":       topicDefault("index.interval.bytes", "index.interval.bytes default"),
	"log.index.size.max.bytes":       topicDefault("segment.index.bytes", "segment.index.bytes default"),
	"log.flush.interval.messages":    topicDefault("flush.messages", "flush.messages default"),
	"log.flush.interval.ms":          topicDefault("flush.ms", "flush.ms default"),
	"log.flush.on.ack":               topicDefault("flush.on.ack", "flush.on.ack default (Sluice): ack after fdatasync"),
	"log.message.timestamp.type":     topicDefault("message.timestamp.type", "message.timestamp.type default"),
	"log.cleanup.policy":             topicDefault("cleanup.policy", "cleanup.policy default: delete, compact or compact,delete"),
	"min.insync.replicas":            topicDefault("min.insync.replicas", "in-sync replicas an acks=all write needs (topic default)"),
	"unclean.leader.election.enable": topicDefault("unclean.leader.election.enable", "elect an out-of-sync replica when no ISR member is alive, losing data (topic default)"),

	"log.cleaner.enable": boolProp(func(c *Config, b bool) { c.CleanerDisabled = !b },
		"run the log cleaner, which compacts topics with cleanup.policy=compact; off, they grow without bound"),
	"log.cleaner.threads": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.CleanerThreads = int(n) },
		"partitions the log cleaner compacts at once"),
	"log.cleaner.dedupe.buffer.size": intProp(1, math.MaxInt64, func(c *Config, n int64) { c.CleanerDedupeBufferSize = n },
		"bytes of the cleaner's offset maps, shared by its threads (at least 1 MiB each)"),
	"log.cleaner.io.max.bytes.per.second": {doc: "the cleaner's read plus write rate limit, bytes a second; the default (1.7976931348623157E308) and 0 mean none",
		apply: setCleanerIORate},
	"log.cleaner.backoff.ms": intProp(0, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		c.CleanerBackoff = max(time.Duration(n)*time.Millisecond, time.Millisecond)
	}, "how long an idle cleaner thread sleeps before it looks for partitions to compact again (0 is taken as 1 ms)"),
	"log.cleaner.min.cleanable.ratio":   topicDefault("min.cleanable.dirty.ratio", "min.cleanable.dirty.ratio default"),
	"log.cleaner.delete.retention.ms":   topicDefault("delete.retention.ms", "delete.retention.ms default"),
	"log.cleaner.min.compaction.lag.ms": topicDefault("min.compaction.lag.ms", "min.compaction.lag.ms default"),
	"log.cleaner.max.compaction.lag.ms": topicDefault("max.compaction.lag.ms", "max.compaction.lag.ms default"),

	"replica.lag.time.max.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaLagMax = d },
		"a follower that has not caught up for this long leaves the ISR"),
	"replica.fetch.wait.max.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaFetchWait = d },
		"how long a follower's fetch waits at the leader for new data"),
	"replica.fetch.backoff.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaFetchBackoff = d },
		"how long a follower waits after a failed fetch"),
	"controller.quorum.fetch.timeout.ms": msProp(func(c *Config, d time.Duration) { c.RaftHeartbeatTimeout = d },
		"how long a controller goes without hearing from the quorum's leader before it stands for election"),
	"controller.quorum.election.timeout.ms": msProp(func(c *Config, d time.Duration) { c.RaftElectionTimeout = d },
		"how long a candidate waits for an election before it tries again"),
	"controlled.shutdown.enable": boolProp(func(c *Config, b bool) { c.NoControlledShutdown = !b },
		"move this broker's leaderships away before it stops"),
	"auto.leader.rebalance.enable": boolProp(func(c *Config, b bool) { c.AutoLeaderRebalance = b },
		"move leadership back to each partition's preferred (first) replica once it is in sync"),
	"leader.imbalance.check.interval.seconds": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.LeaderImbalanceCheckInterval = time.Duration(n) * time.Second },
		"how often the controller checks for leadership away from preferred replicas"),
	"leader.imbalance.per.broker.percentage": intProp(0, 100, func(c *Config, n int64) { c.LeaderImbalancePerBrokerPercentage = int(n) },
		"share of a broker's preferred partitions led elsewhere that triggers moving them back"),
	"message.max.bytes": topicDefault("max.message.bytes", "largest record batch accepted (max.message.bytes default)"),
	"log.retention.check.interval.ms": msProp(func(c *Config, d time.Duration) { c.RetentionCheckInterval = d },
		"how often retention runs"),
	"group.min.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.GroupMinSessionTimeout = d },
		"shortest session.timeout.ms a group member may ask for"),
	"group.max.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.GroupMaxSessionTimeout = d },
		"longest session.timeout.ms a group member may ask for"),
	"group.initial.rebalance.delay.ms": intProp(0, math.MaxInt32, func(c *Config, n int64) { c.GroupInitialDelay = time.Duration(n) * time.Millisecond },
		"how long an empty group's first rebalance waits for more members (0: none)"),
	"offsets.retention.minutes": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.OffsetsRetention = time.Duration(n) * time.Minute },
		"how long an empty group's committed offsets are kept"),
	"offsets.topic.num.partitions": intProp(1, engine.DefaultMaxPartitions, func(c *Config, n int64) { c.OffsetsTopicPartitions = int32(n) },
		"partitions of __consumer_offsets, where a cluster keeps its groups (fixed once the topic exists)"),
	"offsets.topic.replication.factor": intProp(-1, math.MaxInt16, func(c *Config, n int64) { c.OffsetsTopicReplicationFactor = int16(n) },
		"replicas of __consumer_offsets; -1 or 0: min(3, live brokers) when it is created"),
	"offsets.commit.timeout.ms": msProp(func(c *Config, d time.Duration) { c.OffsetsCommitTimeout = d },
		"how long an offset commit waits for the offsets topic's in-sync replicas"),
	"producer.id.expiration.ms": msProp(func(c *Config, d time.Duration) { c.ProducerIDExpiration = d },
		"how long an idle idempotent producer is remembered"),
	"socket.request.max.bytes": intProp(1024, math.MaxInt32, func(c *Config, n int64) { c.SocketRequestMaxBytes = int(n) },
		"largest request frame; larger ones close the connection"),
	"max.connections": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.MaxConnections = int(n) },
		"connections accepted at once; more are closed on accept (their descriptors are kept out of the partitions' budget)"),
	"max.partitions.per.topic": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.MaxPartitionsPerTopic = int32(n) },
		"most partitions one topic may have (Sluice's own); creates must also fit the open files, memory map and disk limits"),
	"connections.max.idle.ms": msProp(func(c *Config, d time.Duration) { c.ConnectionsMaxIdle = d },
		"idle connections are closed after this"),
	"socket.send.buffer.bytes": bufferProp(func(c *Config, n int) { c.SocketSendBufferBytes = n },
		"each connection's SO_SNDBUF; -1 (default) for the OS's, which autotunes"),
	"socket.receive.buffer.bytes": bufferProp(func(c *Config, n int) { c.SocketReceiveBufferBytes = n },
		"each connection's SO_RCVBUF; -1 (default) for the OS's, which autotunes"),
}

// setCleanerIORate reads log.cleaner.io.max.bytes.per.second: Kafka's
// default, Double.MAX_VALUE, and anything as large mean no limit, which
// the engine spells 0.
func setCleanerIORate(c *Config, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("not a number: %q", v)
	}
	if !(f >= 0) { // NaN fails too
		return fmt.Errorf("%q: must be a positive number of bytes a second, or 0 for no limit", v)
	}
	if f >= math.MaxFloat64 {
		f = 0
	}
	c.CleanerIOMaxBytesPerSecond = f
	return nil
}

// applyOrder makes the precise names win over the coarse ones.
var applyOrder = map[string]int{
	"log.retention.hours": 0, "log.roll.hours": 0, "log.dir": 0,
	"log.retention.minutes": 1,
}

func setDataDir(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty")
	}
	if strings.Contains(v, ",") {
		return fmt.Errorf("one data directory only, got %q", v)
	}
	c.DataDir = v
	return nil
}

// parseListeners takes Kafka's listener list and returns the host:port of
// the SLUICE (native protocol) and PLAINTEXT (Kafka protocol) listeners,
// empty for one not listed, and every other listener by name (the
// controller's, which Validate checks against controller.listener.names).
func parseListeners(v string) (native, kafka string, other map[string]string, err error) {
	seen := map[string]bool{}
	for _, l := range strings.Split(v, ",") {
		l = strings.TrimSpace(l)
		name, addr, ok := strings.Cut(l, "://")
		if !ok || name == "" {
			return "", "", nil, fmt.Errorf("listener %q is not NAME://host:port", l)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", nil, fmt.Errorf("listener %q: %v", l, err)
		}
		if seen[name] {
			return "", "", nil, fmt.Errorf("listener %q: %s is listed twice", l, name)
		}
		seen[name] = true
		switch name {
		case "SLUICE":
			native = addr
		case "PLAINTEXT":
			kafka = addr
		default:
			if other == nil {
				other = map[string]string{}
			}
			other[name] = addr
		}
	}
	if native == "" && kafka == "" && len(other) == 0 {
		return "", "", nil, errors.New("no listener")
	}
	return native, kafka, other, nil
}

// parseRoles reads process.roles.
func parseRoles(v string) ([]string, error) {
	var roles []string
	for _, r := range strings.Split(v, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "":
			continue
		case "broker", "controller":
			if slices.Contains(roles, r) {
				return nil, fmt.Errorf("%s is listed twice", r)
			}
			roles = append(roles, r)
		default:
			return nil, fmt.Errorf("unknown role %q: the roles are broker and controller", r)
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// ApplyProperties sets c from Kafka broker properties. A property Sluice
// implements is honoured; one of Kafka's that Sluice has no use for
// (ignoredProperties) is recorded for WarnIgnored; any other name, or a
// malformed value, is an error naming it, with the nearest known name when
// one is close. Values are trimmed of surrounding whitespace first, as
// Kafka's own parsing does.
func (c *Config) ApplyProperties(props map[string]string) error {
	return c.applyProperties(props, nil)
}

// applyProperties is ApplyProperties with the line each key came from, for
// the error messages (nil: none).
func (c *Config) applyProperties(props map[string]string, lines map[string]int) error {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, ok := applyOrder[names[i]]
		if !ok {
			oi = 2
		}
		oj, ok := applyOrder[names[j]]
		if !ok {
			oj = 2
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	if c.TopicDefaults == nil {
		c.TopicDefaults = map[string]string{}
	}
	for _, k := range names {
		where := ""
		if n, ok := lines[k]; ok {
			where = fmt.Sprintf("line %d: ", n)
		}
		v := strings.TrimSpace(props[k])
		p, ok := properties[k]
		if !ok {
			if _, ok := ignoredProperties[k]; ok {
				if c.ignored == nil {
					c.ignored = map[string]string{}
				}
				c.ignored[k] = v
				continue
			}
			return fmt.Errorf("%w: %s%s", ErrConfig, where, unknownProperty(k))
		}
		if err := p.apply(c, v); err != nil {
			return fmt.Errorf("%w: %s%s: %v", ErrConfig, where, k, err)
		}
	}
	return nil
}

// unknownProperty words the refusal of a name Sluice does not know.
func unknownProperty(k string) string {
	if near := nearestProperty(k); near != "" {
		return fmt.Sprintf("unknown property %q; did you mean %s?", k, near)
	}
	return fmt.Sprintf("unknown property %q (see `sluiced --help-config` for the accepted ones)", k)
}

// nearestProperty is the known name (honoured or ignored) closest to k by
// edit distance, or "" when none is close enough to be a likely misspelling:
// within a third of k's length, and at most 3 edits. Ties go to the first
// name in sorted order, so the suggestion does not change from run to run.
func nearestProperty(k string) string {
	limit := min(3, len(k)/3)
	best, bestD := "", limit+1
	lower := strings.ToLower(k)
	consider := func(name string) {
		// With bound bestD+1, d == bestD is an exact tie, not a cut-off.
		d := editDistance(lower, name, bestD+1)
		if d < bestD || d == bestD && name < best {
			best, bestD = name, d
		}
	}
	for name := range properties {
		consider(name)
	}
	for name := range ignoredProperties {
		consider(name)
	}
	if bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes), or any
// value >= bound once it is sure to reach bound: keys are short, but an
// unknown one is compared with every known name.
func editDistance(a, b string, bound int) int {
	if d := len(a) - len(b); d >= bound || -d >= bound {
		return bound
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// LoadFile applies a properties file to c. Errors name the file and the
// line of the offending key.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	defer f.Close()
	list, err := ParsePropertyList(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	props := make(map[string]string, len(list))
	lines := make(map[string]int, len(list))
	for _, p := range list {
		props[p.Key], lines[p.Key] = p.Value, p.Line
	}
	if err := c.applyProperties(props, lines); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// PropertyDocs lists every accepted property with a line of help, sorted:
// the ones Sluice honours and Kafka's that it accepts and ignores.
func PropertyDocs() []string {
	out := make([]string, 0, len(properties)+len(ignoredProperties))
	for k, p := range properties {
		out = append(out, fmt.Sprintf("%-32s %s", k, p.doc))
	}
	for k, why := range ignoredProperties {
		out = append(out, fmt.Sprintf("%-32s accepted and ignored: %s", k, why))
	}
	sort.Strings(out)
	return out
}
