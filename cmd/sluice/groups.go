package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

func newGroupsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "List, describe and delete consumer groups and reset their offsets",
	}
	cmd.AddCommand(groupsList(g), groupsDescribe(g), groupsDelete(g), groupsResetOffsets(g))
	return cmd
}

func groupsList(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List consumer groups with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			groups, err := c.ListGroups(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
			for _, gr := range groups {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", gr.Group, gr.State, dash(gr.ProtocolType))
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupsDescribe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe GROUP",
		Short: "Show a group's members, their partitions, committed offsets, log end offsets and lag",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := g.connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := c.DescribeGroup(ctx, args[0])
			if err != nil {
				return err
			}
			committed, err := c.FetchGroupOffsets(ctx, args[0], nil)
			if err != nil {
				return err
			}
			if d.State == "Dead" && len(committed) == 0 {
				return fmt.Errorf("group %s: %w", args[0], protocol.ErrGroupIDNotFound)
			}
			owner := map[client.TopicPartition]client.GroupMember{}
			parts := map[client.TopicPartition]bool{}
			for p := range committed {
				parts[p] = true
			}
			for _, m := range d.Members {
				for _, p := range m.Partitions {
					owner[p], parts[p] = m, true
				}
			}
			ends, err := logEnds(ctx, c, parts)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Group: %s\tState: %s\tAssignor: %s\tGeneration: %d\tMembers: %d\n",
				d.Group, d.State, dash(d.Protocol), d.Generation, len(d.Members))
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST")
			for _, p := range sortedTPs(parts) {
				cur, lag := "-", "-"
				end, known := ends[p]
				if co, ok := committed[p]; ok {
					cur = strconv.FormatInt(co.Offset, 10)
					if known {
						lag = strconv.FormatInt(max(end-co.Offset, 0), 10)
					}
				} else if known {
					lag = "-"
				}
				endS := "-"
				if known {
					endS = strconv.FormatInt(end, 10)
				}
				m, ok := owner[p]
				mid, cid, host := "-", "-", "-"
				if ok {
					mid, cid, host = m.MemberID, m.ClientID, m.Host
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Topic, p.Partition, cur, endS, lag, mid, cid, host)
			}
			for _, m := range d.Members {
				if len(m.Partitions) == 0 {
					// More members than partitions: this one waits.
					fmt.Fprintf(tw, "-\t-\t-\t-\t-\t%s\t%s\t%s (idle: no partitions)\n", m.MemberID, m.ClientID, m.Host)
				}
			}
			return tw.Flush()
		},
	}
}

func sortedTPs(set map[client.TopicPartition]bool) []client.TopicPartition {
	out := make([]client.TopicPartition, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return assign.Compare(out[i], out[j]) < 0 })
	return out
}

// partitionRange is a partition's [log start, high watermark].
type partitionRange struct{ start, end int64 }

// logRanges returns the offsets range of every partition of the topics
// named in parts; partitions of deleted topics are left out.
func logRanges(ctx context.Context, c *client.Client, parts map[client.TopicPartition]bool) (map[client.TopicPartition]partitionRange, error) {
	out := map[client.TopicPartition]partitionRange{}
	seen := map[string]bool{}
	for p := range parts {
		if seen[p.Topic] {
			continue
		}
		seen[p.Topic] = true
		info, err := c.DescribeTopic(ctx, p.Topic)
		if errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, pi := range info.Partitions {
			out[client.TopicPartition{Topic: p.Topic, Partition: pi.Partition}] = partitionRange{pi.LogStartOffset, pi.HighWatermark}
		}
	}
	return out, nil
}

func logEnds(ctx context.Context, c *client.Client, parts map[client.TopicPartition]bool) (map[client.TopicPartition]int64, error) {
	ranges, err := logRanges(ctx, c, parts)
	if err != nil {
		return nil, err
	}
	out := make(map[client.TopicPartition]int64, len(ranges))
	for p, r := range ranges {
		out[p] = r.end
	}
	return out, nil
}

