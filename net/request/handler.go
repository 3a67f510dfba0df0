package request

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/metrics"
)

// Config holds the request rules that are the broker's, not the cluster's.
type Config struct {
	// AutoCreateTopics is auto.create.topics.enable: Metadata (when the
	// client allows it) and Produce create a topic they name that does
	// not exist, with the cluster's defaults.
	AutoCreateTopics bool
	// DeleteTopicEnable is delete.topic.enable.
	DeleteTopicEnable bool
	// BrokerConfigs are what DescribeConfigs reports for the broker.
	BrokerConfigs map[string]string
	Logger        *slog.Logger
	// Metrics, when set, counts errors by name and each partition's
	// traffic (engine.Traffic); nil counts nothing.
	Metrics *metrics.Requests
}

// Handler answers every request kind but the group APIs (the group
// coordinator, engine/group, is each listener's). One Handler serves both
// listeners; it is safe for concurrent use.
type Handler struct {
	eng     *engine.Engine
	cluster Cluster
	repl    Replication // nil on a single node
	cfg     Config
	logger  *slog.Logger
	metrics *metrics.Requests // nil: metrics off
}

// New returns the handlers over eng, placing things as cluster says.
func New(eng *engine.Engine, cluster Cluster, cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	repl, _ := cluster.(Replication)
	return &Handler{eng: eng, cluster: cluster, repl: repl, cfg: cfg, logger: cfg.Logger, metrics: cfg.Metrics}
}

// Cluster returns the Cluster the handlers use.
func (h *Handler) Cluster() Cluster { return h.cluster }

// autoCreate creates a topic a client named without creating it, with the
// cluster's defaults, as auto.create.topics.enable does in Kafka. Losing
// a race to create it is not an error.
func (h *Handler) autoCreate(ctx context.Context, name string) error {
	t, err := h.cluster.CreateTopic(ctx, NewTopic{Name: name, Partitions: -1, ReplicationFactor: -1})
	switch {
	case errors.Is(err, engine.ErrTopicExists):
		return nil
	case err != nil:
		return fmt.Errorf("auto-create topic %s: %w", name, err)
	}
	h.logger.Info("auto-created topic", "topic", name, "partitions", len(t.Partitions))
	return nil
}

// checkEpoch compares the leader epoch a client names (-1: none) with the
// partition's.
func (h *Handler) checkEpoch(topic string, partition, epoch int32) error {
	if epoch < 0 {
		return nil
	}
	current, err := h.cluster.LeaderEpoch(topic, partition)
	switch {
	case err != nil:
		return err
	case epoch > current:
		return ErrUnknownLeaderEpoch
	case epoch < current:
		return ErrFencedLeaderEpoch
	}
	return nil
}

// partition is the engine's partition, once the cluster says this node
// may serve it.
func (h *Handler) partition(topic string, partition int32) (*engine.Partition, error) {
	if err := h.cluster.LeaderCheck(topic, partition); err != nil {
		return nil, err
	}
	return h.eng.Partition(topic, partition)
}
