package server

import (
	"errors"
	"fmt"
	"sort"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/protocol"
)

// dispatch answers every request but Produce and Fetch, which have their own
// paths (no response for acks=0; sendfile).
func (s *Server) dispatch(c *conn, req protocol.Request) protocol.Response {
	switch r := req.(type) {
	case *protocol.APIVersionsRequest:
		return &protocol.APIVersionsResponse{APIKeys: protocol.SupportedAPIs()}
	case *protocol.MetadataRequest:
		return s.metadata(r)
	case *protocol.CreateTopicsRequest:
		return s.createTopics(r)
	case *protocol.DeleteTopicsRequest:
		return s.deleteTopics(r)
	case *protocol.CreatePartitionsRequest:
		return s.createPartitions(r)
	case *protocol.DescribeConfigsRequest:
		return s.describeConfigs(r)
	case *protocol.AlterConfigsRequest:
		return s.alterConfigs(r)
	case *protocol.ListOffsetsRequest:
		return s.listOffsets(r)
	case *protocol.InitProducerIDRequest:
		return s.initProducerID(r)
	case *protocol.FindCoordinatorRequest:
		return s.findCoordinator(r)
	case *protocol.JoinGroupRequest:
		return s.joinGroup(c, r)
	case *protocol.SyncGroupRequest:
		return s.syncGroup(c, r)
	case *protocol.HeartbeatRequest:
		return s.heartbeat(r)
	case *protocol.LeaveGroupRequest:
		return s.leaveGroup(r)
	case *protocol.OffsetCommitRequest:
		return s.offsetCommit(r)
	case *protocol.OffsetFetchRequest:
		return s.offsetFetch(r)
	case *protocol.ListGroupsRequest:
		return s.listGroups()
	case *protocol.DescribeGroupsRequest:
		return s.describeGroups(r)
	case *protocol.DeleteGroupsRequest:
		return s.deleteGroups(r)
	}
	// NewRequest and this switch list the same APIs; reaching here is a bug.
	c.logger.Error("no handler for request", "api", req.Key().String())
	resp, _ := protocol.NewResponse(req.Key())
	return errorOnly(resp, protocol.ErrUnknownServerError)
}

// errorOnly sets a response's top-level error code.
func errorOnly(resp protocol.Response, code protocol.ErrorCode) protocol.Response {
	body := protocol.AppendErrorResponseFrame(nil, 0, code)
	// The error-only body decodes into resp with every other field zero.
	_ = resp.DecodeFrom(body[protocol.LengthSize+protocol.ResponseHeaderSize:])
	return resp
}

