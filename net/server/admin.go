package server

import (
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// dispatch answers every request but Produce and Fetch, which have their own
// paths (no response for acks=0; sendfile).
func (s *Server) dispatch(c *conn, req protocol.Request) protocol.Response {
	switch r := req.(type) {
	case *protocol.APIVersionsRequest:
		return &protocol.APIVersionsResponse{APIKeys: protocol.SupportedAPIs()}
	case *protocol.MetadataRequest:
		return s.metadata(c, r)
	case *protocol.CreateTopicsRequest:
		return s.createTopics(c, r)
	case *protocol.DeleteTopicsRequest:
		return s.deleteTopics(c, r)
	case *protocol.CreatePartitionsRequest:
		return s.createPartitions(c, r)
	case *protocol.DeleteRecordsRequest:
		return s.deleteRecords(c, r)
	case *protocol.DescribeConfigsRequest:
		return s.describeConfigs(r)
	case *protocol.AlterConfigsRequest:
		return s.alterConfigs(c, r)
	case *protocol.ListOffsetsRequest:
		return s.listOffsets(r)
	case *protocol.OffsetForLeaderEpochRequest:
		return s.offsetForLeaderEpoch(c, r)
	case *protocol.InitProducerIDRequest:
		return s.initProducerID(c, r)
	case *protocol.FindCoordinatorRequest:
		return s.findCoordinator(r)
	case *protocol.DescribeClusterRequest:
		return s.describeCluster()
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

func (s *Server) metadata(c *conn, r *protocol.MetadataRequest) *protocol.MetadataResponse {
	var refs []request.TopicRef
	if r.Topics != nil {
		refs = make([]request.TopicRef, len(r.Topics))
		for i, name := range r.Topics {
			refs[i].Name = name
		}
	}
	m := s.h.Metadata(c.ctx, request.ListenerNative, refs, r.AllowAutoTopicCreation)
	resp := &protocol.MetadataResponse{ControllerID: m.ControllerID}
	for _, b := range m.Brokers {
		resp.Brokers = append(resp.Brokers, protocol.MetadataResponseBroker{NodeID: b.ID, Host: b.Host, Port: b.Port})
	}
	for _, t := range m.Topics {
		rt := protocol.MetadataResponseTopic{Name: t.Name, ErrorCode: errorCode(t.Err), TopicID: t.ID}
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, protocol.MetadataResponsePartition{
				Partition: p.ID, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
			})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) createTopics(c *conn, r *protocol.CreateTopicsRequest) *protocol.CreateTopicsResponse {
	topics := make([]request.NewTopic, len(r.Topics))
	for i, t := range r.Topics {
		configs := map[string]string{}
		for _, c := range t.Configs {
			if c.Value != nil {
				configs[c.Name] = *c.Value
			}
		}
		topics[i] = request.NewTopic{Name: t.Name, Partitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor,
			Configs: configs, ValidateOnly: r.ValidateOnly}
	}
	resp := &protocol.CreateTopicsResponse{}
	for _, res := range s.h.CreateTopics(c.ctx, topics) {
		out := protocol.CreateTopicsResponseTopic{Name: res.Name, ErrorCode: errorCode(res.Err), ErrorMessage: request.Message(res.Err),
			NumPartitions: -1, ReplicationFactor: -1}
		if res.Err == nil {
			out.NumPartitions, out.ReplicationFactor = int32(len(res.Partitions)), res.ReplicationFactor()
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func (s *Server) deleteTopics(c *conn, r *protocol.DeleteTopicsRequest) *protocol.DeleteTopicsResponse {
	refs := make([]request.TopicRef, len(r.Names))
	for i, name := range r.Names {
		refs[i].Name = name
	}
	resp := &protocol.DeleteTopicsResponse{}
	for i, res := range s.h.DeleteTopics(c.ctx, refs) {
		resp.Topics = append(resp.Topics, protocol.DeleteTopicsResponseTopic{Name: r.Names[i],
			ErrorCode: errorCode(res.Err), ErrorMessage: request.Message(res.Err)})
	}
	return resp
}

func (s *Server) createPartitions(c *conn, r *protocol.CreatePartitionsRequest) *protocol.CreatePartitionsResponse {
	topics := make([]request.NewPartitions, len(r.Topics))
	for i, t := range r.Topics {
		topics[i] = request.NewPartitions{Topic: t.Name, Count: t.Count}
	}
	resp := &protocol.CreatePartitionsResponse{}
	for i, err := range s.h.CreatePartitions(c.ctx, topics, r.ValidateOnly) {
		resp.Topics = append(resp.Topics, protocol.CreatePartitionsResponseTopic{Name: r.Topics[i].Name,
			ErrorCode: errorCode(err), ErrorMessage: request.Message(err)})
	}
	return resp
}

func (s *Server) describeConfigs(r *protocol.DescribeConfigsRequest) *protocol.DescribeConfigsResponse {
	resources := make([]request.ConfigResource, len(r.Resources))
	for i, res := range r.Resources {
		resources[i] = request.ConfigResource{Type: request.ResourceType(res.ResourceType), Name: res.ResourceName, Names: res.ConfigNames}
	}
	resp := &protocol.DescribeConfigsResponse{}
	for i, res := range s.h.DescribeConfigs(resources) {
		out := protocol.DescribeConfigsResponseResult{ResourceType: r.Resources[i].ResourceType, ResourceName: r.Resources[i].ResourceName,
			ErrorCode: errorCode(res.Err), ErrorMessage: request.Message(res.Err)}
		for _, c := range res.Configs {
			rc := protocol.DescribeConfigsResponseConfig{Name: c.Name, Value: new(c.Value), ReadOnly: c.ReadOnly,
				IsDefault: c.Source == request.SourceDefault, Source: protocol.ConfigSource(c.Source)}
			if c.Doc != "" || c.Source != request.SourceStaticBroker {
				rc.Documentation = new(c.Doc)
			}
			out.Configs = append(out.Configs, rc)
		}
		resp.Results = append(resp.Results, out)
	}
	return resp
}

func (s *Server) alterConfigs(c *conn, r *protocol.AlterConfigsRequest) *protocol.AlterConfigsResponse {
	resources := make([]request.AlterResource, len(r.Resources))
	for i, res := range r.Resources {
		ar := request.AlterResource{Type: request.ResourceType(res.ResourceType), Name: res.ResourceName}
		for _, c := range res.Configs {
			ar.Configs = append(ar.Configs, request.AlterConfig{Name: c.Name, Op: request.ConfigOp(c.Op), Value: c.Value})
		}
		resources[i] = ar
	}
	resp := &protocol.AlterConfigsResponse{}
	for i, err := range s.h.AlterConfigs(c.ctx, resources, false, r.ValidateOnly) {
		resp.Results = append(resp.Results, protocol.AlterConfigsResponseResult{ResourceType: r.Resources[i].ResourceType,
			ResourceName: r.Resources[i].ResourceName, ErrorCode: errorCode(err), ErrorMessage: request.Message(err)})
	}
	return resp
}

func (s *Server) listOffsets(r *protocol.ListOffsetsRequest) *protocol.ListOffsetsResponse {
	var parts []request.ListOffsetsPartition
	for _, t := range r.Topics {
		for _, rp := range t.Partitions {
			parts = append(parts, request.ListOffsetsPartition{Topic: t.Name, Partition: rp.Partition,
				Timestamp: rp.Timestamp, CurrentLeaderEpoch: -1})
		}
	}
	s.h.ListOffsets(parts)
	resp := &protocol.ListOffsetsResponse{Topics: make([]protocol.ListOffsetsResponseTopic, 0, len(r.Topics))}
	i := 0
	for _, t := range r.Topics {
		rt := protocol.ListOffsetsResponseTopic{Name: t.Name, Partitions: make([]protocol.ListOffsetsResponsePartition, 0, len(t.Partitions))}
		for range t.Partitions {
			p := &parts[i]
			i++
			rt.Partitions = append(rt.Partitions, protocol.ListOffsetsResponsePartition{Partition: p.Partition,
				ErrorCode: errorCode(p.Err), Timestamp: p.RecordTimestamp, Offset: p.Offset})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) initProducerID(c *conn, r *protocol.InitProducerIDRequest) protocol.Response {
	id, epoch, err := s.h.InitProducerID(c.ctx, r.TransactionalID != nil, r.ProducerID, r.ProducerEpoch)
	return &protocol.InitProducerIDResponse{ErrorCode: errorCode(err), ProducerID: id, ProducerEpoch: epoch}
}

func (s *Server) describeCluster() *protocol.DescribeClusterResponse {
	d := s.h.DescribeCluster(request.ListenerNative)
	resp := &protocol.DescribeClusterResponse{ClusterID: d.ClusterID, ControllerID: d.ControllerID}
	for _, b := range d.Brokers {
		resp.Brokers = append(resp.Brokers, protocol.DescribeClusterBroker{NodeID: b.ID, Host: b.Host, Port: b.Port, Fenced: b.Fenced})
	}
	return resp
}
