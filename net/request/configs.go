package request

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/engine"
)

// ResourceType is what a config belongs to, with Kafka's numbers.
type ResourceType int8

const (
	ResourceTopic  ResourceType = 2
	ResourceBroker ResourceType = 4
)

// ConfigSource says where a config's value comes from, with Kafka's
// numbers.
type ConfigSource int8

const (
	SourceDynamicTopic ConfigSource = 1 // a per-topic override
	SourceStaticBroker ConfigSource = 4 // the broker's properties file or flags
	SourceDefault      ConfigSource = 5 // the built-in default
)

// ConfigValue is one config and its value.
type ConfigValue struct {
	Name, Value string
	Source      ConfigSource
	ReadOnly    bool
	Doc         string
}

// ConfigResource names a resource and, optionally, the configs wanted of
// it (nil: all).
type ConfigResource struct {
	Type  ResourceType
	Name  string
	Names []string
}

// DescribedConfigs is the answer for one resource of DescribeConfigs.
type DescribedConfigs struct {
	Err     error
	Configs []ConfigValue
}

// DescribeConfigs reads each resource's configs: a topic's from the
// engine, the broker's from its properties (read-only).
func (h *Handler) DescribeConfigs(resources []ConfigResource) []DescribedConfigs {
	out := make([]DescribedConfigs, len(resources))
	for i, res := range resources {
		switch res.Type {
		case ResourceTopic:
			out[i].Configs, out[i].Err = h.topicConfigs(res.Name, res.Names)
		case ResourceBroker:
			if err := h.checkBrokerName(res.Name); err != nil {
				out[i].Err = err
				break
			}
			names := make([]string, 0, len(h.cfg.BrokerConfigs))
			for k := range h.cfg.BrokerConfigs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if wanted(res.Names, k) {
					out[i].Configs = append(out[i].Configs, ConfigValue{Name: k, Value: h.cfg.BrokerConfigs[k],
						Source: SourceStaticBroker, ReadOnly: true})
				}
			}
		default:
			out[i].Err = Refuse(ErrInvalidRequest, fmt.Sprintf("resource type %d: only topics (2) and brokers (4) have configs", res.Type))
		}
	}
	return out
}

func wanted(names []string, name string) bool { return names == nil || slices.Contains(names, name) }

// topicConfigs reads a topic's configs from the engine.
func (h *Handler) topicConfigs(topic string, names []string) ([]ConfigValue, error) {
	configs, err := h.eng.TopicConfigs(topic)
	if err != nil {
		return nil, err
	}
	var out []ConfigValue
	for _, c := range configs {
		if !wanted(names, c.Name) {
			continue
		}
		src := SourceDefault
		if c.Source == "topic" {
			src = SourceDynamicTopic
		}
		out = append(out, ConfigValue{Name: c.Name, Value: c.Value, Source: src, Doc: c.Doc})
	}
	return out, nil
}

// checkBrokerName accepts this node's id, or "" (the cluster default).
func (h *Handler) checkBrokerName(name string) error {
	id := h.cluster.NodeID()
	if name == "" || name == strconv.Itoa(int(id)) {
		return nil
	}
	return Refuse(ErrInvalidRequest, fmt.Sprintf("broker %q: this is broker %d", name, id))
}

// ConfigOp is an IncrementalAlterConfigs operation, with Kafka's numbers.
type ConfigOp int8

const (
	OpSet      ConfigOp = 0
	OpDelete   ConfigOp = 1 // back to the default
	OpAppend   ConfigOp = 2 // to a list config
	OpSubtract ConfigOp = 3 // from a list config
)

// AlterConfig is one change to a config.
type AlterConfig struct {
	Name  string
	Op    ConfigOp
	Value *string
}

// AlterResource is the changes to one resource's configs.
type AlterResource struct {
	Type    ResourceType
	Name    string
	Configs []AlterConfig
}

var errBrokerConfigs = Refuse(ErrInvalidRequest, "only topic configs can be altered; broker configs come from its properties file")

// AlterConfigs changes each topic's config overrides through the cluster,
// each on its own; the errors are in request order. With replace (the
// legacy AlterConfigs), the configs given, all OpSet, become the topic's
// whole set of overrides and any other is removed.
func (h *Handler) AlterConfigs(ctx context.Context, resources []AlterResource, replace, validateOnly bool) []error {
	out := make([]error, len(resources))
	for i, res := range resources {
		if res.Type != ResourceTopic {
			out[i] = errBrokerConfigs
			continue
		}
		set, remove, err := h.edits(res, replace)
		if err == nil {
			err = h.cluster.AlterTopicConfig(ctx, res.Name, set, remove, validateOnly)
		}
		out[i] = err
	}
	return out
}

// edits turns the changes into the overrides to set and those to remove.
func (h *Handler) edits(res AlterResource, replace bool) (map[string]string, []string, error) {
	current, err := h.eng.TopicConfigs(res.Name)
	if err != nil {
		return nil, nil, err
	}
	set := map[string]string{}
	var remove []string
	for _, c := range res.Configs {
		switch c.Op {
		case OpSet:
			if c.Value == nil {
				if replace {
					continue
				}
				return nil, nil, Refuse(ErrInvalidRequest, fmt.Sprintf("%s: SET needs a value", c.Name))
			}
			set[c.Name] = *c.Value
		case OpDelete:
			remove = append(remove, c.Name)
		case OpAppend, OpSubtract:
			if c.Name != "cleanup.policy" {
				return nil, nil, fmt.Errorf("%w: %s is not a list config", engine.ErrInvalidConfig, c.Name)
			}
			value, now := "", ""
			if c.Value != nil {
				value = *c.Value
			}
			for _, e := range current {
				if e.Name == c.Name {
					now = e.Value
				}
			}
			set[c.Name] = editList(now, value, c.Op == OpAppend)
		default:
			return nil, nil, Refuse(ErrInvalidRequest, fmt.Sprintf("%s: unknown operation %d", c.Name, c.Op))
		}
	}
	if replace {
		for _, e := range current {
			if _, ok := set[e.Name]; !ok && e.Source == "topic" {
				remove = append(remove, e.Name)
			}
		}
	}
	return set, remove, nil
}

// editList appends the items of edit to the comma list, or removes them.
func editList(list, edit string, add bool) string {
	var items []string
	for _, it := range strings.Split(list, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	for _, it := range strings.Split(edit, ",") {
		it = strings.TrimSpace(it)
		switch {
		case it == "":
		case add && !slices.Contains(items, it):
			items = append(items, it)
		case !add:
			items = slices.DeleteFunc(items, func(s string) bool { return s == it })
		}
	}
	return strings.Join(items, ",")
}
