package broker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/broker"
)

func TestLoadProperties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.properties")
	os.WriteFile(path, []byte(`# a Kafka-style file
node.id=3
listeners=SLUICE://127.0.0.1:19192
log.dirs = /var/lib/sluice
num.partitions: 6
auto.create.topics.enable=false
delete.topic.enable=false
log.retention.hours=48
log.retention.ms=1000
log.roll.hours=1
log.segment.bytes=\
  536870912
message.max.bytes=2097152
socket.request.max.bytes=1048576
connections.max.idle.ms=30000
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=-1
! another comment style
`), 0o644)
	c := broker.DefaultConfig()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.NodeID != 3 || c.Listen != "127.0.0.1:19192" || c.DataDir != "/var/lib/sluice" || c.NumPartitions != 6 ||
		c.AutoCreateTopics || c.DeleteTopicEnable || c.SocketRequestMaxBytes != 1048576 || c.ConnectionsMaxIdle != 30*time.Second ||
		c.SocketSendBufferBytes != 102400 || c.SocketReceiveBufferBytes != -1 {
		t.Fatalf("%+v", c)
	}
	want := map[string]string{
		"retention.ms":      "1000", // ms wins over hours, as in Kafka
		"segment.ms":        "3600000",
		"segment.bytes":     "536870912",
		"max.message.bytes": "2097152",
	}
	for k, v := range want {
		if c.TopicDefaults[k] != v {
			t.Errorf("%s = %q, want %q", k, c.TopicDefaults[k], v)
		}
	}
}

