package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

func newTopicsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create, delete, describe, list topics, add partitions and alter configs",
	}
	cmd.AddCommand(topicsCreate(g), topicsDelete(g), topicsDescribe(g), topicsList(g), topicsAlterConfig(g), topicsAlter(g), topicsDeleteRecords(g))
	return cmd
}

func topicsCreate(g *globals) *cobra.Command {
	var partitions int32
	var rf int16
	var configs []string
	cmd := &cobra.Command{
		Use:   "create TOPIC",
		Short: "Create a topic",
		Long: "Create a topic. Topic configs use Kafka's names, e.g.\n" +
			"  sluice topics create events --partitions 6 --config retention.ms=86400000\n" +
			"  sluice topics create users --config cleanup.policy=compact",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs, err := parseConfigs(configs)
			if err != nil {
				return err
			}
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.CreateTopic(cmd.Context(), args[0], partitions, rf, cfgs); err != nil {
				return fmt.Errorf("create topic %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "Created topic %s.\n", args[0])
			return nil
		},
	}
	cmd.Flags().Int32Var(&partitions, "partitions", -1, "number of partitions (-1: the broker's num.partitions)")
	cmd.Flags().Int16Var(&rf, "replication-factor", -1, "replication factor (-1: the broker's default.replication.factor)")
	cmd.Flags().StringArrayVar(&configs, "config", nil, "topic config key=value (repeatable)")
	return cmd
}

func topicsDelete(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete TOPIC",
		Short: "Delete a topic and all its records",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.DeleteTopic(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("delete topic %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "Deleted topic %s.\n", args[0])
			return nil
		},
	}
}

func topicsList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List topic names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			names, err := c.ListTopics(cmd.Context())
			if err != nil {
				return fmt.Errorf("list topics: %w", err)
			}
			for _, n := range names {
				fmt.Fprintln(g.stdout, n)
			}
			return nil
		},
	}
}

func topicsDescribe(g *globals) *cobra.Command {
	var underReplicated, unavailable bool
	cmd := &cobra.Command{
		Use:   "describe [TOPIC]",
		Short: "Show topics' partitions, offsets, cleanup policy and config overrides",
		Long: "Show a topic's partitions (leader, replicas, in-sync replicas, log start and high watermark),\n" +
			"its cleanup.policy (delete, compact or compact,delete) and its config overrides; every\n" +
			"topic's when none is named. As with kafka-topics --describe,\n" +
			"--under-replicated-partitions lists only the partitions whose ISR is smaller than their\n" +
			"replica list and --unavailable-partitions only those without a live leader (both: either);\n" +
			"topics with no such partition are left out, so nothing printed means none, e.g.\n" +
			"  sluice topics describe --under-replicated-partitions --bootstrap-server 127.0.0.1:9193",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			names := args
			if len(names) == 0 {
				if names, err = c.ListTopics(ctx); err != nil {
					return fmt.Errorf("list topics: %w", err)
				}
			}
			var live map[int32]bool // nil: every partition is shown
			if underReplicated || unavailable {
				if live, err = liveBrokers(ctx, c); err != nil {
					return err
				}
			}
			for _, name := range names {
				info, err := c.DescribeTopic(ctx, name)
				if len(args) == 0 && errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
					continue // deleted since it was listed
				}
				if err != nil {
					return fmt.Errorf("describe topic %s: %w", name, err)
				}
				parts := info.Partitions
				if live != nil {
					parts = slices.DeleteFunc(slices.Clone(parts), func(p client.PartitionInfo) bool {
						return !(underReplicated && len(p.ISR) < len(p.Replicas) || unavailable && (p.Leader < 0 || !live[p.Leader]))
					})
					if len(parts) == 0 {
						continue
					}
				}
				cfgs, err := c.DescribeConfigs(ctx, name)
				if err != nil {
					return fmt.Errorf("describe configs of %s: %w", name, err)
				}
				if err := printTopic(g.stdout, info, parts, cfgs); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&underReplicated, "under-replicated-partitions", false, "only partitions whose ISR is smaller than their replica list")
	cmd.Flags().BoolVar(&unavailable, "unavailable-partitions", false, "only partitions without a live leader")
	return cmd
}

