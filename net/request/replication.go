package request

import (
	"context"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// Replication is implemented by a Cluster whose partitions are replicated
// (net/cluster). The handlers call it around appends and for fetches from
// followers; a Cluster without it (Local) is a single node whose appends
// are committed as soon as they are written.
type Replication interface {
	// CheckInSync is asked before an acks=all append: ErrNotEnoughReplicas
	// when the partition's ISR is smaller than min.insync.replicas.
	CheckInSync(topic string, partition int32) error
	// Appended is told after every append this node made as leader, so
	// that the high watermark can move when the ISR is the leader alone.
	// It is on the hot path: no allocation.
	Appended(p *engine.Partition)
	// AwaitReplicated returns once the partition's high watermark reaches
	// end (every ISR member has the records before it) while this node
	// still leads at epoch, the leader epoch the records were written
	// under; or with ErrNotEnoughReplicasAfterAppend, ErrNotLeader (the
	// leadership ended: a high watermark past end may then cover other
	// records, fetched after a truncation) or a timeout.
	AwaitReplicated(ctx context.Context, p *engine.Partition, end int64, epoch int32, timeout time.Duration) error
	// FollowerFetched records that replica fetched the partition from
	// offset (so it holds everything before it), its own log start being
	// logStart (-1 when its fetch did not say); the leader may then move
	// the high watermark and grow the ISR. An error refuses the fetch
	// (ErrNotLeader when this node does not lead, or the replica is not
	// one of the partition's).
	FollowerFetched(p *engine.Partition, replica int32, offset, logStart int64) error
	// AwaitLowWatermark returns the partition's low watermark, the
	// lowest log start among the leader and its in-sync followers, once
	// it reaches offset (every in-sync replica has deleted the records
	// below it, as DeleteRecords waits in Kafka); ErrNotLeader when this
	// node stops leading, or a timeout error when it does not get there.
	AwaitLowWatermark(ctx context.Context, p *engine.Partition, offset int64, timeout time.Duration) (int64, error)
}
