package request

import (
	"context"
	"errors"

	"github.com/sluicelog/sluice/engine"
)

// TopicRef names a topic by name or, when Name is empty, by id.
type TopicRef struct {
	Name string
	ID   [16]byte
}

// Metadata is the answer to a Metadata request.
type Metadata struct {
	// Brokers are the live brokers with their addresses on the listener
	// asked about.
	Brokers      []Broker
	ClusterID    string
	ControllerID int32
	Topics       []TopicMetadata
}

// TopicMetadata is one topic's placement, or why there is none.
type TopicMetadata struct {
	Topic // Name and ID as asked when Err is set
	Err   error
}

// Metadata describes the cluster as seen from listener, and the topics
// asked for (nil: every topic). Each topic costs the Cluster's lookup of
// it, by name or id, and nothing for the others: on a single node an
// engine map lookup and no work per partition (see Local.placement). With autoCreate (what the client allows)
// and auto.create.topics.enable, a topic named that does not exist is
// created with the cluster's defaults; losing that race is not an error.
func (h *Handler) Metadata(ctx context.Context, listener string, topics []TopicRef, autoCreate bool) Metadata {
	m := Metadata{
		Brokers:      h.cluster.Brokers(listener),
		ClusterID:    h.cluster.ClusterID(),
		ControllerID: h.cluster.ControllerID(),
	}
	if topics == nil {
		names := h.cluster.Topics()
		m.Topics = make([]TopicMetadata, 0, len(names))
		for _, name := range names {
			t, err := h.cluster.Topic(name)
			if errors.Is(err, engine.ErrUnknownTopic) {
				continue // deleted meanwhile
			}
			m.Topics = append(m.Topics, TopicMetadata{Topic: t, Err: err})
		}
		return m
	}
	autoCreate = autoCreate && h.cfg.AutoCreateTopics
	m.Topics = make([]TopicMetadata, 0, len(topics))
	for _, ref := range topics {
		if ref.Name == "" {
			t, err := h.cluster.TopicByID(ref.ID)
			if err != nil {
				t = Topic{ID: ref.ID}
			}
			m.Topics = append(m.Topics, TopicMetadata{Topic: t, Err: err})
			continue
		}
		t, err := h.cluster.Topic(ref.Name)
		if errors.Is(err, engine.ErrUnknownTopic) && autoCreate {
			if err = h.autoCreate(ctx, ref.Name); err == nil {
				t, err = h.cluster.Topic(ref.Name)
			}
		}
		if err != nil {
			t = Topic{Name: ref.Name}
		}
		m.Topics = append(m.Topics, TopicMetadata{Topic: t, Err: err})
	}
	return m
}
