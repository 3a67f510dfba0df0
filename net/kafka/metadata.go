package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
)

// metadata answers Metadata: this node is the only broker, the controller
// and the leader (epoch 0) and sole replica of every partition.
func (s *Server) metadata(r *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, s.advertHost, s.advertPort
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &s.clusterID
	resp.ControllerID = s.cfg.NodeID

	all := r.Topics == nil || r.Version == 0 && len(r.Topics) == 0
	if all {
		for _, name := range s.eng.Topics() {
			resp.Topics = append(resp.Topics, s.topicMetadata(name, false))
		}
		return resp
	}
	// Before v4 a client could not say, and Kafka created topics.
	autoCreate := (r.AllowAutoTopicCreation || r.Version < 4) && s.cfg.AutoCreateTopics
	for _, t := range r.Topics {
		if t.Topic == nil {
			resp.Topics = append(resp.Topics, s.topicMetadataByID(t.TopicID))
			continue
		}
		resp.Topics = append(resp.Topics, s.topicMetadata(*t.Topic, autoCreate))
	}
	return resp
}

func (s *Server) topicMetadata(name string, autoCreate bool) kmsg.MetadataResponseTopic {
	d, err := s.eng.DescribeTopic(name)
	if errors.Is(err, engine.ErrUnknownTopic) && autoCreate {
		if err = s.autoCreate(name); err == nil {
			d, err = s.eng.DescribeTopic(name)
		}
	}
	return s.describeToMetadata(name, d, err)
}

// topicMetadataByID answers a v10+ request that names a topic by id.
func (s *Server) topicMetadataByID(id [16]byte) kmsg.MetadataResponseTopic {
	for _, name := range s.eng.Topics() {
		d, err := s.eng.DescribeTopic(name)
		if err == nil && d.ID == id {
			return s.describeToMetadata(name, d, nil)
		}
	}
	t := kmsg.NewMetadataResponseTopic()
	t.TopicID, t.ErrorCode = id, kerr.UnknownTopicID.Code
	return t
}

func (s *Server) describeToMetadata(name string, d engine.TopicDescription, err error) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = &name
	t.ErrorCode = errorCode(err)
	if err != nil {
		return t
	}
	t.TopicID = d.ID
	replicas := []int32{s.cfg.NodeID}
	for _, pi := range d.Partitions {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader, p.LeaderEpoch = pi.ID, s.cfg.NodeID, 0
		p.Replicas, p.ISR, p.OfflineReplicas = replicas, replicas, []int32{}
		t.Partitions = append(t.Partitions, p)
	}
	return t
}

// autoCreate creates a topic a client named, with the broker's defaults,
// as auto.create.topics.enable does in Kafka. Losing a race to create it
// is not an error.
func (s *Server) autoCreate(name string) error {
	err := s.eng.CreateTopic(name, s.cfg.NumPartitions, nil)
	switch {
	case errors.Is(err, engine.ErrTopicExists):
		return nil
	case err != nil:
		return fmt.Errorf("auto-create topic %s: %w", name, err)
	}
	s.logger.Info("auto-created topic", "topic", name, "partitions", s.cfg.NumPartitions)
	return nil
}
