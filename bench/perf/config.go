package perf

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/segment/batch"
)

// The workloads.
const (
	Produce = "produce"
	Consume = "consume"
	E2E     = "e2e"
	Engine  = "engine"
)

// Config is one benchmark run. Zero fields take the defaults noted; see
// Validate for the rules.
type Config struct {
	// Workload is Produce, Consume, E2E or Engine.
	Workload string `json:"workload"`
	// Protocol is how to talk to the broker: ProtocolSluice (the native
	// protocol and client, by default) or ProtocolKafka (the Kafka
	// protocol, with franz-go's kgo client: Sluice's Kafka listener or
	// any Kafka broker). Not for Engine.
	Protocol string `json:"protocol,omitempty"`
	// Bootstrap lists broker addresses (not for Engine); 127.0.0.1:9192
	// by default, 127.0.0.1:9092 with ProtocolKafka.
	Bootstrap []string `json:"bootstrap,omitempty"`
	// Topic is the topic to use; "sluice-bench" by default. It is created
	// with Partitions and TopicConfigs when missing (always for Engine).
	Topic        string            `json:"topic"`
	TopicConfigs map[string]string `json:"topic_configs,omitempty"`
	// RecordSize is each record's value size in bytes (100); e2e needs 8.
	RecordSize int `json:"record_size"`
	// NumRecords is the records to send (or read); Duration bounds the run
	// instead when NumRecords is 0. With neither, produce, e2e and engine
	// send 1,000,000 records and consume reads what the topic held when
	// the run began.
	NumRecords int64         `json:"num_records"`
	Duration   time.Duration `json:"duration_ns"`
	// Throughput caps the records per second over all producers; 0 or
	// negative for no cap.
	Throughput float64 `json:"throughput"`
	// Producers and Consumers count the clients (1 each).
	Producers int `json:"producers"`
	Consumers int `json:"consumers"`
	// Partitions is the topic's partition count when it is created (1).
	Partitions int32 `json:"partitions"`
	// Acks is "0", "1" or "all" (the client's default, all).
	Acks string `json:"acks"`
	// Compression is none, gzip, snappy, lz4 or zstd.
	Compression string `json:"compression"`
	// Linger and BatchSize are the producer's linger.ms and batch.size
	// (5ms and 16 KiB, net/client's defaults, when 0); a negative Linger
	// is none at all (linger.ms=0: each batch goes as soon as the sender
	// is free). For Engine, BatchSize is the batch appended at once.
	Linger    time.Duration `json:"linger_ns"`
	BatchSize int           `json:"batch_size"`
	// KeyCardinality is the number of distinct keys, used in turn; 0 sends
	// null keys.
	KeyCardinality int `json:"key_cardinality"`
	// FetchBytes is the consumer's max.partition.fetch.bytes (1 MiB).
	FetchBytes int32 `json:"fetch_bytes"`
	// DataDir is the engine's directory; empty for a temporary one that
	// is removed afterwards.
	DataDir string `json:"data_dir,omitempty"`
	// Interval is the progress period (1s).
	Interval time.Duration `json:"interval_ns"`
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.Protocol == "" && c.Workload != Engine {
		c.Protocol = ProtocolSluice
	}
	if len(c.Bootstrap) == 0 && c.Workload != Engine {
		c.Bootstrap = []string{"127.0.0.1:9192"}
		if c.Protocol == ProtocolKafka {
			c.Bootstrap = []string{"127.0.0.1:9092"}
		}
	}
	if c.Topic == "" {
		c.Topic = "sluice-bench"
	}
	if c.RecordSize == 0 {
		c.RecordSize = 100
	}
	if c.NumRecords == 0 && c.Duration == 0 && c.Workload != Consume {
		c.NumRecords = 1_000_000
	}
	if c.Producers == 0 {
		c.Producers = 1
	}
	if c.Consumers == 0 {
		c.Consumers = 1
	}
	if c.Partitions == 0 {
		c.Partitions = 1
	}
	if c.Acks == "" {
		c.Acks = "all"
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Linger == 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 16384
	}
	if c.FetchBytes == 0 {
		c.FetchBytes = 1 << 20
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
}

// Validate checks the configuration after SetDefaults.
func (c *Config) Validate() error {
	var errs []error
	switch c.Workload {
	case Produce, Consume, E2E, Engine:
	default:
		errs = append(errs, fmt.Errorf("workload %q: want produce, consume, e2e or engine", c.Workload))
	}
	switch {
	case c.Workload == Engine && c.Protocol != "":
		errs = append(errs, fmt.Errorf("protocol %q: the engine workload talks to no broker", c.Protocol))
	case c.Workload != Engine && c.Protocol != ProtocolSluice && c.Protocol != ProtocolKafka:
		errs = append(errs, fmt.Errorf("protocol %q: want sluice or kafka", c.Protocol))
	}
	if c.RecordSize < 0 || (c.Workload == E2E && c.RecordSize < 8) {
		errs = append(errs, fmt.Errorf("record size %d: must be at least %d", c.RecordSize, minSize(c.Workload)))
	}
	if c.NumRecords < 0 || c.Duration < 0 {
		errs = append(errs, errors.New("num records and duration must not be negative"))
	}
	if c.Producers < 1 || c.Consumers < 1 || c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("producers %d, consumers %d, partitions %d: each must be at least 1", c.Producers, c.Consumers, c.Partitions))
	}
	if _, err := c.acks(); err != nil {
		errs = append(errs, err)
	}
	if _, err := batch.ParseCodec(c.Compression); err != nil {
		errs = append(errs, fmt.Errorf("compression: %w", err))
	}
	if c.BatchSize < 1 || c.FetchBytes < 1 || c.KeyCardinality < 0 || c.Interval <= 0 {
		errs = append(errs, errors.New("batch size, fetch bytes and interval must be positive, key cardinality not negative"))
	}
	return errors.Join(errs...)
}