func groupsDelete(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP",
		Short: "Delete a consumer group without active members, with its committed offsets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Deleted group %s.\n", args[0])
			return nil
		},
	}
}

type resetOptions struct {
	topics     []string
	toEarliest bool
	toLatest   bool
	toOffset   int64
	toDatetime string
	shiftBy    int64
	dryRun     bool
}

func groupsResetOffsets(g *globals) *cobra.Command {
	var o resetOptions
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC[:P,P...] (--to-earliest|--to-latest|--to-offset N|--to-datetime T|--shift-by N)",
		Short: "Move a group's committed offsets; the group must have no active members",
		Long: "Move a group's committed offsets, like kafka-consumer-groups --reset-offsets.\n" +
			"The group must have no active members (stop its consumers first). New offsets\n" +
			"are kept within each partition's [log start, log end]. --dry-run prints the\n" +
			"plan without committing. --to-datetime takes RFC 3339 (2026-01-02T15:04:05Z)\n" +
			"or milliseconds since the epoch.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resetOffsets(cmd, g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.topics, "topic", nil, "topic, or topic:partition,partition,... (repeatable; required)")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "to the log start offset")
	f.BoolVar(&o.toLatest, "to-latest", false, "to the log end offset")
	f.Int64Var(&o.toOffset, "to-offset", -1, "to this offset")
	f.StringVar(&o.toDatetime, "to-datetime", "", "to the first offset at or after this time")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "by this many offsets (negative: back) from the committed offset")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the new offsets without committing them")
	return cmd
}

