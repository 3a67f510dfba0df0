package broker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// TestKafkaListenerProperties: listeners and advertised.listeners take the
// native (SLUICE) and Kafka (PLAINTEXT) listeners, as Kafka's lists do.
func TestKafkaListenerProperties(t *testing.T) {
	c := broker.DefaultConfig()
	err := c.ApplyProperties(map[string]string{
		"listeners":            "SLUICE://127.0.0.1:19192, PLAINTEXT://0.0.0.0:19092",
		"advertised.listeners": "PLAINTEXT://kafka.example:9092",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:19192" || c.KafkaListen != "0.0.0.0:19092" || c.KafkaAdvertised != "kafka.example:9092" || c.Advertised != "" {
		t.Fatalf("%+v", c)
	}

	// PLAINTEXT alone keeps the native listener at its default.
	c = broker.DefaultConfig()
	if err := c.ApplyProperties(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092"}); err != nil {
		t.Fatal(err)
	}
	if c.Listen != broker.DefaultConfig().Listen || c.KafkaListen != "127.0.0.1:9092" {
		t.Fatalf("%+v", c)
	}

	bad := map[string]map[string]string{
		"SSL":                {"listeners": "SSL://127.0.0.1:9093"},
		"no port":            {"listeners": "PLAINTEXT://127.0.0.1"},
		"twice":              {"listeners": "PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2"},
		"no scheme":          {"listeners": "127.0.0.1:9092"},
		"advertised, no l.":  {"listeners": "SLUICE://127.0.0.1:9192", "advertised.listeners": "PLAINTEXT://h:9092"},
		"empty":              {"listeners": ""},
		"advertised garbage": {"advertised.listeners": "PLAINTEXT://nohostport"},
		"advertised 0.0.0.0": {"listeners": "PLAINTEXT://0.0.0.0:9092", "advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
	}
	for name, props := range bad {
		c := broker.DefaultConfig()
		err := c.ApplyProperties(props)
		if err == nil {
			err = c.Validate()
		}
		if !errors.Is(err, broker.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		} else if !strings.Contains(err.Error(), "listener") {
			t.Errorf("%s: message %q does not name the listener", name, err)
		}
	}
}

// TestStartTestServesKafka: the test broker has a Kafka listener on a free
// port beside the native one.
func TestStartTestServesKafka(t *testing.T) {
	b := broker.StartTest(t, nil)
	if b.KafkaAddr() == nil || b.KafkaAddr().String() == b.Addr().String() {
		t.Fatalf("kafka %v native %v", b.KafkaAddr(), b.Addr())
	}
	off := broker.StartTest(t, func(c *broker.Config) { c.KafkaListen = "" })
	if off.KafkaAddr() != nil {
		t.Fatalf("kafka listener without PLAINTEXT: %v", off.KafkaAddr())
	}
}