func TestBadProperties(t *testing.T) {
	cases := map[string]string{
		"unknown":      "log.retention.weeks=1",
		"not a number": "num.partitions=many",
		"out of range": "num.partitions=0",
		"bad bool":     "auto.create.topics.enable=yes",
		"bad listener": "listeners=127.0.0.1:9192",
		"two dirs":     "log.dirs=/a,/b",
		"rf above one": "default.replication.factor=3",
		"no equals":    "just-a-word",
		"zero buffer":  "socket.send.buffer.bytes=0",
		"below -1":     "socket.receive.buffer.bytes=-2",
		"huge buffer":  "socket.receive.buffer.bytes=4294967296",
		"text buffer":  "socket.send.buffer.bytes=1MiB",

		// The log cleaner's properties and the topic defaults they set.
		"no cleaner threads":     "log.cleaner.threads=0",
		"cleaner threads text":   "log.cleaner.threads=two",
		"zero dedupe buffer":     "log.cleaner.dedupe.buffer.size=0",
		"dedupe below 1 MiB":     "log.cleaner.dedupe.buffer.size=1048575",
		"dedupe share too small": "log.cleaner.threads=3\nlog.cleaner.dedupe.buffer.size=3145727",
		"negative io rate":       "log.cleaner.io.max.bytes.per.second=-1",
		"NaN io rate":            "log.cleaner.io.max.bytes.per.second=NaN",
		"text io rate":           "log.cleaner.io.max.bytes.per.second=fast",
		"cleaner enable maybe":   "log.cleaner.enable=maybe",
		"negative backoff":       "log.cleaner.backoff.ms=-1",
		"unknown cleanup policy": "log.cleanup.policy=archive",
		"ratio above one":        "log.cleaner.min.cleanable.ratio=1.1",
		"negative tombstone ms":  "log.cleaner.delete.retention.ms=-1",
		"zero max lag":           "log.cleaner.max.compaction.lag.ms=0",
		"min lag above max":      "log.cleaner.min.compaction.lag.ms=2000\nlog.cleaner.max.compaction.lag.ms=1000",

		// The cluster's properties, alone and together.
		"unknown listener":       "listeners=SLUICE://127.0.0.1:9192,FOO://127.0.0.1:9999",
		"voters, no roles":       "controller.quorum.voters=1@127.0.0.1:9301",
		"controller, single":     "listeners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301",
		"unknown role":           "process.roles=broker,leader",
		"roles, no voters":       "process.roles=broker,controller\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301",
		"malformed voters":       "process.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1",
		"voter without id":       "process.roles=broker,controller\ncontroller.quorum.voters=127.0.0.1:9301",
		"duplicate voter":        "process.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1:9301,1@127.0.0.1:9302",
		"self not a voter":       "node.id=4\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301",
		"no controller listener": "node.id=1\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1:9301",
		"controller elsewhere":   "node.id=1\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9399",
		"broker alone":           "node.id=1\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:9301",
		"broker-only voter":      "node.id=1\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301",
		"broker-only, no ctrl":   "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192",
		"broker-only, 0.0.0.0":   "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://0.0.0.0:9304",
		"broker-only at voter's": "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301",
		"bad cluster id":         "cluster.id=has space",
		"heartbeat too slow":     "node.id=1\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@127.0.0.1:9301\nlisteners=SLUICE://127.0.0.1:9192,CONTROLLER://127.0.0.1:9301\nbroker.heartbeat.interval.ms=9000",
	}
	for name, text := range cases {
		props, err := broker.ParseProperties(strings.NewReader(text))
		if err == nil {
			c := broker.DefaultConfig()
			if err = c.ApplyProperties(props); err == nil {
				err = c.Validate()
			}
		}
		if !errors.Is(err, broker.ErrConfig) {
			t.Errorf("%s (%q): %v, want ErrConfig", name, text, err)
		}
	}
	// Values the engine refuses are caught by Validate, before start-up.
	c := broker.DefaultConfig()
	if err := c.ApplyProperties(map[string]string{"log.segment.bytes": "ten"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); !errors.Is(err, broker.ErrConfig) {
		t.Fatalf("validate: %v", err)
	}
}

// TestClusterProperties reads a cluster member's KRaft properties.
func TestClusterProperties(t *testing.T) {
	text := `node.id=2
process.roles=controller,broker
controller.quorum.voters=1@127.0.0.1:9301,2@127.0.0.1:9302,3@127.0.0.1:9303
listeners=SLUICE://127.0.0.1:9193,PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:9302
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
default.replication.factor=3
broker.session.timeout.ms=6000
`
	props, err := broker.ParseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := broker.DefaultConfig()
	if err := c.ApplyProperties(props); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Clustered() || c.NodeID != 2 || len(c.QuorumVoters) != 3 || c.ControllerListen != "127.0.0.1:9302" ||
		c.DefaultReplicationFactor != 3 || c.BrokerSessionTimeout.Milliseconds() != 6000 {
		t.Fatalf("config: %+v", c)
	}
}

// TestBrokerOnlyProperties reads a broker-only node's (process.roles=broker)
// properties: outside the voters, with a CONTROLLER listener of its own for
// the metadata log, configured or opened on its advertised host; without a
// routable host the error says what it is for.
func TestBrokerOnlyProperties(t *testing.T) {
	text := `node.id=4
process.roles=broker
controller.quorum.voters=1@127.0.0.1:9301,2@127.0.0.1:9302,3@127.0.0.1:9303
listeners=SLUICE://127.0.0.1:9195,PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:9304
`
	props, err := broker.ParseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := broker.DefaultConfig()
	if err := c.ApplyProperties(props); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Clustered() || c.ControllerListen != "127.0.0.1:9304" {
		t.Fatalf("config: %+v", c)
	}

	// Without one (as Kafka's kraft/broker.properties), it opens one on a
	// free port of the host it advertises...
	props["listeners"] = "SLUICE://127.0.0.1:9195,PLAINTEXT://0.0.0.0:9095"
	props["advertised.listeners"] = "PLAINTEXT://broker4.example:9095"
	c = broker.DefaultConfig()
	if err := c.ApplyProperties(props); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ControllerListen != "broker4.example:0" {
		t.Fatalf("broker-only without a CONTROLLER listener listens on %q, want broker4.example:0", c.ControllerListen)
	}
	// ...which it cannot when no host it has is routable.
	props["listeners"] = "SLUICE://0.0.0.0:9195,PLAINTEXT://0.0.0.0:9095"
	delete(props, "advertised.listeners")
	c = broker.DefaultConfig()
	if err := c.ApplyProperties(props); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), "sends this broker the metadata log") {
		t.Fatalf("broker-only without a CONTROLLER listener or a routable host: %v", err)
	}
}