func resetOffsets(cmd *cobra.Command, g *globals, group string, o resetOptions) error {
	modes := 0
	for _, set := range []bool{o.toEarliest, o.toLatest, cmd.Flags().Changed("to-offset"), o.toDatetime != "", cmd.Flags().Changed("shift-by")} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return errors.New("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
	}
	if len(o.topics) == 0 {
		return errors.New("--topic is required")
	}
	if cmd.Flags().Changed("to-offset") && o.toOffset < 0 {
		return fmt.Errorf("--to-offset %d: offsets are not negative", o.toOffset)
	}
	var at int64
	if o.toDatetime != "" {
		t, err := parseDatetime(o.toDatetime)
		if err != nil {
			return err
		}
		at = t.UnixMilli()
	}
	ctx := cmd.Context()
	c, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	d, err := c.DescribeGroup(ctx, group)
	if err != nil {
		return err
	}
	if len(d.Members) > 0 {
		return fmt.Errorf("group %s has %d active members (state %s): stop its consumers before resetting its offsets", group, len(d.Members), d.State)
	}
	parts := map[client.TopicPartition]bool{}
	for _, spec := range o.topics {
		topic, list, hasList := strings.Cut(spec, ":")
		info, err := c.DescribeTopic(ctx, topic)
		if err != nil {
			return fmt.Errorf("--topic %s: %w", spec, err)
		}
		if !hasList {
			for _, p := range info.Partitions {
				parts[client.TopicPartition{Topic: topic, Partition: p.Partition}] = true
			}
			continue
		}
		for _, s := range strings.Split(list, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil || n < 0 || int(n) >= len(info.Partitions) {
				return fmt.Errorf("--topic %s: %q is not a partition of %s (it has %d)", spec, s, topic, len(info.Partitions))
			}
			parts[client.TopicPartition{Topic: topic, Partition: int32(n)}] = true
		}
	}
	ranges, err := logRanges(ctx, c, parts)
	if err != nil {
		return err
	}
	committed, err := c.FetchGroupOffsets(ctx, group, nil)
	if err != nil {
		return err
	}
	plan := map[client.TopicPartition]int64{}
	for _, p := range sortedTPs(parts) {
		r := ranges[p]
		var off int64
		switch {
		case o.toEarliest:
			off = r.start
		case o.toLatest:
			off = r.end
		case cmd.Flags().Changed("to-offset"):
			off = o.toOffset
		case o.toDatetime != "":
			if off, err = c.ListOffset(ctx, p.Topic, p.Partition, max(at, 0)); err != nil {
				return err
			}
			if off < 0 {
				off = r.end
			}
		default:
			base := r.start
			if co, ok := committed[p]; ok {
				base = co.Offset
			}
			off = base + o.shiftBy
		}
		plan[p] = min(max(off, r.start), r.end)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tOLD-OFFSET\tNEW-OFFSET")
	for _, p := range sortedTPs(parts) {
		old := "-"
		if co, ok := committed[p]; ok {
			old = strconv.FormatInt(co.Offset, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", p.Topic, p.Partition, old, plan[p])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.dryRun {
		fmt.Fprintln(g.stdout, "Dry run: nothing committed.")
		return nil
	}
	if err := c.CommitGroupOffsets(ctx, group, plan); err != nil {
		if errors.Is(err, protocol.ErrUnknownMemberID) {
			return fmt.Errorf("group %s gained members meanwhile; nothing committed: %w", group, err)
		}
		return err
	}
	fmt.Fprintf(g.stdout, "Reset offsets of group %s on %d partitions.\n", group, len(plan))
	return nil
}

func parseDatetime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--to-datetime %q: want RFC 3339 (2026-01-02T15:04:05Z), 2006-01-02 or milliseconds since the epoch", s)
}

// consumeGroup is `sluice consume TOPIC --group G`: the records are read as
// a member of the group, and what was printed is committed.
func consumeGroup(ctx context.Context, g *globals, topic string, o consumeOptions) error {
	if o.partition >= 0 || o.offset != "" {
		return errors.New("--group assigns partitions itself: it does not go with --partition or --offset")
	}
	c, err := g.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	reset := "latest"
	if o.fromBeginning {
		reset = "earliest"
	}
	// printed holds, per partition, the offset after the last record
	// printed: what gets committed.
	printed := map[client.TopicPartition]int64{}
	var gc *client.GroupConsumer
	gc, err = c.NewGroupConsumer(client.GroupConfig{
		GroupID: o.group, Topics: []string{topic}, ClientID: "sluice-console", AutoOffsetReset: reset,
		DisableAutoCommit: true,
		OnPartitionsRevoked: func(ctx context.Context, ps []client.TopicPartition) {
			commitPrinted(ctx, g, gc, printed, ps)
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		defer cancel()
		commitPrinted(cctx, g, gc, printed, nil)
		gc.Close()
	}()
	count := 0
	last := time.Now()
	for o.maxMessages == 0 || count < o.maxMessages {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if o.timeout > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, last.Add(o.timeout))
		}
		recs, err := gc.Poll(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if o.timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return err
		}
		if o.timeout > 0 && len(recs) == 0 && time.Since(last) >= o.timeout {
			return nil
		}
		if len(recs) > 0 {
			last = time.Now()
		}
		for i := range recs {
			if err := printRecord(g, &recs[i], o); err != nil {
				return err
			}
			printed[client.TopicPartition{Topic: recs[i].Topic, Partition: recs[i].Partition}] = recs[i].Offset + 1
			count++
			if o.maxMessages > 0 && count >= o.maxMessages {
				break
			}
		}
		if len(recs) > 0 {
			commitPrinted(ctx, g, gc, printed, nil)
		}
	}
	return nil
}

// commitPrinted commits the printed positions (of ps only, when given).
func commitPrinted(ctx context.Context, g *globals, gc *client.GroupConsumer, printed map[client.TopicPartition]int64, ps []client.TopicPartition) {
	offs := printed
	if ps != nil {
		offs = map[client.TopicPartition]int64{}
		for _, p := range ps {
			if off, ok := printed[p]; ok {
				offs[p] = off
			}
		}
	}
	if err := gc.CommitOffsets(ctx, offs); err != nil {
		fmt.Fprintf(g.stderr, "commit: %v\n", err)
		return
	}
	for p := range offs {
		delete(printed, p)
	}
}