// liveBrokers is the set of registered brokers that are not fenced.
func liveBrokers(ctx context.Context, c *client.Client) (map[int32]bool, error) {
	info, err := c.DescribeCluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe cluster: %w", err)
	}
	live := make(map[int32]bool, len(info.Brokers))
	for _, b := range info.Brokers {
		live[b.NodeID] = !b.Fenced
	}
	return live, nil
}

// printTopic writes a topic's line (name, partition count, effective
// cleanup.policy, config overrides) and a table of the partitions parts
// (all of info's, or some).
func printTopic(w io.Writer, info client.TopicInfo, parts []client.PartitionInfo, cfgs []client.ConfigEntry) error {
	var overrides []string
	policy := "-" // a broker that does not report it
	for _, e := range cfgs {
		if !e.IsDefault {
			overrides = append(overrides, e.Name+"="+e.Value)
		}
		if e.Name == "cleanup.policy" {
			policy = e.Value
		}
	}
	sort.Strings(overrides)
	fmt.Fprintf(w, "Topic: %s\tPartitionCount: %d\tCleanupPolicy: %s\tConfigs: %s\n", info.Name, len(info.Partitions), policy, strings.Join(overrides, ","))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tREPLICAS\tISR\tLOG-START\tHIGH-WATERMARK")
	for _, p := range parts {
		if p.Leader < 0 {
			// Offline: its leader is down and no other replica may lead.
			fmt.Fprintf(tw, "%d\tnone\t%s\t%s\t-\t-\n", p.Partition, ints(p.Replicas), ints(p.ISR))
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%d\n", p.Partition, p.Leader, ints(p.Replicas), ints(p.ISR), p.LogStartOffset, p.HighWatermark)
	}
	return tw.Flush()
}

func topicsAlterConfig(g *globals) *cobra.Command {
	var set, remove []string
	cmd := &cobra.Command{
		Use:   "alter-config TOPIC",
		Short: "Set or remove a topic's config overrides",
		Long:  "Set or remove config overrides, e.g.\n  sluice topics alter-config events --config retention.ms=3600000 --delete-config retention.bytes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs, err := parseConfigs(set)
			if err != nil {
				return err
			}
			if len(cfgs) == 0 && len(remove) == 0 {
				return fmt.Errorf("nothing to change: give --config key=value or --delete-config key")
			}
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.AlterConfigs(cmd.Context(), args[0], cfgs, remove); err != nil {
				return fmt.Errorf("alter configs of %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "Updated configs of topic %s.\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&set, "config", nil, "config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&remove, "delete-config", nil, "config key to reset to the default (repeatable)")
	return cmd
}

func topicsAlter(g *globals) *cobra.Command {
	var partitions int32
	cmd := &cobra.Command{
		Use:   "alter TOPIC --partitions N",
		Short: "Add partitions to a topic",
		Long: "Raise a topic's partition count to N (partitions are only ever added), e.g.\n" +
			"  sluice topics alter events --partitions 12\n" +
			"Keyed records produced afterwards may land on other partitions than the same keys before;\n" +
			"consumer groups on the topic rebalance to give the new partitions owners.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if partitions <= 0 {
				return fmt.Errorf("give the new partition count with --partitions N")
			}
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.CreatePartitions(cmd.Context(), args[0], partitions); err != nil {
				return fmt.Errorf("add partitions to %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "Topic %s now has %d partitions.\n", args[0], partitions)
			return nil
		},
	}
	cmd.Flags().Int32Var(&partitions, "partitions", 0, "the new total number of partitions")
	return cmd
}

func ints(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
