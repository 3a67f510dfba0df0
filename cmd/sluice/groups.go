package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
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
	toCurrent  bool
	toOffset   int64
	toDatetime string
	byDuration string
	shiftBy    int64
	fromFile   string
	export     bool
	dryRun     bool
	execute    bool
}

func groupsResetOffsets(g *globals) *cobra.Command {
	var o resetOptions
	cmd := &cobra.Command{
		Use: "reset-offsets GROUP (--topic TOPIC[:P,P...] (--to-earliest|--to-latest|--to-current|--to-offset N|" +
			"--to-datetime T|--by-duration D|--shift-by N) | --from-file FILE) [--export] [--dry-run|--execute]",
		Short: "Plan or apply new committed offsets for a group; the group must have no active members",
		Long: "Move a group's committed offsets, like kafka-consumer-groups --reset-offsets.\n" +
			"Without --execute this is a dry run: the plan is printed and nothing changes.\n" +
			"The group must have no active members (stop its consumers first). New offsets\n" +
			"are kept within each partition's [log start, log end].\n" +
			"  --to-datetime takes RFC 3339 (2026-01-02T15:04:05Z) or milliseconds since the epoch.\n" +
			"  --by-duration takes ISO 8601 (PT1H30M, P1DT12H) or Go (90m) and moves to the first\n" +
			"    record newer than that long ago.\n" +
			"  --to-current keeps the committed offsets (the log end where none is committed).\n" +
			"  --export prints the plan as CSV lines topic,partition,offset; --from-file reads\n" +
			"    such a file and resets to its offsets, e.g.\n" +
			"      sluice groups reset-offsets g --topic t --to-earliest --export > plan.csv\n" +
			"      sluice groups reset-offsets g --from-file plan.csv --execute",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resetOffsets(cmd, g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.topics, "topic", nil, "topic, or topic:partition,partition,... (repeatable; required but with --from-file)")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "to the log start offset")
	f.BoolVar(&o.toLatest, "to-latest", false, "to the log end offset")
	f.BoolVar(&o.toCurrent, "to-current", false, "to the committed offset (the log end where none is committed)")
	f.Int64Var(&o.toOffset, "to-offset", -1, "to this offset")
	f.StringVar(&o.toDatetime, "to-datetime", "", "to the first offset at or after this time")
	f.StringVar(&o.byDuration, "by-duration", "", "to the first offset newer than this long ago (PT1H30M or 90m)")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "by this many offsets (negative: back) from the committed offset")
	f.StringVar(&o.fromFile, "from-file", "", "to the offsets of a CSV file of topic,partition,offset lines")
	f.BoolVar(&o.export, "export", false, "print the plan as CSV (topic,partition,offset) instead of a table")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan without committing it (the default)")
	f.BoolVar(&o.execute, "execute", false, "commit the new offsets")
	return cmd
}

// resetPlan is what reset-offsets computes: the partitions in order, the
// new offset of each, and the committed offsets before.
type resetPlan struct {
	parts     []client.TopicPartition
	offsets   map[client.TopicPartition]int64
	committed map[client.TopicPartition]client.CommittedOffset
}

