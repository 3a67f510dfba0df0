package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// dispatch answers every request but ApiVersions, Produce and Fetch, which
// conn.handle answers itself (no response for acks=0; sendfile).
func (s *Server) dispatch(c *conn, h header, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.MetadataRequest:
		return s.metadata(c.ctx, r), nil
	case *kmsg.ListOffsetsRequest:
		return s.listOffsets(r), nil
	case *kmsg.OffsetForLeaderEpochRequest:
		return s.offsetForLeaderEpoch(c.ctx, r), nil
	case *kmsg.InitProducerIDRequest:
		return s.initProducerID(c.ctx, r), nil
	case *kmsg.CreateTopicsRequest:
		return s.createTopics(c.ctx, r), nil
	case *kmsg.DeleteTopicsRequest:
		return s.deleteTopics(c.ctx, r), nil
	case *kmsg.CreatePartitionsRequest:
		return s.createPartitions(c.ctx, r), nil
	case *kmsg.DeleteRecordsRequest:
		return s.deleteRecords(c.ctx, r), nil
	case *kmsg.DescribeConfigsRequest:
		return s.describeConfigs(r), nil
	case *kmsg.AlterConfigsRequest:
		return s.alterConfigs(c.ctx, r), nil
	case *kmsg.IncrementalAlterConfigsRequest:
		return s.incrementalAlterConfigs(c.ctx, r), nil
	case *kmsg.FindCoordinatorRequest:
		return s.findCoordinator(r), nil
	case *kmsg.DescribeClusterRequest:
		return s.describeCluster(r), nil
	}
	if s.cfg.Groups != nil {
		resp, err := s.cfg.Groups.Handle(c.ctx, Client{ID: h.clientID, Host: c.remoteHost}, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kmsg.NameForKey(req.Key()), err)
		}
		return resp, nil
	}
	// The table and this switch list the same APIs; reaching here is a bug.
	return nil, fmt.Errorf("no handler for %s", kmsg.NameForKey(req.Key()))
}

func (s *Server) createTopics(ctx context.Context, r *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	topics := make([]request.NewTopic, len(r.Topics))
	for i := range r.Topics {
		t := &r.Topics[i]
		nt := request.NewTopic{Name: t.Topic, Partitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor,
			Configs: map[string]string{}, ValidateOnly: r.ValidateOnly}
		for _, c := range t.Configs {
			if c.Value != nil {
				nt.Configs[c.Name] = *c.Value
			}
		}
		if len(t.ReplicaAssignment) > 0 {
			// By partition: one that is out of range or given twice leaves
			// another without replicas, which the cluster refuses.
			nt.Assignment = make([][]int32, len(t.ReplicaAssignment))
			for _, a := range t.ReplicaAssignment {
				if a.Partition >= 0 && int(a.Partition) < len(nt.Assignment) && nt.Assignment[a.Partition] == nil {
					nt.Assignment[a.Partition] = a.Replicas
				}
			}
		}
		topics[i] = nt
	}
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	for i, res := range s.h.CreateTopics(ctx, topics) {
		out := kmsg.NewCreateTopicsResponseTopic()
		out.Topic = r.Topics[i].Topic
		out.ErrorCode, out.ErrorMessage = errorCode(res.Err), errorMessage(res.Err)
		out.NumPartitions, out.ReplicationFactor = -1, -1
		if res.Err == nil {
			out.NumPartitions, out.ReplicationFactor = int32(len(res.Partitions)), res.ReplicationFactor()
			out.TopicID = res.ID
			for _, c := range res.Configs {
				rc := kmsg.NewCreateTopicsResponseTopicConfig()
				rc.Name, rc.Value, rc.Source = c.Name, &c.Value, int8(c.Source)
				out.Configs = append(out.Configs, rc)
			}
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func (s *Server) deleteTopics(ctx context.Context, r *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	var refs []request.TopicRef
	if r.Version < 6 {
		for _, name := range r.TopicNames {
			refs = append(refs, request.TopicRef{Name: name})
		}
	} else {
		for _, t := range r.Topics {
			ref := request.TopicRef{ID: t.TopicID}
			if t.Topic != nil {
				ref.Name = *t.Topic
			}
			refs = append(refs, ref)
		}
	}
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, res := range s.h.DeleteTopics(ctx, refs) {
		out := kmsg.NewDeleteTopicsResponseTopic()
		if res.Name != "" {
			out.Topic = kmsg.StringPtr(res.Name)
		}
		out.TopicID = res.ID
		out.ErrorCode, out.ErrorMessage = errorCode(res.Err), errorMessage(res.Err)
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func (s *Server) createPartitions(ctx context.Context, r *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	topics := make([]request.NewPartitions, len(r.Topics))
	for i, t := range r.Topics {
		topics[i] = request.NewPartitions{Topic: t.Topic, Count: t.Count}
		for _, a := range t.Assignment {
			topics[i].Assignment = append(topics[i].Assignment, a.Replicas)
		}
	}
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for i, err := range s.h.CreatePartitions(ctx, topics, r.ValidateOnly) {
		out := kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = r.Topics[i].Topic
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// describeCluster answers DescribeCluster: every registered broker (v2
// marks fenced ones; older versions list only live brokers, as Kafka's
// Metadata-like view does) and the active controller.
func (s *Server) describeCluster(r *kmsg.DescribeClusterRequest) *kmsg.DescribeClusterResponse {
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	d := s.h.DescribeCluster(request.ListenerKafka)
	resp.ClusterID, resp.ControllerID = d.ClusterID, d.ControllerID
	resp.EndpointType = 1 // brokers
	for _, b := range d.Brokers {
		if b.Fenced && (r.Version < 2 || !r.IncludeFencedBrokers) {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.IsFenced = b.ID, b.Host, b.Port, b.Fenced
		resp.Brokers = append(resp.Brokers, rb)
	}
	return resp
}
