package broker_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	}
	for name, text := range cases {
		props, err := broker.ParseProperties(strings.NewReader(text))
		if err == nil {
			c := broker.DefaultConfig()
			err = c.ApplyProperties(props)
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
