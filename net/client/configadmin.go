package client

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/sluicelog/sluice/net/protocol"
)

// ResourceConfig is one config of a topic or a broker, as
// DescribeTopicConfigs and DescribeBrokerConfigs report it.
type ResourceConfig struct {
	ConfigEntry
	// Sensitive: the broker withholds the value (Value is empty).
	Sensitive bool
}

// DescribeTopicConfigs returns every config of a topic with its value and
// source, sorted by name.
func (cl *Client) DescribeTopicConfigs(ctx context.Context, topic string) ([]ResourceConfig, error) {
	return cl.describeResource(ctx, "", protocol.ResourceTopic, topic)
}

// DescribeBrokerConfigs returns the configs of broker nodeID, sorted by
// name. Each broker reports its own configs, so the request goes to that
// broker, found through DescribeCluster.
func (cl *Client) DescribeBrokerConfigs(ctx context.Context, nodeID int32) ([]ResourceConfig, error) {
	info, err := cl.DescribeCluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe configs of broker %d: %w", nodeID, err)
	}
	var ids []int32
	for _, b := range info.Brokers {
		ids = append(ids, b.NodeID)
		if b.NodeID != nodeID {
			continue
		}
		if b.Addr == "" {
			return nil, fmt.Errorf("describe configs of broker %d: it has no native listener to ask", nodeID)
		}
		return cl.describeResource(ctx, b.Addr, protocol.ResourceBroker, strconv.Itoa(int(nodeID)))
	}
	return nil, fmt.Errorf("describe configs of broker %d: no such broker (the cluster has %v)", nodeID, ids)
}

func (cl *Client) describeResource(ctx context.Context, addr string, typ protocol.ResourceType, name string) ([]ResourceConfig, error) {
	req := &protocol.DescribeConfigsRequest{Resources: []protocol.DescribeConfigsRequestResource{
		{ResourceType: typ, ResourceName: name},
	}}
	var resp protocol.DescribeConfigsResponse
	if err := cl.call(ctx, addr, req, &resp, true); err != nil {
		return nil, err
	}
	topic := ""
	if typ == protocol.ResourceTopic {
		topic = name
	}
	if err := brokerErr(protocol.DescribeConfigs, resp.ErrorCode, topic, -1, nil); err != nil {
		return nil, err
	}
	for _, r := range resp.Results {
		if r.ResourceType != typ || r.ResourceName != name {
			continue
		}
		if err := brokerErr(protocol.DescribeConfigs, r.ErrorCode, topic, -1, r.ErrorMessage); err != nil {
			return nil, err
		}
		out := make([]ResourceConfig, 0, len(r.Configs))
		for _, c := range r.Configs {
			e := ResourceConfig{ConfigEntry: ConfigEntry{Name: c.Name, IsDefault: c.IsDefault, ReadOnly: c.ReadOnly,
				Source: sourceName(c.Source)}, Sensitive: c.Sensitive}
			if c.Value != nil {
				e.Value = *c.Value
			}
			if c.Documentation != nil {
				e.Doc = *c.Documentation
			}
			out = append(out, e)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	return nil, fmt.Errorf("describe configs of %s: the broker's answer did not mention it", name)
}
