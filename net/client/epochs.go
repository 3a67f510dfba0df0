package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// OffsetForLeaderEpoch asks a partition's leader where its log ends
// leaderEpoch (Kafka's OffsetForLeaderEpoch): it returns the largest epoch
// in the leader's history that is not above leaderEpoch (leaderEpoch
// itself when it is older than all) and the offset where that epoch's
// records end, the start of the next epoch or, for the latest, the log
// end. A follower truncates its log there; a consumer that read past it
// read records the log no longer has. Both are -1, without an error, when
// the leader's log cannot tell: it keeps no epoch history (a single node's
// partitions do not), or leaderEpoch is newer than every epoch it knows.
//
// currentLeaderEpoch is the partition's leader epoch as the caller knows
// it, or -1 for no check: an older one fails with
// protocol.ErrFencedLeaderEpoch, a newer one with
// protocol.ErrUnknownLeaderEpoch, and the caller refreshes what it knows.
// A leader that moved or has not yet learned the topic
// (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
// UNKNOWN_TOPIC_OR_PARTITION from the broker asked) is looked for again,
// with backoff, until Config.RequestTimeout or ctx ends.
func (cl *Client) OffsetForLeaderEpoch(ctx context.Context, topic string, partition, currentLeaderEpoch, leaderEpoch int32) (epoch int32, endOffset int64, err error) {
	deadline := time.Now().Add(cl.cfg.RequestTimeout)
	backoff := 20 * time.Millisecond
	for {
		epoch, endOffset, err = cl.offsetForLeaderEpoch(ctx, topic, partition, currentLeaderEpoch, leaderEpoch)
		var be *BrokerError
		if err == nil || !errors.As(err, &be) || be.API != protocol.OffsetForLeaderEpoch || !needsMetadata(be.Code) ||
			time.Now().Add(backoff).After(deadline) {
			return epoch, endOffset, err
		}
		select {
		case <-ctx.Done():
			return epoch, endOffset, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (cl *Client) offsetForLeaderEpoch(ctx context.Context, topic string, partition, currentLeaderEpoch, leaderEpoch int32) (int32, int64, error) {
	t, err := cl.topic(ctx, topic, false)
	if err != nil {
		return -1, -1, err
	}
	if partition < 0 || int(partition) >= len(t.partitions) {
		return -1, -1, &BrokerError{API: protocol.Metadata, Code: protocol.ErrUnknownTopicOrPartition, Topic: topic, Partition: partition,
			Message: fmt.Sprintf("the topic has %d partitions", len(t.partitions))}
	}
	req := &protocol.OffsetForLeaderEpochRequest{ReplicaID: -1, Topics: []protocol.OffsetForLeaderEpochRequestTopic{{Name: topic,
		Partitions: []protocol.OffsetForLeaderEpochRequestPartition{{Partition: partition, CurrentLeaderEpoch: currentLeaderEpoch, LeaderEpoch: leaderEpoch}}}}}
	var resp protocol.OffsetForLeaderEpochResponse
	// A question about the log, which it does not change: idempotent.
	if err := cl.call(ctx, cl.leaderAddr(topic, partition), req, &resp, true); err != nil {
		return -1, -1, err
	}
	if err := brokerErr(protocol.OffsetForLeaderEpoch, resp.ErrorCode, topic, -1, nil); err != nil {
		return -1, -1, err
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if rt.Name != topic || p.Partition != partition {
				continue
			}
			if err := brokerErr(protocol.OffsetForLeaderEpoch, p.ErrorCode, topic, partition, nil); err != nil {
				if needsMetadata(p.ErrorCode) || p.ErrorCode == protocol.ErrFencedLeaderEpoch {
					cl.meta.forget(topic)
				}
				return -1, -1, err
			}
			return p.LeaderEpoch, p.EndOffset, nil
		}
	}
	return -1, -1, fmt.Errorf("offset for leader epoch %s-%d: the broker's answer did not mention it", topic, partition)
}
