package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// metadata answers Metadata with the request layer's view of the cluster:
// the brokers' PLAINTEXT addresses, the controller, and each topic's
// partitions with their leader, epoch and replicas.
func (s *Server) metadata(ctx context.Context, r *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	var refs []request.TopicRef
	all := r.Topics == nil || r.Version == 0 && len(r.Topics) == 0
	if !all {
		refs = make([]request.TopicRef, len(r.Topics))
		for i, t := range r.Topics {
			if t.Topic != nil {
				refs[i].Name = *t.Topic
			} else {
				refs[i].ID = t.TopicID
			}
		}
	}
	// Before v4 a client could not say, and Kafka created topics.
	m := s.h.Metadata(ctx, request.ListenerKafka, refs, r.AllowAutoTopicCreation || r.Version < 4)

	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	for _, b := range m.Brokers {
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.ID, b.Host, b.Port
		resp.Brokers = append(resp.Brokers, rb)
	}
	resp.ClusterID = &m.ClusterID
	resp.ControllerID = m.ControllerID
	// Sized up front: an answer for every topic holds every partition,
	// and growing by appends would copy each list about twice.
	resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(m.Topics))
	for _, t := range m.Topics {
		rt := kmsg.NewMetadataResponseTopic()
		if t.Name != "" {
			rt.Topic = &t.Name
		}
		rt.TopicID, rt.ErrorCode = t.ID, errorCode(t.Err)
		rt.IsInternal = request.IsInternalTopic(t.Name)
		rt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition, rp.Leader, rp.LeaderEpoch = p.ID, p.Leader, p.LeaderEpoch
			rp.Replicas, rp.ISR, rp.OfflineReplicas = p.Replicas, p.ISR, p.Offline
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
