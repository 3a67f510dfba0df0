package server

import (
	"errors"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/protocol"
)

// errorCode maps an engine error onto the protocol's (Kafka's) error code,
// so clients retry or fail as they would against Kafka.
func errorCode(err error) protocol.ErrorCode {
	switch {
	case err == nil:
		return protocol.NoError
	case errors.Is(err, engine.ErrUnknownTopic), errors.Is(err, engine.ErrUnknownPartition):
		return protocol.ErrUnknownTopicOrPartition
	case errors.Is(err, engine.ErrInvalidTopic):
		return protocol.ErrInvalidTopic
	case errors.Is(err, engine.ErrTopicExists):
		return protocol.ErrTopicAlreadyExists
	case errors.Is(err, engine.ErrInvalidPartitions):
		return protocol.ErrInvalidPartitions
	case errors.Is(err, engine.ErrInvalidConfig):
		return protocol.ErrInvalidConfig
	case errors.Is(err, engine.ErrRecordTooLarge):
		return protocol.ErrMessageTooLarge
	case errors.Is(err, engine.ErrInvalidRecord):
		return protocol.ErrCorruptMessage
	case errors.Is(err, engine.ErrUnsupported):
		return protocol.ErrUnsupportedForMessageFormat
	case errors.Is(err, engine.ErrOffsetOutOfRange):
		return protocol.ErrOffsetOutOfRange
	case errors.Is(err, engine.ErrOutOfOrderSequence):
		return protocol.ErrOutOfOrderSequenceNumber
	case errors.Is(err, engine.ErrDuplicateSequence):
		return protocol.ErrDuplicateSequenceNumber
	case errors.Is(err, engine.ErrInvalidProducerEpoch):
		return protocol.ErrInvalidProducerEpoch
	case errors.Is(err, engine.ErrClosed):
		// A partition closed under the request (its topic was deleted, or
		// the broker is stopping): the client should refresh and retry.
		return protocol.ErrNotLeaderOrFollower
	default:
		return protocol.ErrKafkaStorageError
	}
}

// message is the error text sent beside a code, or nil.
func message(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
