package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/segment/batch"
)

func newProduceCommand(g *globals) *cobra.Command {
	var (
		keySep      string
		acks        string
		compression string
		partition   int32
		partitioner string
		maxLine     int
		maxBlock    time.Duration
		keyFmt      formatOptions
		valueFmt    formatOptions
		registry    string
		noRegister  bool
	)
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Send each line of standard input as a record",
		Long: "Send each line of standard input as a record, like kafka-console-producer.\n" +
			"With --key-separator, the text before the first separator is the key.\n" +
			"Records go where --partitioner says (Kafka's default: a key's murmur2 hash,\n" +
			"sticky for lines without a key), or all to --partition.\n" +
			"--value-format (and --key-format) write the text with Kafka's serializers'\n" +
			"byte layouts: string, bytes, int, long, double, or avro: one JSON object per\n" +
			"line, written with --value-schema FILE (registered under TOPIC-value in the\n" +
			"schema registry unless --no-register) in Confluent's wire format.\n" +
			"Exits non-zero, naming the failure, if any record is not acknowledged.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			codec, err := batch.ParseCodec(compression)
			if err != nil {
				return fmt.Errorf("--compression: %w", err)
			}
			ackLevel, err := parseAcks(acks)
			if err != nil {
				return err
			}
			part, err := producePartitioner(partitioner, cmd.Flags().Changed("partitioner"), partition)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			keyFmt.role, keyFmt.topic, keyFmt.registry, keyFmt.autoRegister = "key", topic, registry, !noRegister
			valueFmt.role, valueFmt.topic, valueFmt.registry, valueFmt.autoRegister = "value", topic, registry, !noRegister
			if keyFmt.name != "" && keyFmt.name != "string" && keySep == "" {
				return errors.New("--key-format needs --key-separator: each line is KEY<separator>VALUE")
			}
			encodeKey, closeKey, err := newFormat(ctx, keyFmt)
			if err != nil {
				return err
			}
			defer closeKey()
			encodeValue, closeValue, err := newFormat(ctx, valueFmt)
			if err != nil {
				return err
			}
			defer closeValue()
			for _, f := range []format{encodeKey, encodeValue} {
				if a, ok := f.(*avroFormat); ok {
					if err := a.ready(ctx); err != nil {
						return fmt.Errorf("schema registry %s: %w", registry, err)
					}
				}
			}
			c, err := g.connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			p, err := c.NewProducer(client.ProducerConfig{Partitioner: part, Acks: ackLevel, Compression: codec, MaxBlock: maxBlock, DisableIdempotence: ackLevel != -1})
			if err != nil {
				return err
			}
			var (
				mu       sync.Mutex
				failed   int
				firstErr error
			)
			done := func(_ client.RecordMetadata, err error) {
				if err != nil {
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			sc := bufio.NewScanner(g.stdin)
			sc.Buffer(make([]byte, 64*1024), maxLine)
			sent := 0
			for sc.Scan() {
				line := sc.Text()
				rec := &client.Record{Topic: topic, Partition: partition}
				keyText, valueText, hasKey := "", line, false
				if keySep != "" {
					var ok bool
					if keyText, valueText, ok = strings.Cut(line, keySep); !ok {
						p.Close(ctx)
						return fmt.Errorf("line %d has no key separator %q", sent+1, keySep)
					}
					hasKey = true
				}
				if rec.Value, err = encodeValue.encode(valueText); err != nil {
					p.Close(ctx)
					return fmt.Errorf("line %d: value: %w", sent+1, err)
				}
				if hasKey {
					if rec.Key, err = encodeKey.encode(keyText); err != nil {
						p.Close(ctx)
						return fmt.Errorf("line %d: key: %w", sent+1, err)
					}
				}
				if err := p.Send(ctx, rec, done); err != nil {
					p.Close(ctx)
					return fmt.Errorf("send line %d: %w", sent+1, err)
				}
				sent++
			}
			if err := sc.Err(); err != nil {
				p.Close(ctx)
				return fmt.Errorf("read stdin: %w", err)
			}
			if err := p.Close(ctx); err != nil {
				return fmt.Errorf("flush: %w", err)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d records were not acknowledged; first error: %w", failed, sent, firstErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keySep, "key-separator", "", "split each line into key and value at the first occurrence of this text")
	cmd.Flags().StringVar(&acks, "acks", "all", "0 (no acknowledgement), 1 (leader), all / -1")
	cmd.Flags().StringVar(&compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	cmd.Flags().Int32Var(&partition, "partition", -1, "send every record to this partition (-1: the --partitioner decides)")
	cmd.Flags().StringVar(&partitioner, "partitioner", "sticky-key", "sticky-key (Kafka's default), uniform-sticky, round-robin, key (murmur2; round robin without a key), or a Kafka partitioner.class name")
	cmd.Flags().IntVar(&maxLine, "max-line-bytes", 1<<20, "longest line accepted")
	cmd.Flags().DurationVar(&maxBlock, "max-block", 10*time.Second, "how long to wait for topic metadata or buffer space (max.block.ms)")
	cmd.Flags().StringVar(&valueFmt.name, "value-format", "string", "how each line's value is written: "+formatNames)
	cmd.Flags().StringVar(&keyFmt.name, "key-format", "string", "how each line's key is written: "+formatNames)
	cmd.Flags().StringVar(&valueFmt.schemaFile, "value-schema", "", "the Avro schema file (.avsc) of --value-format avro")
	cmd.Flags().StringVar(&keyFmt.schemaFile, "key-schema", "", "the Avro schema file (.avsc) of --key-format avro")
	cmd.Flags().StringVar(&registry, "schema-registry", defaultSchemaRegistry(), "the schema registry's URL(s), comma-separated (env SLUICE_SCHEMA_REGISTRY)")
	cmd.Flags().BoolVar(&noRegister, "no-register", false, "look the Avro schema up in the registry rather than registering it")
	return cmd
}

// producePartitioner is the producer's partitioner: manual when
// --partition names one (which --partitioner must then not contradict),
// otherwise the one --partitioner names.
func producePartitioner(name string, named bool, partition int32) (client.Partitioner, error) {
	if partition >= 0 {
		if named && name != "manual" {
			return nil, fmt.Errorf("--partition %d sends every record to one partition; drop --partitioner %s", partition, name)
		}
		return client.ManualPartitioner(), nil
	}
	if name == "manual" {
		return nil, errors.New("--partitioner manual needs --partition")
	}
	p, err := client.PartitionerByName(name)
	if err != nil {
		return nil, fmt.Errorf("--partitioner: %w", err)
	}
	return p, nil
}

func parseAcks(s string) (int16, error) {
	switch s {
	case "0":
		return client.AcksNone, nil
	case "1":
		return 1, nil
	case "all", "-1":
		return -1, nil
	}
	return 0, fmt.Errorf("--acks %q: want 0, 1 or all", s)
}