func (s *Server) metadata(r *protocol.MetadataRequest) *protocol.MetadataResponse {
	resp := &protocol.MetadataResponse{
		Brokers:      []protocol.MetadataResponseBroker{{NodeID: s.cfg.NodeID, Host: s.advertHost, Port: s.advertPort}},
		ControllerID: s.cfg.NodeID,
	}
	names := r.Topics
	if names == nil {
		names = s.eng.Topics()
	}
	for _, name := range names {
		d, err := s.eng.DescribeTopic(name)
		if errors.Is(err, engine.ErrUnknownTopic) && r.AllowAutoTopicCreation && s.cfg.AutoCreateTopics {
			if err = s.autoCreate(name); err == nil {
				d, err = s.eng.DescribeTopic(name)
			}
		}
		t := protocol.MetadataResponseTopic{Name: name, ErrorCode: errorCode(err), TopicID: d.ID}
		for _, p := range d.Partitions {
			t.Partitions = append(t.Partitions, protocol.MetadataResponsePartition{
				Partition: p.ID, Leader: s.cfg.NodeID,
				Replicas: []int32{s.cfg.NodeID}, ISR: []int32{s.cfg.NodeID},
			})
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// autoCreate creates a topic a client named without creating it, with the
// broker's defaults, as auto.create.topics.enable does in Kafka. A racing
// creation of the same topic is not an error.
func (s *Server) autoCreate(name string) error {
	err := s.eng.CreateTopic(name, s.cfg.NumPartitions, nil)
	if errors.Is(err, engine.ErrTopicExists) {
		return nil
	}
	if err == nil {
		s.logger.Info("auto-created topic", "topic", name, "partitions", s.cfg.NumPartitions)
	}
	return err
}

func (s *Server) createTopics(r *protocol.CreateTopicsRequest) *protocol.CreateTopicsResponse {
	resp := &protocol.CreateTopicsResponse{}
	for _, t := range r.Topics {
		res := protocol.CreateTopicsResponseTopic{Name: t.Name, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if res.NumPartitions == -1 {
			res.NumPartitions = s.cfg.NumPartitions
		}
		if res.ReplicationFactor == -1 {
			res.ReplicationFactor = s.cfg.DefaultReplicationFactor
		}
		err := s.createTopic(t, res.NumPartitions, res.ReplicationFactor, r.ValidateOnly)
		res.ErrorCode, res.ErrorMessage = errorCode(err), message(err)
		if errors.Is(err, errReplicationFactor) {
			res.ErrorCode = protocol.ErrInvalidReplicationFactor
		}
		resp.Topics = append(resp.Topics, res)
	}
	return resp
}

var errReplicationFactor = errors.New("replication factor must be 1 on a single-node broker")

func (s *Server) createTopic(t protocol.CreateTopicsRequestTopic, partitions int32, rf int16, validateOnly bool) error {
	if rf != 1 {
		return fmt.Errorf("%w, not %d", errReplicationFactor, rf)
	}
	configs := map[string]string{}
	for _, c := range t.Configs {
		if c.Value == nil {
			continue
		}
		configs[c.Name] = *c.Value
	}
	if validateOnly {
		if err := engine.ValidateTopicName(t.Name); err != nil {
			return err
		}
		if partitions < 1 {
			return fmt.Errorf("%w: %d", engine.ErrInvalidPartitions, partitions)
		}
		if err := engine.ValidateConfigs(configs); err != nil {
			return err
		}
		if _, err := s.eng.DescribeTopic(t.Name); err == nil {
			return fmt.Errorf("topic %s: %w", t.Name, engine.ErrTopicExists)
		}
		return nil
	}
	return s.eng.CreateTopic(t.Name, partitions, configs)
}

func (s *Server) deleteTopics(r *protocol.DeleteTopicsRequest) *protocol.DeleteTopicsResponse {
	resp := &protocol.DeleteTopicsResponse{}
	for _, name := range r.Names {
		res := protocol.DeleteTopicsResponseTopic{Name: name}
		if !s.cfg.DeleteTopicEnable {
			res.ErrorCode = protocol.ErrTopicDeletionDisabled
			res.ErrorMessage = message(errors.New("delete.topic.enable is false on this broker"))
		} else {
			err := s.eng.DeleteTopic(name)
			res.ErrorCode, res.ErrorMessage = errorCode(err), message(err)
		}
		resp.Topics = append(resp.Topics, res)
	}
	return resp
}

func (s *Server) createPartitions(r *protocol.CreatePartitionsRequest) *protocol.CreatePartitionsResponse {
	resp := &protocol.CreatePartitionsResponse{}
	for _, t := range r.Topics {
		var err error
		if r.ValidateOnly {
			var d engine.TopicDescription
			if d, err = s.eng.DescribeTopic(t.Name); err == nil && int(t.Count) <= len(d.Partitions) {
				err = fmt.Errorf("%w: topic %s has %d partitions, asked for %d", engine.ErrInvalidPartitions, t.Name, len(d.Partitions), t.Count)
			}
		} else {
			err = s.eng.CreatePartitions(t.Name, t.Count)
		}
		if err != nil {
			s.logger.Info("create partitions refused", "topic", t.Name, "count", t.Count, "err", err)
		}
		resp.Topics = append(resp.Topics, protocol.CreatePartitionsResponseTopic{Name: t.Name, ErrorCode: errorCode(err), ErrorMessage: message(err)})
	}
	return resp
}

func (s *Server) describeConfigs(r *protocol.DescribeConfigsRequest) *protocol.DescribeConfigsResponse {
	resp := &protocol.DescribeConfigsResponse{}
	for _, res := range r.Resources {
		out := protocol.DescribeConfigsResponseResult{ResourceType: res.ResourceType, ResourceName: res.ResourceName}
		wanted := func(name string) bool {
			if res.ConfigNames == nil {
				return true
			}
			for _, n := range res.ConfigNames {
				if n == name {
					return true
				}
			}
			return false
		}
		switch res.ResourceType {
		case protocol.ResourceTopic:
			d, err := s.eng.DescribeTopic(res.ResourceName)
			out.ErrorCode, out.ErrorMessage = errorCode(err), message(err)
			for _, c := range d.Configs {
				if !wanted(c.Name) {
					continue
				}
				src := protocol.ConfigSourceDefault
				if c.Source == "topic" {
					src = protocol.ConfigSourceDynamicTopic
				}
				out.Configs = append(out.Configs, protocol.DescribeConfigsResponseConfig{
					Name: c.Name, Value: str(c.Value), IsDefault: c.Source != "topic", Source: src, Documentation: str(c.Doc),
				})
			}
		case protocol.ResourceBroker:
			names := make([]string, 0, len(s.cfg.BrokerConfigs))
			for k := range s.cfg.BrokerConfigs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if wanted(k) {
					out.Configs = append(out.Configs, protocol.DescribeConfigsResponseConfig{
						Name: k, Value: str(s.cfg.BrokerConfigs[k]), ReadOnly: true, Source: protocol.ConfigSourceStaticBroker,
					})
				}
			}
		default:
			out.ErrorCode = protocol.ErrInvalidRequest
			out.ErrorMessage = str(fmt.Sprintf("resource type %d: only topics (2) and brokers (4) have configs", res.ResourceType))
		}
		resp.Results = append(resp.Results, out)
	}
	return resp
}

func (s *Server) alterConfigs(r *protocol.AlterConfigsRequest) *protocol.AlterConfigsResponse {
	resp := &protocol.AlterConfigsResponse{}
	for _, res := range r.Resources {
		out := protocol.AlterConfigsResponseResult{ResourceType: res.ResourceType, ResourceName: res.ResourceName}
		if res.ResourceType != protocol.ResourceTopic {
			out.ErrorCode = protocol.ErrInvalidRequest
			out.ErrorMessage = str("only topic configs can be altered; broker configs come from its properties file")
			resp.Results = append(resp.Results, out)
			continue
		}
		set := map[string]string{}
		var remove []string
		var err error
		for _, c := range res.Configs {
			switch {
			case c.Op == protocol.AlterConfigSet && c.Value != nil:
				set[c.Name] = *c.Value
			case c.Op == protocol.AlterConfigDelete:
				remove = append(remove, c.Name)
			default:
				err = fmt.Errorf("%w: config %q: op %d with value %v", engine.ErrInvalidConfig, c.Name, c.Op, c.Value)
			}
		}
		if err == nil {
			if r.ValidateOnly {
				_, err = s.eng.DescribeTopic(res.ResourceName)
				if err == nil {
					err = engine.ValidateConfigs(set)
				}
			} else {
				err = s.eng.AlterTopicConfig(res.ResourceName, set, remove)
			}
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), message(err)
		resp.Results = append(resp.Results, out)
	}
	return resp
}

func (s *Server) listOffsets(r *protocol.ListOffsetsRequest) *protocol.ListOffsetsResponse {
	resp := &protocol.ListOffsetsResponse{}
	for _, t := range r.Topics {
		rt := protocol.ListOffsetsResponseTopic{Name: t.Name}
		for _, rp := range t.Partitions {
			out := protocol.ListOffsetsResponsePartition{Partition: rp.Partition, Timestamp: -1, Offset: -1}
			p, err := s.eng.Partition(t.Name, rp.Partition)
			if err == nil {
				out.Offset, err = p.ListOffset(rp.Timestamp)
			}
			out.ErrorCode = errorCode(err)
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) initProducerID(r *protocol.InitProducerIDRequest) protocol.Response {
	if r.TransactionalID != nil {
		// Transactions are not implemented: say so rather than pretend.
		return &protocol.InitProducerIDResponse{ErrorCode: protocol.ErrUnsupportedVersion, ProducerID: -1, ProducerEpoch: -1}
	}
	id, epoch, err := s.eng.InitProducerID(r.ProducerID, r.ProducerEpoch)
	if err != nil {
		return &protocol.InitProducerIDResponse{ErrorCode: errorCode(err), ProducerID: -1, ProducerEpoch: -1}
	}
	return &protocol.InitProducerIDResponse{ProducerID: id, ProducerEpoch: epoch}
}

func str(s string) *string { return &s }