func resetOffsets(cmd *cobra.Command, g *globals, group string, o resetOptions) error {
	changed := cmd.Flags().Changed
	modes := 0
	for _, set := range []bool{o.toEarliest, o.toLatest, o.toCurrent, changed("to-offset"), changed("to-datetime"),
		changed("by-duration"), changed("shift-by"), changed("from-file")} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return errors.New("give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --to-datetime, --by-duration, --shift-by, --from-file")
	}
	if o.dryRun && o.execute {
		return errors.New("--dry-run and --execute contradict each other: give one (without either, nothing is committed)")
	}
	if changed("from-file") && len(o.topics) > 0 {
		return errors.New("--from-file names its partitions itself: it does not go with --topic")
	}
	if !changed("from-file") && len(o.topics) == 0 {
		return errors.New("--topic is required")
	}
	if changed("to-offset") && o.toOffset < 0 {
		return fmt.Errorf("--to-offset %d: offsets are not negative", o.toOffset)
	}
	var at int64
	switch {
	case changed("to-datetime"):
		t, err := parseDatetime(o.toDatetime)
		if err != nil {
			return err
		}
		at = t.UnixMilli()
	case changed("by-duration"):
		d, err := parseResetDuration(o.byDuration)
		if err != nil {
			return err
		}
		at = time.Now().Add(-d).UnixMilli()
	}
	var fileOffsets map[client.TopicPartition]int64
	var fileOrder []client.TopicPartition
	var fileLines map[client.TopicPartition]int
	if changed("from-file") {
		var err error
		if fileOffsets, fileOrder, fileLines, err = readOffsetsCSV(o.fromFile, group); err != nil {
			return err
		}
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
	if err := resettable(group, d); err != nil {
		return err
	}
	parts := map[client.TopicPartition]bool{}
	if fileOffsets != nil {
		if err := checkFilePartitions(ctx, c, o.fromFile, fileOrder, fileLines); err != nil {
			return err
		}
		for _, p := range fileOrder {
			parts[p] = true
		}
	} else if err := topicPartitions(ctx, c, o.topics, parts); err != nil {
		return err
	}
	ranges, err := logRanges(ctx, c, parts)
	if err != nil {
		return err
	}
	plan := resetPlan{parts: sortedTPs(parts), offsets: map[client.TopicPartition]int64{}}
	if plan.committed, err = c.FetchGroupOffsets(ctx, group, nil); err != nil {
		return err
	}
	for _, p := range plan.parts {
		r := ranges[p]
		co, hasCommitted := plan.committed[p]
		var off int64
		switch {
		case o.toEarliest:
			off = r.start
		case o.toLatest:
			off = r.end
		case o.toCurrent:
			// Kafka's --to-current: where nothing is committed, the log end.
			off = r.end
			if hasCommitted {
				off = co.Offset
			}
		case changed("to-offset"):
			off = o.toOffset
		case changed("to-datetime"), changed("by-duration"):
			if off, err = c.ListOffset(ctx, p.Topic, p.Partition, max(at, 0)); err != nil {
				return err
			}
			if off < 0 {
				off = r.end // no record is that recent
			}
		case fileOffsets != nil:
			off = fileOffsets[p]
		default:
			base := r.start
			if hasCommitted {
				base = co.Offset
			}
			off = base + o.shiftBy
		}
		plan.offsets[p] = min(max(off, r.start), r.end)
	}
	return applyPlan(ctx, g, c, group, plan, o)
}

// resettable refuses a group that has members, or is in a state other than
// Empty or Dead (no such group): Kafka resets only inactive groups, since
// live members would overwrite the new offsets with their positions.
func resettable(group string, d client.GroupDescription) error {
	if len(d.Members) > 0 {
		return fmt.Errorf("group %s has %d active members (state %s): stop its consumers before resetting its offsets", group, len(d.Members), d.State)
	}
	switch d.State {
	case "Empty", "Dead", "":
		return nil
	}
	return fmt.Errorf("group %s is in state %s: only a group with no active members (Empty) can have its offsets reset", group, d.State)
}

