package main

// sluice configs: kafka-configs for topics and brokers. Topic configs are
// read and changed through DescribeConfigs and IncrementalAlterConfigs;
// broker configs are read from the broker itself and are read-only, since
// a Sluice broker takes them from its properties file at start-up.

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
)

func newConfigsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "configs",
		Short: "Describe and alter topic and broker configs (kafka-configs)",
	}
	cmd.AddCommand(configsDescribe(g), configsAlter(g))
	return cmd
}

// entityType reads --entity-type: Kafka's plural names, or the singular.
func entityType(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "topics", "topic":
		return "topic", nil
	case "brokers", "broker":
		return "broker", nil
	case "":
		return "", errors.New("--entity-type is required: topics or brokers")
	}
	return "", fmt.Errorf("--entity-type %q: Sluice has configs for topics and brokers only", s)
}

func brokerID(name string) (int32, error) {
	n, err := strconv.ParseInt(name, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--entity-name %q: a broker is named by its node id (0, 1, ...)", name)
	}
	return int32(n), nil
}

func configsDescribe(g *globals) *cobra.Command {
	var typ, name string
	var all bool
	cmd := &cobra.Command{
		Use:   "describe --entity-type topics|brokers [--entity-name NAME] [--all]",
		Short: "Show configs with their values and sources",
		Long: "Show a topic's or a broker's configs, like kafka-configs --describe: each with its\n" +
			"value, its source (DYNAMIC_TOPIC_CONFIG: a topic override, STATIC_BROKER_CONFIG: the\n" +
			"broker's properties, DEFAULT_CONFIG: the built-in default) and whether it is sensitive\n" +
			"or read-only. Without --all only overrides are shown; broker configs are never\n" +
			"dynamic in Sluice, so brokers need --all. Without --entity-name every topic or\n" +
			"broker is described, e.g.\n" +
			"  sluice configs describe --entity-type topics --entity-name events --all\n" +
			"  sluice configs describe --entity-type brokers --entity-name 1 --all",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := entityType(typ)
			if err != nil {
				return err
			}
			var id int32
			if kind == "broker" && name != "" {
				if id, err = brokerID(name); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			c, err := g.connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			if kind == "topic" {
				names := []string{name}
				if name == "" {
					if names, err = c.ListTopics(ctx); err != nil {
						return err
					}
				}
				for _, topic := range names {
					cfgs, err := c.DescribeTopicConfigs(ctx, topic)
					if err != nil {
						return fmt.Errorf("describe configs of topic %s: %w", topic, err)
					}
					printConfigs(g.stdout, "topic", topic, cfgs, all)
				}
				return nil
			}
			ids := []int32{id}
			if name == "" {
				info, err := c.DescribeCluster(ctx)
				if err != nil {
					return err
				}
				ids = ids[:0]
				for _, b := range info.Brokers {
					ids = append(ids, b.NodeID)
				}
			}
			for _, id := range ids {
				cfgs, err := c.DescribeBrokerConfigs(ctx, id)
				if err != nil {
					return err
				}
				printConfigs(g.stdout, "broker", strconv.Itoa(int(id)), cfgs, all)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "entity-type", "", "topics or brokers")
	f.StringVar(&name, "entity-name", "", "the topic's name or the broker's node id (default: all)")
	f.BoolVar(&all, "all", false, "include configs at their defaults and the broker's static configs")
	return cmd
}

// printConfigs prints one entity's configs as kafka-configs does: a title,
// then one indented name=value line per config. Without all, only dynamic
// configs (overrides) are listed.
func printConfigs(w io.Writer, kind, name string, cfgs []client.ResourceConfig, all bool) {
	title := "Dynamic configs"
	if all {
		title = "All configs"
	}
	fmt.Fprintf(w, "%s for %s %s are:\n", title, kind, name)
	shown := 0
	for _, c := range cfgs {
		if !all && (c.Source == "DEFAULT_CONFIG" || c.Source == "STATIC_BROKER_CONFIG") {
			continue
		}
		value := c.Value
		if c.Sensitive {
			value = "(sensitive: not shown)"
		}
		fmt.Fprintf(w, "  %s=%s source=%s sensitive=%t read-only=%t\n", c.Name, value, c.Source, c.Sensitive, c.ReadOnly)
		shown++
	}
	if shown == 0 && !all {
		fmt.Fprintf(w, "  (none; --all shows every config)\n")
	}
}

func configsAlter(g *globals) *cobra.Command {
	var typ, name, add string
	var remove []string
	cmd := &cobra.Command{
		Use:   "alter --entity-type topics --entity-name TOPIC [--add-config k=v,k2=v2] [--delete-config k3,k4]",
		Short: "Set or remove a topic's config overrides",
		Long: "Change a topic's config overrides, like kafka-configs --alter. --add-config takes\n" +
			"comma-separated key=value pairs, a value holding commas in square brackets\n" +
			"(cleanup.policy=[compact,delete]); --delete-config takes keys to return to their\n" +
			"defaults. The changes apply together or not at all, e.g.\n" +
			"  sluice configs alter --entity-type topics --entity-name events --add-config retention.ms=3600000,max.message.bytes=2097152 --delete-config retention.bytes\n" +
			"Broker configs come from the broker's properties file and are not altered here.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := entityType(typ)
			if err != nil {
				return err
			}
			if kind == "broker" {
				return errors.New("broker configs are static in Sluice: set them in the broker's properties file (or --override) and restart it")
			}
			if name == "" {
				return errors.New("--entity-name is required: the topic to alter")
			}
			set, err := parseAddConfig(add)
			if err != nil {
				return err
			}
			remove = splitFiles(remove)
			for _, k := range remove {
				if _, ok := set[k]; ok {
					return fmt.Errorf("%s is both in --add-config and in --delete-config", k)
				}
			}
			if len(set) == 0 && len(remove) == 0 {
				return errors.New("nothing to change: give --add-config k=v or --delete-config k")
			}
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.AlterConfigs(cmd.Context(), name, set, remove); err != nil {
				return fmt.Errorf("alter configs of topic %s: %w", name, err)
			}
			fmt.Fprintf(g.stdout, "Completed updating config for topic %s.\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "entity-type", "", "topics (broker configs are static)")
	f.StringVar(&name, "entity-name", "", "the topic")
	f.StringVar(&add, "add-config", "", "comma-separated key=value pairs to set; [a,b] for a value with commas")
	f.StringSliceVar(&remove, "delete-config", nil, "comma-separated keys to return to their defaults")
	return cmd
}

// parseAddConfig reads kafka-configs' --add-config: k=v pairs separated by
// commas, where a value holding commas is written in square brackets.
func parseAddConfig(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var items []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("--add-config %q: ']' at %d closes no '['", s, i)
			}
		case ',':
			if depth == 0 {
				items = append(items, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("--add-config %q: a '[' is not closed", s)
	}
	items = append(items, s[start:])
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("--add-config: %q: want key=value", it)
		}
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			v = v[1 : len(v)-1]
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--add-config: %s is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}
