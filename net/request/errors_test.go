package request_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// quorumError is an error as the metadata quorum returns them: it carries
// its Kafka code.
type quorumError struct{ code int16 }

func (e quorumError) Error() string    { return fmt.Sprintf("quorum says %d", e.code) }
func (e quorumError) KafkaCode() int16 { return e.code }

// codeCases is every error the table knows, with the code it maps to.
var codeCases = []struct {
	name string
	err  error
	want request.Code
}{
	{"nil", nil, request.None},
	{"engine.ErrUnknownTopic", engine.ErrUnknownTopic, request.UnknownTopicOrPartition},
	{"engine.ErrUnknownPartition", engine.ErrUnknownPartition, request.UnknownTopicOrPartition},
	{"engine.ErrInvalidTopic", engine.ErrInvalidTopic, request.InvalidTopicException},
	{"engine.ErrTopicExists", engine.ErrTopicExists, request.TopicAlreadyExists},
	{"engine.ErrInvalidPartitions", engine.ErrInvalidPartitions, request.InvalidPartitions},
	{"engine.ErrInvalidConfig", engine.ErrInvalidConfig, request.InvalidConfig},
	{"engine.ErrRecordTooLarge", engine.ErrRecordTooLarge, request.MessageTooLarge},
	{"engine.ErrInvalidRecord", engine.ErrInvalidRecord, request.CorruptMessage},
	{"engine.ErrUnsupported", engine.ErrUnsupported, request.UnsupportedForMessageFormat},
	{"engine.ErrOffsetOutOfRange", engine.ErrOffsetOutOfRange, request.OffsetOutOfRange},
	{"engine.ErrUnknownProducerID", engine.ErrUnknownProducerID, request.UnknownProducerID},
	{"engine.ErrOutOfOrderSequence", engine.ErrOutOfOrderSequence, request.OutOfOrderSequenceNumber},
	{"engine.ErrDuplicateSequence", engine.ErrDuplicateSequence, request.DuplicateSequenceNumber},
	{"engine.ErrInvalidProducerEpoch", engine.ErrInvalidProducerEpoch, request.InvalidProducerEpoch},
	{"engine.ErrInvalidGroupID", engine.ErrInvalidGroupID, request.InvalidGroupID},
	{"engine.ErrClosed", engine.ErrClosed, request.NotLeaderOrFollower},
	{"wrapped engine.ErrUnknownTopic", fmt.Errorf("topic x: %w", engine.ErrUnknownTopic), request.UnknownTopicOrPartition},
	{"ErrNotLeader", request.ErrNotLeader, request.NotLeaderOrFollower},
	{"wrapped ErrNotLeader", fmt.Errorf("led by 2: %w", request.ErrNotLeader), request.NotLeaderOrFollower},
	{"ErrLeaderNotAvailable", request.ErrLeaderNotAvailable, request.LeaderNotAvailable},
	{"ErrInvalidReplicationFactor", request.ErrInvalidReplicationFactor, request.InvalidReplicationFactor},
	{"ErrNotController", request.ErrNotController, request.NotController},
	{"ErrBrokerNotAvailable", request.ErrBrokerNotAvailable, request.BrokerNotAvailable},
	{"ErrInvalidReplicaAssignment", request.ErrInvalidReplicaAssignment, request.InvalidReplicaAssignment},
	{"ErrInvalidRequest", request.ErrInvalidRequest, request.InvalidRequest},
	{"ErrTopicDeletionDisabled", request.ErrTopicDeletionDisabled, request.TopicDeletionDisabled},
	{"ErrUnknownTopicID", request.ErrUnknownTopicID, request.UnknownTopicID},
	{"ErrUnknownLeaderEpoch", request.ErrUnknownLeaderEpoch, request.UnknownLeaderEpoch},
	{"ErrFencedLeaderEpoch", request.ErrFencedLeaderEpoch, request.FencedLeaderEpoch},
	{"ErrInvalidRequiredAcks", request.ErrInvalidRequiredAcks, request.InvalidRequiredAcks},
	{"ErrTransactions", request.ErrTransactions, request.TransactionalIDAuthorizationFailed},
	{"ErrCoordinatorNotAvailable", request.ErrCoordinatorNotAvailable, request.CoordinatorNotAvailable},
	{"Refuse", request.Refuse(request.ErrNotController, "ask broker 3"), request.NotController},
	{"context.DeadlineExceeded", context.DeadlineExceeded, request.RequestTimedOut},
	{"context.Canceled", fmt.Errorf("create topic: %w", context.Canceled), request.RequestTimedOut},
	{"KafkaCoder", quorumError{41}, request.NotController},
	{"wrapped KafkaCoder", fmt.Errorf("propose: %w", quorumError{5}), request.LeaderNotAvailable},
	{"anything else", errors.New("disk on fire"), request.KafkaStorageError},
}

func TestCodeOf(t *testing.T) {
	for _, c := range codeCases {
		if got := request.CodeOf(c.err); got != c.want {
			t.Errorf("%s: %v (%d), want %v (%d)", c.name, got, got, c.want, c.want)
		}
	}
	if m := request.Message(request.Refuse(request.ErrNotController, "ask broker 3")); m == nil || *m != "ask broker 3" {
		t.Errorf("Refuse's message: %v", m)
	}
	if request.Message(nil) != nil {
		t.Error("a message for no error")
	}
}

// TestCodeTable holds the table to Kafka's, as franz-go knows it, and to
// the native protocol's names.
func TestCodeTable(t *testing.T) {
	for _, c := range request.Codes() {
		if c == request.None {
			continue
		}
		ke, ok := kerr.ErrorForCode(int16(c)).(*kerr.Error)
		if !ok {
			t.Errorf("%d: not a Kafka code", c)
			continue
		}
		name := ke.Message
		if c == request.NotLeaderOrFollower {
			name = "NOT_LEADER_OR_FOLLOWER" // Kafka's name since 2.7; franz-go keeps the old one
		}
		if c.String() != name || c.Retriable() != ke.Retriable {
			t.Errorf("%d: %s retriable %v, Kafka: %s retriable %v", c, c, c.Retriable(), name, ke.Retriable)
		}
		if pc := protocol.ErrorCode(c); pc.Known() && (pc.String() != c.String() || pc.Retriable() != c.Retriable()) {
			t.Errorf("%d: %s retriable %v, native protocol: %s retriable %v", c, c, c.Retriable(), pc, pc.Retriable())
		}
	}
	if got := request.Code(9999).String(); got != "ERROR_CODE_9999" {
		t.Errorf("unknown code: %s", got)
	}
}