// topicPartitions adds the partitions the --topic specs name to parts.
func topicPartitions(ctx context.Context, c *client.Client, specs []string, parts map[client.TopicPartition]bool) error {
	for _, spec := range specs {
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
	return nil
}

// applyPlan prints the plan, as a table or as CSV, and commits it with
// --execute.
func applyPlan(ctx context.Context, g *globals, c *client.Client, group string, plan resetPlan, o resetOptions) error {
	// With --export stdout is the CSV alone, so that it can be fed back
	// with --from-file; the notes go to stderr.
	notes := g.stdout
	if o.export {
		notes = g.stderr
		for _, p := range plan.parts {
			fmt.Fprintf(g.stdout, "%s,%d,%d\n", p.Topic, p.Partition, plan.offsets[p])
		}
	} else {
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tOLD-OFFSET\tNEW-OFFSET")
		for _, p := range plan.parts {
			old := "-"
			if co, ok := plan.committed[p]; ok {
				old = strconv.FormatInt(co.Offset, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", group, p.Topic, p.Partition, old, plan.offsets[p])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !o.execute {
		fmt.Fprintln(notes, "Dry run: nothing committed (add --execute to commit these offsets).")
		return nil
	}
	if err := c.CommitGroupOffsets(ctx, group, plan.offsets); err != nil {
		if errors.Is(err, protocol.ErrUnknownMemberID) {
			return fmt.Errorf("group %s gained members meanwhile; nothing committed: %w", group, err)
		}
		return err
	}
	fmt.Fprintf(notes, "Reset offsets of group %s on %d partitions.\n", group, len(plan.offsets))
	return nil
}

// readOffsetsCSV reads a reset plan: lines of topic,partition,offset (as
// --export writes them, and as kafka-consumer-groups --export writes them
// for one group), or group,topic,partition,offset (its form for several
// groups, of which the lines of this group are taken). Blank lines and
// lines starting with # are skipped. It returns the offsets, the
// partitions in file order and the line each came from.
func readOffsetsCSV(path, group string) (map[client.TopicPartition]int64, []client.TopicPartition, map[client.TopicPartition]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--from-file: %w", err)
	}
	offsets := map[client.TopicPartition]int64{}
	lines := map[client.TopicPartition]int{}
	var order []client.TopicPartition
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		for j := range fields {
			fields[j] = strings.TrimSpace(fields[j])
		}
		if len(fields) == 4 {
			if fields[0] != group {
				continue // another group's line
			}
			fields = fields[1:]
		}
		if len(fields) != 3 {
			return nil, nil, nil, fmt.Errorf("%s:%d: %q: want topic,partition,offset", path, n, line)
		}
		if fields[0] == "" {
			return nil, nil, nil, fmt.Errorf("%s:%d: %q: the topic is empty", path, n, line)
		}
		part, err := strconv.ParseInt(fields[1], 10, 32)
		if err != nil || part < 0 {
			return nil, nil, nil, fmt.Errorf("%s:%d: partition %q is not a partition number", path, n, fields[1])
		}
		off, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil || off < 0 {
			return nil, nil, nil, fmt.Errorf("%s:%d: offset %q is not an offset", path, n, fields[2])
		}
		p := client.TopicPartition{Topic: fields[0], Partition: int32(part)}
		if prev, dup := lines[p]; dup {
			return nil, nil, nil, fmt.Errorf("%s:%d: %s partition %d was already given on line %d", path, n, p.Topic, p.Partition, prev)
		}
		offsets[p], lines[p] = off, n
		order = append(order, p)
	}
	if len(order) == 0 {
		return nil, nil, nil, fmt.Errorf("--from-file %s: no offsets for group %s in it", path, group)
	}
	return offsets, order, lines, nil
}

// checkFilePartitions makes sure every partition of the file exists,
// naming the line of the first that does not.
func checkFilePartitions(ctx context.Context, c *client.Client, path string, order []client.TopicPartition, lines map[client.TopicPartition]int) error {
	counts := map[string]int{}
	for _, p := range order {
		n, ok := counts[p.Topic]
		if !ok {
			info, err := c.DescribeTopic(ctx, p.Topic)
			if err != nil {
				return fmt.Errorf("%s:%d: topic %s: %w", path, lines[p], p.Topic, err)
			}
			n = len(info.Partitions)
			counts[p.Topic] = n
		}
		if int(p.Partition) >= n {
			return fmt.Errorf("%s:%d: %d is not a partition of %s (it has %d)", path, lines[p], p.Partition, p.Topic, n)
		}
	}
	return nil
}

// parseResetDuration reads an ISO 8601 duration as kafka-consumer-groups
// takes it (Java's Duration: PnDTnHnMn.nS, with an optional sign), or a Go
// duration (90m, 1h30m).
func parseResetDuration(s string) (time.Duration, error) {
	d, err := parseISODuration(s)
	if err != nil {
		var goErr error
		if d, goErr = time.ParseDuration(s); goErr != nil {
			return 0, fmt.Errorf("--by-duration %q: want ISO 8601 (PT1H30M, P1DT2H) or a Go duration (90m): %v", s, err)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("--by-duration %q: the duration must not be negative", s)
	}
	return d, nil
}

// parseISODuration parses Java's Duration text: [+-]P[nD][T[nH][nM][n[.n]S]],
// each number optionally signed, the day part 24 hours.
func parseISODuration(s string) (time.Duration, error) {
	rest := strings.ToUpper(s)
	sign := time.Duration(1)
	if strings.HasPrefix(rest, "-") {
		sign, rest = -1, rest[1:]
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	if !strings.HasPrefix(rest, "P") {
		return 0, errors.New("an ISO 8601 duration starts with P")
	}
	rest = rest[1:]
	var total float64
	inTime, seen := false, false
	units := map[bool]map[byte]float64{
		false: {'D': float64(24 * time.Hour)},
		true:  {'H': float64(time.Hour), 'M': float64(time.Minute), 'S': float64(time.Second)},
	}
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, errors.New("misplaced T")
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == '-' || rest[i] == '+') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("%q: want a number followed by a unit", rest)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", rest[:i], err)
		}
		unit, ok := units[inTime][rest[i]]
		if !ok || strings.Contains(rest[:i], ".") && rest[i] != 'S' {
			return 0, fmt.Errorf("unit %q out of place", rest[i])
		}
		total += n * unit
		seen, rest = true, rest[i+1:]
	}
	if !seen {
		return 0, errors.New("no amount")
	}
	if math.Abs(total) > math.MaxInt64 {
		return 0, errors.New("too long")
	}
	return sign * time.Duration(total), nil
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
