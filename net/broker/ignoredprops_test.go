package broker_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// kafkaExample is one of Kafka's shipped example files (testdata/kafka):
// the keys Sluice must accept and ignore in it, and a check that the keys
// it implements were honoured.
type kafkaExample struct {
	path    string
	ignored []string
	check   func(t *testing.T, c *broker.Config)
}

// kafkaExamples are Kafka's four example broker configurations.
var kafkaExamples = []kafkaExample{
	{
		path: "config/server.properties",
		ignored: []string{"num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
			"transaction.state.log.min.isr", "transaction.state.log.replication.factor",
			"zookeeper.connect", "zookeeper.connection.timeout.ms"},
		check: func(t *testing.T, c *broker.Config) {
			if c.NodeID != 0 || c.Clustered() || c.GroupInitialDelay != 0 || c.DataDir != "/tmp/kafka-logs" {
				t.Errorf("node %d, roles %v, group delay %v, data dir %q", c.NodeID, c.ProcessRoles, c.GroupInitialDelay, c.DataDir)
			}
		},
	},
	{
		path: "config/kraft/server.properties",
		ignored: []string{"listener.security.protocol.map", "num.io.threads", "num.network.threads",
			"num.recovery.threads.per.data.dir", "transaction.state.log.min.isr", "transaction.state.log.replication.factor"},
		check: func(t *testing.T, c *broker.Config) {
			if c.NodeID != 1 || !slices.Equal(c.ProcessRoles, []string{"broker", "controller"}) || len(c.QuorumVoters) != 1 ||
				c.KafkaListen != ":9092" || c.KafkaAdvertised != "localhost:9092" || c.ControllerListenerName != "CONTROLLER" ||
				c.DataDir != "/tmp/kraft-combined-logs" {
				t.Errorf("%+v", c)
			}
		},
	},
	{
		path: "config/kraft/broker.properties",
		ignored: []string{"listener.security.protocol.map", "num.io.threads", "num.network.threads",
			"num.recovery.threads.per.data.dir", "share.coordinator.state.topic.min.isr",
			"share.coordinator.state.topic.replication.factor", "transaction.state.log.min.isr",
			"transaction.state.log.replication.factor"},
		check: func(t *testing.T, c *broker.Config) {
			if c.NodeID != 2 || !slices.Equal(c.ProcessRoles, []string{"broker"}) || c.KafkaListen != "localhost:9092" {
				t.Errorf("%+v", c)
			}
		},
	},
	{
		path: "config/kraft/controller.properties",
		ignored: []string{"num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
			"transaction.state.log.min.isr", "transaction.state.log.replication.factor"},
		check: func(t *testing.T, c *broker.Config) {
			if c.NodeID != 1 || !slices.Equal(c.ProcessRoles, []string{"controller"}) || c.DataDir != "/tmp/kraft-controller-logs" {
				t.Errorf("%+v", c)
			}
		},
	},
}

// TestKafkaExampleConfigs loads each of Kafka's example files: nothing is
// refused, exactly Kafka's keys Sluice has no use for are ignored, and the
// keys Sluice implements under Kafka's names are honoured, Kafka's example
// values included where they differ from Sluice's defaults.
func TestKafkaExampleConfigs(t *testing.T) {
	for _, ex := range kafkaExamples {
		c := broker.DefaultConfig()
		if err := c.LoadFile(filepath.Join("testdata", "kafka", ex.path)); err != nil {
			t.Errorf("%s: %v", ex.path, err)
			continue
		}
		var got []string
		for _, p := range c.IgnoredProperties() {
			got = append(got, p.Name)
			if p.Reason == "" {
				t.Errorf("%s: %s ignored without a reason", ex.path, p.Name)
			}
		}
		if !slices.Equal(got, ex.ignored) {
			t.Errorf("%s: ignored %v, want %v", ex.path, got, ex.ignored)
		}
		// Honoured in every file: Kafka's 100 KiB socket buffers (Sluice's
		// default is the OS's), retention, segment size, the offsets
		// topic's replication factor.
		if c.SocketSendBufferBytes != 102400 || c.SocketReceiveBufferBytes != 102400 || c.SocketRequestMaxBytes != 104857600 ||
			c.NumPartitions != 1 || c.OffsetsTopicReplicationFactor != 1 || c.RetentionCheckInterval != 5*time.Minute ||
			c.TopicDefaults["retention.ms"] != "604800000" || c.TopicDefaults["segment.bytes"] != "1073741824" {
			t.Errorf("%s: honoured keys not applied: %+v", ex.path, c)
		}
		ex.check(t, &c)
	}
}

// TestIgnoredAndHonouredAreDisjoint: a key Sluice implements is never also
// in the ignored table, where it would be listed twice by --help-config.
func TestIgnoredAndHonouredAreDisjoint(t *testing.T) {
	seen := map[string]bool{}
	ignored := 0
	for _, line := range broker.PropertyDocs() {
		name := strings.Fields(line)[0]
		if seen[name] {
			t.Errorf("%s is listed twice", name)
		}
		seen[name] = true
		if strings.Contains(line, "accepted and ignored: ") {
			ignored++
		}
	}
	if ignored == 0 || !seen["zookeeper.connect"] || !seen["num.io.threads"] {
		t.Fatalf("PropertyDocs lists %d ignored keys", ignored)
	}
}

// TestWarnIgnored: one warning line per ignored key, naming it and saying
// why, however often it was set (file, then override).
func TestWarnIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.properties")
	os.WriteFile(path, []byte("num.io.threads=8\nzookeeper.connect=zk:2181\nnum.partitions=4\nnum.io.threads=16\n"), 0o644)
	c := broker.DefaultConfig()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyProperties(map[string]string{"num.io.threads": " 32 "}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	c.WarnIgnored(slog.New(slog.NewTextHandler(&buf, nil)))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines:\n%s", buf.String())
	}
	for i, want := range []string{"property=num.io.threads value=32 reason=", "property=zookeeper.connect value=zk:2181 reason=\"no ZooKeeper"} {
		if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], want)
		}
	}
	if c.NumPartitions != 4 {
		t.Errorf("num.partitions = %d beside ignored keys", c.NumPartitions)
	}
}

// TestUnknownPropertySuggestsNearest: a misspelt key is refused, with the
// nearest known name (honoured or ignored) when one is close, and the line
// it is on when it comes from a file.
func TestUnknownPropertySuggestsNearest(t *testing.T) {
	cases := map[string]string{
		"log.retention.hour":       `unknown property "log.retention.hour"; did you mean log.retention.hours?`,
		"num.network.thread":       "did you mean num.network.threads?",
		"zookeeper.conect":         "did you mean zookeeper.connect?",
		"Node.Id":                  "did you mean node.id?",
		"lsteners":                 "did you mean listeners?",
		"log.retention.fortnights": "sluiced --help-config",
		"x":                        "sluiced --help-config",
	}
	for key, want := range cases {
		c := broker.DefaultConfig()
		err := c.ApplyProperties(map[string]string{key: "1"})
		if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", key, err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "server.properties")
	os.WriteFile(path, []byte("# retention\nnum.partitions=1\nlog.retention.hour=168\n"), 0o644)
	c := broker.DefaultConfig()
	err := c.LoadFile(path)
	if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), path+": ") ||
		!strings.Contains(err.Error(), "line 3: ") || !strings.Contains(err.Error(), "did you mean log.retention.hours?") {
		t.Fatalf("from a file: %v", err)
	}
}
