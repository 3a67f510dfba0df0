package request

import "context"

// CreatedTopic is the answer for one topic of CreateTopics.
type CreatedTopic struct {
	// Topic is the placement made (validate-only: that would be made,
	// without an id); only Name on failure.
	Topic
	Err error
	// Configs are the new topic's configs with their values, when it was
	// created.
	Configs []ConfigValue
}

// ReplicationFactor is the topic's replica count, -1 when it has no
// partitions.
func (t *Topic) ReplicationFactor() int16 {
	if len(t.Partitions) == 0 {
		return -1
	}
	return int16(len(t.Partitions[0].Replicas))
}

// CreateTopics creates each topic through the cluster, each on its own.
func (h *Handler) CreateTopics(ctx context.Context, topics []NewTopic) []CreatedTopic {
	out := make([]CreatedTopic, 0, len(topics))
	for _, nt := range topics {
		var t Topic
		var err error
		if len(nt.Assignment) > 0 && (nt.Partitions != -1 || nt.ReplicationFactor != -1) {
			err = Refuse(ErrInvalidRequest, "a replica assignment goes with -1 partitions and replication factor")
		} else {
			t, err = h.cluster.CreateTopic(ctx, nt)
		}
		res := CreatedTopic{Topic: t, Err: err}
		if err != nil {
			res.Topic = Topic{Name: nt.Name}
		} else if !nt.ValidateOnly {
			res.Configs, _ = h.topicConfigs(nt.Name, nil)
		}
		out = append(out, res)
	}
	return out
}

// DeletedTopic is the answer for one topic of DeleteTopics.
type DeletedTopic struct {
	Name string // as asked, or found by id
	ID   [16]byte
	Err  error
}

// DeleteTopics deletes each topic (by name, or by id when the name is
// empty) through the cluster, if delete.topic.enable allows.
func (h *Handler) DeleteTopics(ctx context.Context, topics []TopicRef) []DeletedTopic {
	out := make([]DeletedTopic, 0, len(topics))
	for _, ref := range topics {
		res := DeletedTopic{Name: ref.Name, ID: ref.ID}
		if ref.Name == "" {
			t, err := h.cluster.TopicByID(ref.ID)
			if err != nil {
				res.Err = err
				out = append(out, res)
				continue
			}
			res.Name = t.Name
		}
		if !h.cfg.DeleteTopicEnable {
			res.Err = Refuse(ErrTopicDeletionDisabled, "delete.topic.enable is false on this broker")
			out = append(out, res)
			continue
		}
		if t, err := h.cluster.Topic(res.Name); err == nil {
			res.ID = t.ID
		}
		res.Err = h.cluster.DeleteTopic(ctx, res.Name)
		out = append(out, res)
	}
	return out
}

// NewPartitions asks for a topic to have Count partitions in all.
type NewPartitions struct {
	Topic string
	Count int32
	// Assignment, when given, places each new partition.
	Assignment [][]int32
}

// CreatePartitions grows each topic through the cluster, each on its own;
// the errors are in request order.
func (h *Handler) CreatePartitions(ctx context.Context, topics []NewPartitions, validateOnly bool) []error {
	out := make([]error, len(topics))
	for i, t := range topics {
		out[i] = h.cluster.CreatePartitions(ctx, t.Topic, t.Count, t.Assignment, validateOnly)
		if out[i] != nil {
			h.logger.Info("create partitions refused", "topic", t.Topic, "count", t.Count, "err", out[i])
		}
	}
	return out
}
