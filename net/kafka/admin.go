package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
)

// dispatch answers every request but ApiVersions, Produce and Fetch, which
// conn.handle answers itself (no response for acks=0; sendfile).
func (s *Server) dispatch(c *conn, h header, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.MetadataRequest:
		return s.metadata(r), nil
	case *kmsg.ListOffsetsRequest:
		return s.listOffsets(r), nil
	case *kmsg.InitProducerIDRequest:
		return s.initProducerID(r), nil
	case *kmsg.CreateTopicsRequest:
		return s.createTopics(r), nil
	case *kmsg.DeleteTopicsRequest:
		return s.deleteTopics(r), nil
	case *kmsg.CreatePartitionsRequest:
		return s.createPartitions(r), nil
	case *kmsg.DescribeConfigsRequest:
		return s.describeConfigs(r), nil
	case *kmsg.AlterConfigsRequest:
		return s.alterConfigs(r), nil
	case *kmsg.IncrementalAlterConfigsRequest:
		return s.incrementalAlterConfigs(r), nil
	case *kmsg.FindCoordinatorRequest:
		return s.findCoordinator(r), nil
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

var errReplicationFactor = errors.New("replication factor must be 1 on a single-node broker")

func (s *Server) createTopics(r *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	for i := range r.Topics {
		t := &r.Topics[i]
		out := kmsg.NewCreateTopicsResponseTopic()
		out.Topic = t.Topic
		partitions, rf := t.NumPartitions, t.ReplicationFactor
		if partitions == -1 {
			partitions = s.cfg.NumPartitions
		}
		if rf == -1 {
			rf = s.cfg.DefaultReplicationFactor
		}
		var err error
		if len(t.ReplicaAssignment) > 0 {
			partitions, rf, err = s.checkAssignment(t)
		}
		if err == nil {
			err = s.createTopic(t, partitions, rf, r.ValidateOnly)
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		if err != nil {
			out.NumPartitions, out.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, out)
			continue
		}
		out.NumPartitions, out.ReplicationFactor = partitions, rf
		if d, err := s.eng.DescribeTopic(t.Topic); err == nil {
			out.TopicID = d.ID
			for _, c := range d.Configs {
				rc := kmsg.NewCreateTopicsResponseTopicConfig()
				rc.Name, rc.Value = c.Name, &c.Value
				rc.Source = int8(configSource(c))
				out.Configs = append(out.Configs, rc)
			}
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// checkAssignment accepts an explicit replica assignment only if it puts
// one replica, this node, on partitions 0 to n-1.
func (s *Server) checkAssignment(t *kmsg.CreateTopicsRequestTopic) (int32, int16, error) {
	if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
		return 0, 0, fmt.Errorf("%w: a replica assignment goes with -1 partitions and replication factor",
			kerr.InvalidRequest)
	}
	seen := make(map[int32]bool, len(t.ReplicaAssignment))
	for _, a := range t.ReplicaAssignment {
		if len(a.Replicas) != 1 || a.Replicas[0] != s.cfg.NodeID || a.Partition < 0 ||
			int(a.Partition) >= len(t.ReplicaAssignment) || seen[a.Partition] {
			return 0, 0, fmt.Errorf("%w: partition %d on %v: this single node (%d) holds the one replica of every partition",
				kerr.InvalidReplicaAssignment, a.Partition, a.Replicas, s.cfg.NodeID)
		}
		seen[a.Partition] = true
	}
	return int32(len(t.ReplicaAssignment)), 1, nil
}

func (s *Server) createTopic(t *kmsg.CreateTopicsRequestTopic, partitions int32, rf int16, validateOnly bool) error {
	if rf != 1 {
		return fmt.Errorf("%w: %w, not %d", kerr.InvalidReplicationFactor, errReplicationFactor, rf)
	}
	configs := map[string]string{}
	for _, c := range t.Configs {
		if c.Value != nil {
			configs[c.Name] = *c.Value
		}
	}
	if !validateOnly {
		return s.eng.CreateTopic(t.Topic, partitions, configs)
	}
	if err := engine.ValidateTopicName(t.Topic); err != nil {
		return err
	}
	if partitions < 1 {
		return fmt.Errorf("%w: %d", engine.ErrInvalidPartitions, partitions)
	}
	if err := engine.ValidateConfigs(configs); err != nil {
		return err
	}
	if _, err := s.eng.DescribeTopic(t.Topic); err == nil {
		return fmt.Errorf("topic %s: %w", t.Topic, engine.ErrTopicExists)
	}
	return nil
}

func (s *Server) deleteTopics(r *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	topics := r.Topics
	if r.Version < 6 {
		topics = make([]kmsg.DeleteTopicsRequestTopic, len(r.TopicNames))
		for i := range r.TopicNames {
			topics[i].Topic = &r.TopicNames[i]
		}
	}
	for _, t := range topics {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = t.Topic, t.TopicID
		var err error
		if t.Topic == nil {
			var name string
			if name, err = s.topicName(t.TopicID); err == nil {
				out.Topic = &name
			}
		}
		switch {
		case err != nil:
		case !s.cfg.DeleteTopicEnable:
			err = fmt.Errorf("%w: delete.topic.enable is false on this broker", kerr.TopicDeletionDisabled)
		default:
			if d, derr := s.eng.DescribeTopic(*out.Topic); derr == nil {
				out.TopicID = d.ID
			}
			err = s.eng.DeleteTopic(*out.Topic)
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// topicName finds a topic by id.
func (s *Server) topicName(id [16]byte) (string, error) {
	for _, name := range s.eng.Topics() {
		if d, err := s.eng.DescribeTopic(name); err == nil && d.ID == id {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: topic id %x", kerr.UnknownTopicID, id)
}

func (s *Server) createPartitions(r *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range r.Topics {
		out := kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = t.Topic
		var err error
		for _, a := range t.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != s.cfg.NodeID {
				err = fmt.Errorf("%w: %v: this single node (%d) holds the one replica of every partition",
					kerr.InvalidReplicaAssignment, a.Replicas, s.cfg.NodeID)
			}
		}
		if err == nil {
			if r.ValidateOnly {
				var d engine.TopicDescription
				if d, err = s.eng.DescribeTopic(t.Topic); err == nil && int(t.Count) <= len(d.Partitions) {
					err = fmt.Errorf("%w: topic %s has %d partitions, asked for %d", engine.ErrInvalidPartitions, t.Topic, len(d.Partitions), t.Count)
				}
			} else {
				err = s.eng.CreatePartitions(t.Topic, t.Count)
			}
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}
