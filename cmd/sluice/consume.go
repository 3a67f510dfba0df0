package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
)

type consumeOptions struct {
	fromBeginning  bool
	partition      int32
	offset         string
	maxMessages    int
	timeout        time.Duration
	printKey       bool
	printPartition bool
	printOffset    bool
	printTimestamp bool
	jsonLines      bool
	group          string
	keyFmt         formatOptions
	valueFmt       formatOptions
	registry       string
	// key and value print keys and values (newFormat builds them).
	key, value format
}

func newConsumeCommand(g *globals) *cobra.Command {
	var o consumeOptions
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print a topic's records, like kafka-console-consumer",
		Long: "Print a topic's records, one per line. Without --from-beginning or --offset it\n" +
			"starts at the end and waits for new records. Ctrl-C stops it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, topic := cmd.Context(), args[0]
			o.keyFmt.role, o.keyFmt.topic, o.keyFmt.registry = "key", topic, o.registry
			o.valueFmt.role, o.valueFmt.topic, o.valueFmt.registry = "value", topic, o.registry
			var closeKey, closeValue func()
			var err error
			if o.key, closeKey, err = newFormat(ctx, o.keyFmt); err != nil {
				return err
			}
			defer closeKey()
			if o.value, closeValue, err = newFormat(ctx, o.valueFmt); err != nil {
				return err
			}
			defer closeValue()
			return consume(ctx, g, topic, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset")
	f.Int32Var(&o.partition, "partition", -1, "read only this partition (default: all)")
	f.StringVar(&o.offset, "offset", "", "start offset: a number, earliest or latest (needs --partition)")
	f.IntVar(&o.maxMessages, "max-messages", 0, "exit after this many records (0: no limit)")
	f.DurationVar(&o.timeout, "timeout", 0, "exit when no record arrives for this long (0: wait for ever)")
	f.BoolVar(&o.printKey, "print-key", false, "print the key before the value, tab-separated")
	f.BoolVar(&o.printPartition, "print-partition", false, "print the partition")
	f.BoolVar(&o.printOffset, "print-offset", false, "print the offset")
	f.BoolVar(&o.printTimestamp, "print-timestamp", false, "print the timestamp (ms since the epoch)")
	f.BoolVar(&o.jsonLines, "json", false, "print one JSON object per record")
	f.StringVar(&o.group, "group", "", "read as a member of this consumer group, committing what is printed")
	f.StringVar(&o.valueFmt.name, "value-format", "string", "how values are printed: "+formatNames+" (Confluent's wire format, printed as JSON)")
	f.StringVar(&o.keyFmt.name, "key-format", "string", "how keys are printed: "+formatNames)
	f.StringVar(&o.valueFmt.schemaFile, "value-schema", "", "read Avro values as this schema (.avsc), evolution applied; default: as written")
	f.StringVar(&o.keyFmt.schemaFile, "key-schema", "", "read Avro keys as this schema (.avsc)")
	f.StringVar(&o.registry, "schema-registry", defaultSchemaRegistry(), "the schema registry's URL(s), comma-separated (env SLUICE_SCHEMA_REGISTRY)")
	return cmd
}

func consume(ctx context.Context, g *globals, topic string, o consumeOptions) error {
	if o.group != "" {
		return consumeGroup(ctx, g, topic, o)
	}
	if o.offset != "" && o.partition < 0 {
		return errors.New("--offset needs --partition")
	}
	c, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	partitions := []int32{o.partition}
	if o.partition < 0 {
		n, err := c.Partitions(ctx, topic)
		if err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		partitions = partitions[:0]
		for p := int32(0); p < n; p++ {
			partitions = append(partitions, p)
		}
	}
	k := c.NewConsumer(client.ConsumerConfig{})
	defer k.Close()
	k.Assign(topic, partitions...)
	switch {
	case o.offset == "earliest" || (o.offset == "" && o.fromBeginning):
		err = k.SeekToBeginning(ctx, topic, partitions...)
	case o.offset == "latest" || o.offset == "":
		err = k.SeekToEnd(ctx, topic, partitions...)
	default:
		off, perr := strconv.ParseInt(o.offset, 10, 64)
		if perr != nil || off < 0 {
			return fmt.Errorf("--offset %q: want a number, earliest or latest", o.offset)
		}
		k.Seek(topic, o.partition, off)
	}
	if err != nil {
		return fmt.Errorf("seek: %w", err)
	}
	printed := 0
	last := time.Now()
	for o.maxMessages == 0 || printed < o.maxMessages {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if o.timeout > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, last.Add(o.timeout))
		}
		recs, err := k.Poll(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return nil // interrupted: a normal way to stop
		}
		if err != nil {
			if o.timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return err
		}
		if len(recs) > 0 {
			last = time.Now()
		}
		for i := range recs {
			if err := printRecord(g, &recs[i], o); err != nil {
				return err
			}
			printed++
			if o.maxMessages > 0 && printed >= o.maxMessages {
				break
			}
		}
	}
	return nil
}

func printRecord(g *globals, r *client.ConsumerRecord, o consumeOptions) error {
	key, value, err := decodeRecord(r, o)
	if err != nil {
		return err
	}
	if o.jsonLines {
		type header struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}
		line := struct {
			Topic     string   `json:"topic"`
			Partition int32    `json:"partition"`
			Offset    int64    `json:"offset"`
			Timestamp int64    `json:"timestamp"`
			Key       *string  `json:"key"`
			Value     *string  `json:"value"`
			Headers   []header `json:"headers,omitempty"`
		}{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(), Key: key, Value: value}
		for _, h := range r.Headers {
			line.Headers = append(line.Headers, header{Key: string(h.Key), Value: string(h.Value)})
		}
		b, err := json.Marshal(line)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	prefix := ""
	if o.printTimestamp {
		prefix += "CreateTime:" + strconv.FormatInt(r.Timestamp.UnixMilli(), 10) + "\t"
	}
	if o.printPartition {
		prefix += "Partition:" + strconv.Itoa(int(r.Partition)) + "\t"
	}
	if o.printOffset {
		prefix += "Offset:" + strconv.FormatInt(r.Offset, 10) + "\t"
	}
	if o.printKey {
		prefix += text(key) + "\t"
	}
	_, err = fmt.Fprintf(g.stdout, "%s%s\n", prefix, text(value))
	return err
}

// decodeRecord renders a record's key and value with the formats of o
// (nil for null).
func decodeRecord(r *client.ConsumerRecord, o consumeOptions) (key, value *string, err error) {
	render := func(f format, b []byte, what string) (*string, error) {
		if b == nil {
			return nil, nil
		}
		if f == nil {
			f = stringFormat{}
		}
		s, err := f.decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s-%d offset %d: %s: %w", r.Topic, r.Partition, r.Offset, what, err)
		}
		return &s, nil
	}
	if key, err = render(o.key, r.Key, "key"); err != nil {
		return nil, nil, err
	}
	if value, err = render(o.value, r.Value, "value"); err != nil {
		return nil, nil, err
	}
	return key, value, nil
}

func text(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