// TestCleanerProperties reads the log cleaner's properties (Kafka's names,
// defaults and the "unlimited" I/O rate) and the topic defaults they map
// to, and checks a broker hands them to its engine.
func TestCleanerProperties(t *testing.T) {
	c := broker.DefaultConfig()
	if c.CleanerDisabled || c.CleanerThreads != 1 || c.CleanerDedupeBufferSize != 128<<20 ||
		c.CleanerIOMaxBytesPerSecond != 0 || c.CleanerBackoff != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	text := `log.cleaner.enable=false
log.cleaner.threads=4
log.cleaner.dedupe.buffer.size=268435456
log.cleaner.io.max.bytes.per.second=5e6
log.cleaner.backoff.ms=500
log.cleanup.policy=delete,compact
log.cleaner.min.cleanable.ratio=0.1
log.cleaner.delete.retention.ms=3600000
log.cleaner.min.compaction.lag.ms=1000
log.cleaner.max.compaction.lag.ms=600000
`
	props, err := broker.ParseProperties(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyProperties(props); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.CleanerDisabled || c.CleanerThreads != 4 || c.CleanerDedupeBufferSize != 256<<20 ||
		c.CleanerIOMaxBytesPerSecond != 5e6 || c.CleanerBackoff != 500*time.Millisecond {
		t.Fatalf("cleaner: %+v", c)
	}
	want := map[string]string{
		"cleanup.policy":            "delete,compact",
		"min.cleanable.dirty.ratio": "0.1",
		"delete.retention.ms":       "3600000",
		"min.compaction.lag.ms":     "1000",
		"max.compaction.lag.ms":     "600000",
	}
	for k, v := range want {
		if c.TopicDefaults[k] != v {
			t.Errorf("%s = %q, want %q", k, c.TopicDefaults[k], v)
		}
	}

	// Kafka's default I/O rate, and anything as large, is no limit (0);
	// a backoff of 0 is the shortest there is.
	for v, want := range map[string]float64{"1.7976931348623157E308": 0, "1e309": 0, "0": 0, "1048576": 1 << 20} {
		c := broker.DefaultConfig()
		if err := c.ApplyProperties(map[string]string{"log.cleaner.io.max.bytes.per.second": v}); err != nil || c.CleanerIOMaxBytesPerSecond != want {
			t.Errorf("io rate %s: %v, %v, want %v", v, c.CleanerIOMaxBytesPerSecond, err, want)
		}
	}
	c = broker.DefaultConfig()
	if err := c.ApplyProperties(map[string]string{"log.cleaner.backoff.ms": "0", "log.cleaner.enable": "true"}); err != nil ||
		c.CleanerBackoff != time.Millisecond || c.CleanerDisabled {
		t.Fatalf("backoff 0: %v, %v", c.CleanerBackoff, err)
	}
	for _, line := range broker.PropertyDocs() {
		if strings.HasPrefix(line, "log.cleaner.io.max.bytes.per.second ") {
			return
		}
	}
	t.Error("log.cleaner.io.max.bytes.per.second missing from PropertyDocs")
}

// TestCleanerPropertiesReachTheEngine: a broker's log.cleanup.policy is
// its topics' default, and its cleaner settings are the engine's (which
// refuses a negative I/O rate that the properties cannot give).
func TestCleanerPropertiesReachTheEngine(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) {
		c.TopicDefaults["cleanup.policy"] = "compact"
		c.CleanerThreads = 2
	})
	if err := b.Engine.CreateTopic("users", 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Engine.CreateTopic("events", 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := b.Engine.TopicConfig("users"); cfg.CleanupPolicy != "compact" || !cfg.Compact || cfg.Delete {
		t.Fatalf("users: %+v", cfg)
	}
	if cfg, _ := b.Engine.TopicConfig("events"); cfg.CleanupPolicy != "delete" || cfg.Compact || !cfg.Delete {
		t.Fatalf("events: %+v", cfg)
	}

	c := broker.DefaultConfig()
	c.Listen, c.DataDir = "127.0.0.1:0", t.TempDir()
	c.CleanerIOMaxBytesPerSecond = -1
	if b, err := broker.Start(c, nil); !errors.Is(err, engine.ErrInvalidConfig) {
		if b != nil {
			b.Close(context.Background())
		}
		t.Fatalf("start with a negative cleaner I/O rate: %v, want the engine's ErrInvalidConfig", err)
	}
}