func minSize(workload string) int {
	if workload == E2E {
		return 8
	}
	return 0
}

// acks maps Acks to net/client's values (-1 all, 1 leader, -2 none).
func (c *Config) acks() (int16, error) {
	switch c.Acks {
	case "all", "-1":
		return -1, nil
	case "1":
		return 1, nil
	case "0":
		return -2, nil
	}
	return 0, fmt.Errorf("acks %q: want 0, 1 or all", c.Acks)
}

// split divides n into parts shares, the remainder to the first ones.
func split(n int64, parts, i int) int64 {
	q := n / int64(parts)
	if int64(i) < n%int64(parts) {
		q++
	}
	return q
}

// CommandLine is the `sluice bench` command that runs c against a broker
// at ADDR: what a report prints beside a figure it took with Run.
func (c Config) CommandLine() string {
	parts := []string{"sluice", "bench", c.Workload, "--bootstrap-server=ADDR", "--topic=" + c.Topic,
		"--record-size=" + strconv.Itoa(c.RecordSize)}
	switch {
	case c.NumRecords > 0:
		parts = append(parts, "--num-records="+strconv.FormatInt(c.NumRecords, 10))
	case c.Duration > 0:
		parts = append(parts, "--duration="+c.Duration.String())
	}
	if c.Workload != Consume {
		linger := c.Linger.String()
		if c.Linger < 0 {
			linger = "0" // none at all, as --linger 0 asks
		}
		parts = append(parts, "--partitions="+strconv.Itoa(int(c.Partitions)), "--acks="+c.Acks,
			"--compression="+c.Compression, "--linger="+linger, "--batch-size="+strconv.Itoa(c.BatchSize))
		if c.Producers > 1 {
			parts = append(parts, "--producers="+strconv.Itoa(c.Producers))
		}
		if c.Throughput > 0 {
			parts = append(parts, "--throughput="+strconv.FormatFloat(c.Throughput, 'f', 0, 64))
		}
		for _, k := range slices.Sorted(maps.Keys(c.TopicConfigs)) {
			parts = append(parts, "--topic-config="+k+"="+c.TopicConfigs[k])
		}
	}
	if c.Workload != Produce {
		parts = append(parts, "--fetch-bytes="+strconv.Itoa(int(c.FetchBytes)))
	}
	return strings.Join(parts, " ")
}
