package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicelog/sluice/engine"
)

// errorCode maps an engine error onto Kafka's error code with the same
// meaning, so clients retry or fail as they would against Kafka.
func errorCode(err error) int16 {
	return kafkaError(err).Code
}

func kafkaError(err error) *kerr.Error {
	var ke *kerr.Error
	switch {
	case err == nil:
		return &kerr.Error{Message: "NONE", Code: 0}
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, engine.ErrUnknownTopic), errors.Is(err, engine.ErrUnknownPartition):
		return kerr.UnknownTopicOrPartition
	case errors.Is(err, engine.ErrInvalidTopic):
		return kerr.InvalidTopicException
	case errors.Is(err, engine.ErrTopicExists):
		return kerr.TopicAlreadyExists
	case errors.Is(err, engine.ErrInvalidPartitions):
		return kerr.InvalidPartitions
	case errors.Is(err, engine.ErrInvalidConfig):
		return kerr.InvalidConfig
	case errors.Is(err, engine.ErrRecordTooLarge):
		return kerr.MessageTooLarge
	case errors.Is(err, engine.ErrInvalidRecord):
		return kerr.CorruptMessage
	case errors.Is(err, engine.ErrUnsupported):
		return kerr.UnsupportedForMessageFormat
	case errors.Is(err, engine.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange
	case errors.Is(err, engine.ErrUnknownProducerID):
		return kerr.UnknownProducerID
	case errors.Is(err, engine.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber
	case errors.Is(err, engine.ErrDuplicateSequence):
		return kerr.DuplicateSequenceNumber
	case errors.Is(err, engine.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch
	case errors.Is(err, engine.ErrClosed):
		// The partition closed under the request (its topic was deleted,
		// or the broker is stopping): refresh metadata and retry.
		return kerr.NotLeaderForPartition
	default:
		return kerr.KafkaStorageError
	}
}

// errorMessage is the text sent beside a code, or nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
