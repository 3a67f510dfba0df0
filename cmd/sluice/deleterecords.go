package main

// `sluice topics delete-records`: kafka-delete-records' job, with its
// offset JSON file, through the native client's DeleteRecords.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
)

// deleteRecordsFile is kafka-delete-records' --offset-json-file:
//
//	{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1}
//
// Pointers tell a missing field from a zero one.
type deleteRecordsFile struct {
	Partitions []deleteRecordsEntry `json:"partitions"`
	Version    *int                 `json:"version"`
}

type deleteRecordsEntry struct {
	Topic     *string `json:"topic"`
	Partition *int32  `json:"partition"`
	Offset    *int64  `json:"offset"`
}

// parseDeleteRecords reads the offset JSON file's content: the offset of
// each partition, in file order. Unknown fields, a missing field, an
// offset below -1 and a partition named twice are refused, as is a
// version other than 1.
func parseDeleteRecords(data []byte) (map[client.TopicPartition]int64, []client.TopicPartition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f deleteRecordsFile
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("offset JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("offset JSON: more after the object")
	}
	if f.Version != nil && *f.Version != 1 {
		return nil, nil, fmt.Errorf("offset JSON: version %d not supported (only 1)", *f.Version)
	}
	if len(f.Partitions) == 0 {
		return nil, nil, errors.New(`offset JSON: no "partitions" to delete records from`)
	}
	offsets := make(map[client.TopicPartition]int64, len(f.Partitions))
	var order []client.TopicPartition
	for i, e := range f.Partitions {
		switch {
		case e.Topic == nil || *e.Topic == "":
			return nil, nil, fmt.Errorf("offset JSON: partitions[%d]: no \"topic\"", i)
		case e.Partition == nil || *e.Partition < 0:
			return nil, nil, fmt.Errorf("offset JSON: partitions[%d]: \"partition\" missing or negative", i)
		case e.Offset == nil || *e.Offset < -1:
			return nil, nil, fmt.Errorf("offset JSON: partitions[%d]: \"offset\" missing or below -1 (-1: the high watermark)", i)
		}
		tp := client.TopicPartition{Topic: *e.Topic, Partition: *e.Partition}
		if _, dup := offsets[tp]; dup {
			return nil, nil, fmt.Errorf("offset JSON: %s-%d is named twice", tp.Topic, tp.Partition)
		}
		offsets[tp] = *e.Offset
		order = append(order, tp)
	}
	return offsets, order, nil
}

func topicsDeleteRecords(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "delete-records --offset-json-file FILE",
		Short: "Delete the records of partitions below given offsets",
		Long: "Delete every record below an offset of each partition named, by moving its log start\n" +
			"offset forward, as kafka-delete-records does. The file has kafka-delete-records' shape:\n" +
			"  {\"partitions\":[{\"topic\":\"events\",\"partition\":0,\"offset\":3}],\"version\":1}\n" +
			"Offset -1 deletes everything up to the high watermark. Each partition's new low\n" +
			"watermark (log start offset) or error is printed; any failure exits non-zero.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("--offset-json-file is required")
			}
			var data []byte
			var err error
			if file == "-" {
				data, err = io.ReadAll(g.stdin)
			} else {
				data, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("read offset JSON file: %w", err)
			}
			offsets, order, err := parseDeleteRecords(data)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.DeleteRecords(cmd.Context(), offsets)
			if err != nil {
				return err
			}
			failed := 0
			for _, tp := range order {
				r := res[tp]
				if r.Err != nil {
					failed++
					fmt.Fprintf(g.stdout, "partition: %s-%d\terror: %v\n", tp.Topic, tp.Partition, r.Err)
					continue
				}
				fmt.Fprintf(g.stdout, "partition: %s-%d\tlow_watermark: %d\n", tp.Topic, tp.Partition, r.LowWatermark)
			}
			if failed > 0 {
				return fmt.Errorf("delete records: %d of %d partitions failed", failed, len(order))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "offset-json-file", "", `JSON file of {"partitions":[{"topic","partition","offset"}],"version":1} ("-": stdin)`)
	return cmd
}
