package netbench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/segment/batch"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	DefaultRecords    = 5_000_000
	DefaultRecordSize = 100
	DefaultLinger     = 5 * time.Millisecond
	// DefaultBatchSize is the producer's batch.size. Kafka's 16 KiB default
	// is tuned for latency; for throughput Kafka's own perf tests raise it.
	// 256 KiB keeps four batches in flight well under the broker's 1 MiB
	// message.max.bytes and the producer's 1 MiB max.request.size.
	DefaultBatchSize = 256 << 10
	// DefaultFetchBytes is the consumer's max.partition.fetch.bytes
	// (Kafka's default, 1 MiB), used for the raw fetches too.
	DefaultFetchBytes = 1 << 20
	// DefaultLatencyDuration is how long the paced latency phase runs.
	DefaultLatencyDuration = 3 * time.Second
	// TargetConsumeRatio is issue 3's target for the consumer: at least
	// this share of the loopback limit measured in the same run.
	TargetConsumeRatio = 0.8
)

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Records is how many records are produced and then consumed.
	Records int64
	// RecordSize is the size of each record's value (the key is null).
	RecordSize int
	// Acks is the producer's acks: client.AcksLeader (the default),
	// client.AcksAll or client.AcksNone.
	Acks int16
	// Linger is the producer's linger.ms.
	Linger time.Duration
	// BatchSize is the producer's batch.size in bytes.
	BatchSize int
	// Compression is the producer's compression.type.
	Compression batch.Codec
	// FetchBytes is max.partition.fetch.bytes for the consumer and the raw
	// fetches: the size of one fetch response's records.
	FetchBytes int32
	// ReceiveBuffer is receive.buffer.bytes for the consumer, and the
	// SO_RCVBUF of every connection this process reads on the consume side
	// (raw fetches and the consume limits), so that each consume ratio
	// compares readers with the same buffer. Zero leaves it to the OS.
	ReceiveBuffer int
	// SendBuffer is the broker's socket.send.buffer.bytes and the SO_SNDBUF
	// of the consume limits' sources, so that those send with the same
	// buffer as the broker. Zero leaves it to the OS.
	SendBuffer int
	// LatencyDuration is how long produce latency is measured, at
	// LatencyFraction of the peak rate.
	LatencyDuration time.Duration
	// Runs is how many times each loopback limit and each way of
	// consuming is measured (5 by default: one short run is noisy on a
	// shared machine). The consume phases run in rounds, each round every
	// consumer mode and the consume limit once, so that a ratio compares
	// runs made moments apart; the report gives medians.
	Runs int

	// Dir is where the temporary directories go (the broker binary and its
	// data). Empty means os.TempDir(), or a hidden directory in this
	// package's source folder when the temp file system has too little
	// space for the log.
	Dir string
	// Sluiced is a prebuilt broker binary; empty builds cmd/sluiced.
	Sluiced string
	// ModuleDir is the Sluice module's root; empty asks `go env GOMOD`.
	ModuleDir string
	// BrokerConfig is the broker's properties file; empty means
	// cmd/sluiced/sluiced.properties in ModuleDir (its listeners and data
	// directory are overridden).
	BrokerConfig string
	// HelperExe is the binary run with -sink and -source; empty means this
	// executable, which must call HelperMain first thing.
	HelperExe string
	// Command is the command line to print with the figures; empty means
	// os.Args.
	Command string
	// CPUProfile, if set, receives a CPU profile of this process over the
	// timed phases, labelled phase=<name>.
	CPUProfile io.Writer
	// BrokerPerf, if set, is a file name prefix: the broker is recorded
	// with `perf record -g` during each Sluice phase into
	// BrokerPerf.<phase>.data (perf's own CPU use then skews the figures).
	BrokerPerf string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Records <= 0 {
		c.Records = DefaultRecords
	}
	if c.RecordSize <= 0 {
		c.RecordSize = DefaultRecordSize
	}
	if c.Acks == 0 {
		c.Acks = client.AcksLeader
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FetchBytes <= 0 {
		c.FetchBytes = DefaultFetchBytes
	}
	if c.LatencyDuration <= 0 {
		c.LatencyDuration = DefaultLatencyDuration
	}
	if c.Runs <= 0 {
		c.Runs = 5
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// ParseAcks reads an acks setting as Kafka spells it: 0, 1, -1 or all.
func ParseAcks(s string) (int16, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "0", "none":
		return client.AcksNone, nil
	case "1", "leader":
		return client.AcksLeader, nil
	case "-1", "all":
		return client.AcksAll, nil
	}
	return 0, fmt.Errorf("acks %q: want 0, 1 or all (-1)", s)
}

// AcksString is the inverse of ParseAcks.
func AcksString(acks int16) string {
	switch acks {
	case client.AcksNone:
		return "0"
	case client.AcksLeader:
		return "1"
	case client.AcksAll:
		return "all"
	}
	return fmt.Sprint(acks)
}

// maxRequestSize is the producer's max.request.size: Kafka's 1 MiB, or
// more when a full batch and its request framing would not fit.
func (c *Config) maxRequestSize() int {
	return max(1<<20, c.BatchSize+4096)
}

// topicConfigs are the topic's overrides: max.message.bytes is raised only
// when a batch could exceed the broker's default (1 MiB + 12).
func (c *Config) topicConfigs() map[string]string {
	if c.BatchSize+4096 <= 1048588 {
		return nil
	}
	return map[string]string{"max.message.bytes": fmt.Sprint(c.BatchSize + 4096)}
}
