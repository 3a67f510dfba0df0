package request

import (
	"context"

	"github.com/sluicelog/sluice/engine"
)

// OffsetForLeaderEpoch is an OffsetForLeaderEpoch request and, after
// Handler.OffsetForLeaderEpoch, its answer: for each partition, where the
// leader's log ends the leader epoch asked about. A follower asks it to
// find where its log diverged from the leader's; a consumer, after a
// leader change, to learn whether the records it read are still in the
// log (KIP-320).
type OffsetForLeaderEpoch struct {
	// ReplicaID is the asking follower's node id, -1 for a consumer and
	// -2 when the request does not say (Kafka's versions before 3). It
	// does not change the answer: as in Kafka, only the leader answers,
	// and it answers everyone from its whole log.
	ReplicaID  int32
	Partitions []EpochPartition
}

// EpochPartition is one partition of an OffsetForLeaderEpoch request and
// its answer.
type EpochPartition struct {
	Topic     string
	Partition int32
	// CurrentLeaderEpoch is the partition's leader epoch as the client
	// knows it, checked against the partition's (FENCED_LEADER_EPOCH when
	// older, UNKNOWN_LEADER_EPOCH when newer); -1 skips the check.
	CurrentLeaderEpoch int32
	// LeaderEpoch is the epoch whose end offset is asked for.
	LeaderEpoch int32

	// Err is the partition's failure; EndEpoch and EndOffset are then -1.
	Err error
	// EndEpoch is the largest epoch in the log's history that is not
	// above LeaderEpoch (LeaderEpoch itself when it is older than every
	// epoch the log knows), and EndOffset where that epoch's records end:
	// the start of the next epoch, or the log end for the latest epoch.
	// Both are -1, without an error, when the log cannot tell: no epoch
	// history (a single node's partitions have none), or an epoch newer
	// than every epoch it knows.
	EndEpoch  int32
	EndOffset int64
}

// OffsetForLeaderEpoch answers each partition on its own, as Kafka's
// leader does: only the partition's leader answers (NOT_LEADER_OR_FOLLOWER
// elsewhere), after the client's current leader epoch is checked, and the
// end offset comes from the leader-epoch history of its log. The latest
// epoch ends at the log end, which may be past the high watermark: Kafka
// answers consumers the same, since what a consumer read is below the
// high watermark anyway. Partitions not reached before ctx ends fail with
// its error.
func (h *Handler) OffsetForLeaderEpoch(ctx context.Context, r *OffsetForLeaderEpoch) {
	for i := range r.Partitions {
		ep := &r.Partitions[i]
		ep.EndEpoch, ep.EndOffset = -1, -1
		var p *engine.Partition
		err := ctx.Err()
		if err == nil {
			p, err = h.partition(ep.Topic, ep.Partition)
		}
		if err == nil {
			err = h.checkEpoch(ep.Topic, ep.Partition, ep.CurrentLeaderEpoch)
		}
		if ep.Err = err; err != nil {
			continue
		}
		ep.EndEpoch, ep.EndOffset = p.EndOffsetForEpoch(ep.LeaderEpoch)
	}
}
