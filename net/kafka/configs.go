package kafka

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
)

// Config sources and types, as Kafka numbers them.
const (
	sourceDynamicTopic = kmsg.ConfigSource(1)
	sourceStaticBroker = kmsg.ConfigSource(4)
	sourceDefault      = kmsg.ConfigSource(5)

	typeBoolean = kmsg.ConfigType(1)
	typeString  = kmsg.ConfigType(2)
	typeLong    = kmsg.ConfigType(5)
	typeList    = kmsg.ConfigType(7)

	resourceTopic  = kmsg.ConfigResourceType(2)
	resourceBroker = kmsg.ConfigResourceType(4)
)

func configSource(c engine.ConfigEntry) kmsg.ConfigSource {
	if c.Source == "topic" {
		return sourceDynamicTopic
	}
	return sourceDefault
}

// configType guesses a config's type from its value: what Kafka reports
// in DescribeConfigs v3+.
func configType(name, value string) kmsg.ConfigType {
	switch {
	case name == "cleanup.policy":
		return typeList
	case value == "true" || value == "false":
		return typeBoolean
	}
	if _, err := strconv.ParseInt(value, 10, 64); err == nil {
		return typeLong
	}
	return typeString
}

func (s *Server) describeConfigs(r *kmsg.DescribeConfigsRequest) *kmsg.DescribeConfigsResponse {
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range r.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		wanted := func(name string) bool { return res.ConfigNames == nil || slices.Contains(res.ConfigNames, name) }
		add := func(name, value string, src kmsg.ConfigSource, readOnly bool, doc string) {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly, c.Source = name, &value, readOnly, src
			c.IsDefault = src == sourceDefault
			c.ConfigType = configType(name, value)
			if r.IncludeDocumentation && doc != "" {
				c.Documentation = &doc
			}
			if r.IncludeSynonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = name, &value, src
				c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
			}
			out.Configs = append(out.Configs, c)
		}
		switch res.ResourceType {
		case resourceTopic:
			d, err := s.eng.DescribeTopic(res.ResourceName)
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
			for _, c := range d.Configs {
				if wanted(c.Name) {
					add(c.Name, c.Value, configSource(c), false, c.Doc)
				}
			}
		case resourceBroker:
			if err := s.checkBrokerName(res.ResourceName); err != nil {
				out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
				break
			}
			names := make([]string, 0, len(s.cfg.BrokerConfigs))
			for k := range s.cfg.BrokerConfigs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if wanted(k) {
					add(k, s.cfg.BrokerConfigs[k], sourceStaticBroker, true, "")
				}
			}
		default:
			err := fmt.Errorf("%w: resource type %v: only topics and brokers have configs here", kerr.InvalidRequest, res.ResourceType)
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// checkBrokerName accepts this node's id, or "" (the cluster default).
func (s *Server) checkBrokerName(name string) error {
	if name == "" || name == strconv.Itoa(int(s.cfg.NodeID)) {
		return nil
	}
	return fmt.Errorf("%w: broker %q: this is broker %d", kerr.InvalidRequest, name, s.cfg.NodeID)
}

// errBrokerConfigs: broker configs come from the properties file.
var errBrokerConfigs = fmt.Errorf("%w: broker configs are static here: set them in the broker's properties file", kerr.InvalidRequest)

// alterConfigs answers the legacy AlterConfigs: the configs given become
// the topic's whole set of overrides; any other override is removed.
func (s *Server) alterConfigs(r *kmsg.AlterConfigsRequest) *kmsg.AlterConfigsResponse {
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range r.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		set := map[string]string{}
		for _, c := range res.Configs {
			if c.Value != nil {
				set[c.Name] = *c.Value
			}
		}
		var err error
		if res.ResourceType != resourceTopic {
			err = errBrokerConfigs
		} else {
			var d engine.TopicDescription
			if d, err = s.eng.DescribeTopic(res.ResourceName); err == nil {
				var remove []string
				for _, c := range d.Configs {
					if _, ok := set[c.Name]; !ok && c.Source == "topic" {
						remove = append(remove, c.Name)
					}
				}
				err = s.applyTopicConfigs(res.ResourceName, set, remove, r.ValidateOnly)
			}
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// incrementalAlterConfigs answers IncrementalAlterConfigs: set, delete
// (back to the default), and append and subtract on list configs.
func (s *Server) incrementalAlterConfigs(r *kmsg.IncrementalAlterConfigsRequest) *kmsg.IncrementalAlterConfigsResponse {
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, res := range r.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		var err error
		if res.ResourceType != resourceTopic {
			err = errBrokerConfigs
		} else {
			err = s.incrementalAlterTopic(res, r.ValidateOnly)
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

func (s *Server) incrementalAlterTopic(res kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	d, err := s.eng.DescribeTopic(res.ResourceName)
	if err != nil {
		return err
	}
	current := map[string]string{}
	for _, c := range d.Configs {
		current[c.Name] = c.Value
	}
	set := map[string]string{}
	var remove []string
	for _, c := range res.Configs {
		value := ""
		if c.Value != nil {
			value = *c.Value
		}
		switch c.Op {
		case 0: // SET
			if c.Value == nil {
				return fmt.Errorf("%w: %s: SET needs a value", kerr.InvalidRequest, c.Name)
			}
			set[c.Name] = value
		case 1: // DELETE
			remove = append(remove, c.Name)
		case 2, 3: // APPEND, SUBTRACT
			if c.Name != "cleanup.policy" {
				return fmt.Errorf("%w: %s is not a list config", kerr.InvalidConfig, c.Name)
			}
			set[c.Name] = editList(current[c.Name], value, c.Op == 2)
		default:
			return fmt.Errorf("%w: %s: unknown operation %d", kerr.InvalidRequest, c.Name, c.Op)
		}
	}
	return s.applyTopicConfigs(res.ResourceName, set, remove, validateOnly)
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

// applyTopicConfigs changes a topic's overrides, or with validateOnly only
// checks that the change would be accepted.
func (s *Server) applyTopicConfigs(topic string, set map[string]string, remove []string, validateOnly bool) error {
	if !validateOnly {
		return s.eng.AlterTopicConfig(topic, set, remove)
	}
	names := engine.ConfigNames()
	for _, k := range remove {
		if !slices.Contains(names, k) {
			return fmt.Errorf("topic %s: %w: unknown config %q", topic, engine.ErrInvalidConfig, k)
		}
	}
	return engine.ValidateConfigs(set)
}
