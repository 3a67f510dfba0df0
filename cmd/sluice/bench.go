package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/bench/perf"
	"github.com/sluicelog/sluice/bench/units"
)

// newBenchCommand is `sluice bench produce|consume|e2e|engine`: the
// workloads of package bench/perf with a flag for each Config field.
func newBenchCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency: produce, consume, e2e, or the embedded engine",
		Long: "Measure a broker (or, with engine, the embedded engine) in the spirit of\n" +
			"kafka-producer-perf-test: a progress line every second on stderr (records/s, MB/s,\n" +
			"average and max latency), then a summary with p50, p95, p99, p99.9 and max latency\n" +
			"on stdout, or with --json one JSON document.",
	}
	for _, w := range []struct{ name, short string }{
		{perf.Produce, "Send records; latency is from send to the broker's acknowledgement"},
		{perf.Consume, "Read the topic from the beginning; latency is per fetch"},
		{perf.E2E, "Produce and consume at once; latency is from send to receipt by a consumer"},
		{perf.Engine, "Append batches to the embedded engine in a local directory; latency is per append"},
	} {
		cmd.AddCommand(newBenchWorkload(g, w.name, w.short))
	}
	return cmd
}

func newBenchWorkload(g *globals, workload, short string) *cobra.Command {
	cfg := perf.Config{Workload: workload}
	var (
		batchSize, fetchBytes string
		topicConfigs          []string
		asJSON                bool
	)
	cmd := &cobra.Command{
		Use:   workload,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := units.ParseSize(batchSize)
			if err != nil {
				return fmt.Errorf("--batch-size: %w", err)
			}
			f, err := units.ParseSize(fetchBytes)
			if err != nil || f > 1<<31-1 {
				return fmt.Errorf("--fetch-bytes %q: want a size below 2 GiB", fetchBytes)
			}
			cfg.BatchSize, cfg.FetchBytes = int(b), int32(f)
			if cmd.Flags().Changed("linger") && cfg.Linger <= 0 {
				cfg.Linger = -1 // --linger 0 asked for none, not the default
			}
			if cfg.TopicConfigs, err = parseConfigs(topicConfigs); err != nil {
				return err
			}
			if workload != perf.Engine && (cfg.Protocol != perf.ProtocolKafka || cmd.Flag("bootstrap-server").Changed) {
				for _, s := range strings.Split(g.bootstrap, ",") {
					if s = strings.TrimSpace(s); s != "" {
						cfg.Bootstrap = append(cfg.Bootstrap, s)
					}
				}
			}
			res, runErr := perf.Run(cmd.Context(), cfg, g.stderr)
			if res != nil {
				res.Command = commandLine(cmd, topicConfigs)
				if asJSON {
					err = res.WriteJSON(g.stdout)
				} else {
					err = res.WriteText(g.stdout)
				}
				if err != nil {
					return err
				}
			}
			return runErr
		},
	}
	fs := cmd.Flags()
	if workload != perf.Engine {
		fs.StringVar(&cfg.Protocol, "protocol", perf.ProtocolSluice,
			"sluice (native protocol and client) or kafka (the Kafka listener, with franz-go's kgo; --bootstrap-server defaults to 127.0.0.1:9092)")
	}
	fs.StringVar(&cfg.Topic, "topic", "sluice-bench", "topic to use, created with --partitions and --topic-config when missing")
	fs.StringArrayVar(&topicConfigs, "topic-config", nil, "topic config key=value for a topic this run creates (e.g. flush.on.ack=true); may repeat")
	fs.IntVar(&cfg.RecordSize, "record-size", 100, "value size of each record in bytes")
	fs.Int64Var(&cfg.NumRecords, "num-records", 0, "records to send or read (default 1000000 unless --duration; consume: what the topic holds)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "run for this long instead of --num-records")
	fs.Float64Var(&cfg.Throughput, "throughput", -1, "cap on records per second over all producers; -1 for none")
	fs.IntVar(&cfg.Producers, "producers", 1, "producers, each with its own connection")
	fs.IntVar(&cfg.Consumers, "consumers", 1, "consumers, splitting the partitions")
	fs.Int32Var(&cfg.Partitions, "partitions", 1, "partitions of a topic this run creates")
	fs.StringVar(&cfg.Acks, "acks", "all", "0, 1 or all")
	fs.StringVar(&cfg.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&cfg.Linger, "linger", perfDefault().Linger, "producer linger (linger.ms)")
	fs.StringVar(&batchSize, "batch-size", "16KiB", "producer batch.size (engine: bytes appended at once)")
	fs.IntVar(&cfg.KeyCardinality, "key-cardinality", 0, "distinct keys used in turn; 0 for null keys")
	fs.StringVar(&fetchBytes, "fetch-bytes", "1MiB", "consumer max.partition.fetch.bytes")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "engine only: data directory (default a temporary one, removed)")
	fs.DurationVar(&cfg.Interval, "interval", perfDefault().Interval, "progress line period")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON document")
	return cmd
}

// commandLine renders the command as run, with the flags that were set.
func commandLine(cmd *cobra.Command, topicConfigs []string) string {
	parts := []string{cmd.CommandPath()}
	for _, name := range []string{"bootstrap-server", "protocol", "topic", "record-size", "num-records", "duration", "throughput",
		"producers", "consumers", "partitions", "acks", "compression", "linger", "batch-size", "key-cardinality",
		"fetch-bytes", "data-dir", "interval", "json"} {
		if f := cmd.Flag(name); f != nil && f.Changed {
			parts = append(parts, "--"+name+"="+f.Value.String())
		}
	}
	for _, kv := range topicConfigs {
		parts = append(parts, "--topic-config="+kv)
	}
	return strings.Join(parts, " ")
}

// perfDefault is a Config with perf's defaults, for flag defaults.
func perfDefault() perf.Config {
	var c perf.Config
	c.SetDefaults()
	return c
}
