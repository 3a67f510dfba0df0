package request

import (
	"context"
	"errors"
	"strconv"

	"github.com/sluicelog/sluice/engine"
)

// Code is a Kafka protocol error code. Both listeners send these numbers:
// the Kafka listener because clients expect them, the native one because
// its protocol reuses Kafka's (net/protocol/errors.go).
type Code int16

// The codes the handlers send, with Kafka's numbers and names.
const (
	UnknownServerError                 Code = -1
	None                               Code = 0
	OffsetOutOfRange                   Code = 1
	CorruptMessage                     Code = 2
	UnknownTopicOrPartition            Code = 3
	LeaderNotAvailable                 Code = 5
	NotLeaderOrFollower                Code = 6
	RequestTimedOut                    Code = 7
	BrokerNotAvailable                 Code = 8
	MessageTooLarge                    Code = 10
	CoordinatorNotAvailable            Code = 15
	InvalidTopicException              Code = 17
	NotEnoughReplicas                  Code = 19
	NotEnoughReplicasAfterAppend       Code = 20
	InvalidRequiredAcks                Code = 21
	InvalidGroupID                     Code = 24
	UnsupportedVersion                 Code = 35
	TopicAlreadyExists                 Code = 36
	InvalidPartitions                  Code = 37
	InvalidReplicationFactor           Code = 38
	InvalidReplicaAssignment           Code = 39
	InvalidConfig                      Code = 40
	NotController                      Code = 41
	InvalidRequest                     Code = 42
	UnsupportedForMessageFormat        Code = 43
	PolicyViolation                    Code = 44
	OutOfOrderSequenceNumber           Code = 45
	DuplicateSequenceNumber            Code = 46
	InvalidProducerEpoch               Code = 47
	TransactionalIDAuthorizationFailed Code = 53
	KafkaStorageError                  Code = 56
	UnknownProducerID                  Code = 59
	TopicDeletionDisabled              Code = 73
	FencedLeaderEpoch                  Code = 74
	UnknownLeaderEpoch                 Code = 75
	InvalidRecord                      Code = 87
	UnknownTopicID                     Code = 100

	// The group coordinator's codes (GroupCodeOf).
	OffsetMetadataTooLarge    Code = 12
	CoordinatorLoadInProgress Code = 14
	NotCoordinator            Code = 16
	IllegalGeneration         Code = 22
	InconsistentGroupProtocol Code = 23
	UnknownMemberID           Code = 25
	InvalidSessionTimeout     Code = 26
	RebalanceInProgress       Code = 27
	InvalidCommitOffsetSize   Code = 28
	NonEmptyGroup             Code = 68
	GroupIDNotFound           Code = 69
	MemberIDRequired          Code = 79
	FencedInstanceID          Code = 82
)

type codeInfo struct {
	name      string
	retriable bool
}

// codes is the table: each code's Kafka name and whether Kafka classes it
// retriable (the same request may succeed if sent again, perhaps after a
// metadata refresh). A test holds it to franz-go's kerr.
var codes = map[Code]codeInfo{
	UnknownServerError:                 {"UNKNOWN_SERVER_ERROR", false},
	None:                               {"NONE", false},
	OffsetOutOfRange:                   {"OFFSET_OUT_OF_RANGE", false},
	CorruptMessage:                     {"CORRUPT_MESSAGE", true},
	UnknownTopicOrPartition:            {"UNKNOWN_TOPIC_OR_PARTITION", true},
	LeaderNotAvailable:                 {"LEADER_NOT_AVAILABLE", true},
	NotLeaderOrFollower:                {"NOT_LEADER_OR_FOLLOWER", true},
	RequestTimedOut:                    {"REQUEST_TIMED_OUT", true},
	BrokerNotAvailable:                 {"BROKER_NOT_AVAILABLE", true},
	MessageTooLarge:                    {"MESSAGE_TOO_LARGE", false},
	CoordinatorNotAvailable:            {"COORDINATOR_NOT_AVAILABLE", true},
	InvalidTopicException:              {"INVALID_TOPIC_EXCEPTION", false},
	InvalidRequiredAcks:                {"INVALID_REQUIRED_ACKS", false},
	InvalidGroupID:                     {"INVALID_GROUP_ID", false},
	UnsupportedVersion:                 {"UNSUPPORTED_VERSION", false},
	TopicAlreadyExists:                 {"TOPIC_ALREADY_EXISTS", false},
	InvalidPartitions:                  {"INVALID_PARTITIONS", false},
	InvalidReplicationFactor:           {"INVALID_REPLICATION_FACTOR", false},
	InvalidReplicaAssignment:           {"INVALID_REPLICA_ASSIGNMENT", false},
	InvalidConfig:                      {"INVALID_CONFIG", false},
	NotController:                      {"NOT_CONTROLLER", true},
	InvalidRequest:                     {"INVALID_REQUEST", false},
	UnsupportedForMessageFormat:        {"UNSUPPORTED_FOR_MESSAGE_FORMAT", false},
	PolicyViolation:                    {"POLICY_VIOLATION", false},
	OutOfOrderSequenceNumber:           {"OUT_OF_ORDER_SEQUENCE_NUMBER", false},
	DuplicateSequenceNumber:            {"DUPLICATE_SEQUENCE_NUMBER", false},
	InvalidProducerEpoch:               {"INVALID_PRODUCER_EPOCH", false},
	TransactionalIDAuthorizationFailed: {"TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false},
	KafkaStorageError:                  {"KAFKA_STORAGE_ERROR", true},
	NotEnoughReplicas:                  {"NOT_ENOUGH_REPLICAS", true},
	NotEnoughReplicasAfterAppend:       {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", true},
	UnknownProducerID:                  {"UNKNOWN_PRODUCER_ID", false},
	TopicDeletionDisabled:              {"TOPIC_DELETION_DISABLED", false},
	FencedLeaderEpoch:                  {"FENCED_LEADER_EPOCH", true},
	UnknownLeaderEpoch:                 {"UNKNOWN_LEADER_EPOCH", true},
	InvalidRecord:                      {"INVALID_RECORD", false},
	UnknownTopicID:                     {"UNKNOWN_TOPIC_ID", true},
	OffsetMetadataTooLarge:             {"OFFSET_METADATA_TOO_LARGE", false},
	CoordinatorLoadInProgress:          {"COORDINATOR_LOAD_IN_PROGRESS", true},
	NotCoordinator:                     {"NOT_COORDINATOR", true},
	IllegalGeneration:                  {"ILLEGAL_GENERATION", false},
	InconsistentGroupProtocol:          {"INCONSISTENT_GROUP_PROTOCOL", false},
	UnknownMemberID:                    {"UNKNOWN_MEMBER_ID", false},
	InvalidSessionTimeout:              {"INVALID_SESSION_TIMEOUT", false},
	RebalanceInProgress:                {"REBALANCE_IN_PROGRESS", false},
	InvalidCommitOffsetSize:            {"INVALID_COMMIT_OFFSET_SIZE", false},
	NonEmptyGroup:                      {"NON_EMPTY_GROUP", false},
	GroupIDNotFound:                    {"GROUP_ID_NOT_FOUND", false},
	MemberIDRequired:                   {"MEMBER_ID_REQUIRED", false},
	FencedInstanceID:                   {"FENCED_INSTANCE_ID", false},
}

// String is Kafka's name for the code, or "ERROR_CODE_<n>" outside the
// table.
func (c Code) String() string {
	if i, ok := codes[c]; ok {
		return i.name
	}
	return "ERROR_CODE_" + strconv.Itoa(int(c))
}

// Retriable reports whether Kafka classes the code as retriable.
func (c Code) Retriable() bool { return codes[c].retriable }

// Codes lists the table's codes.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// KafkaCoder is an error that carries its Kafka code: the sentinels below,
// and errors from the cluster's metadata quorum.
type KafkaCoder interface {
	KafkaCode() int16
}

// codeError is a sentinel with a code of its own.
type codeError struct {
	code Code
	text string
}

func (e *codeError) Error() string    { return e.text }
func (e *codeError) KafkaCode() int16 { return int16(e.code) }

// The request layer's own sentinels, for refusals no engine error names.
// Each carries its code (KafkaCode); wrap them to add detail.
var (
	// ErrNotLeader: this broker does not lead the partition (a Cluster's
	// LeaderCheck says so); the client refreshes metadata.
	ErrNotLeader error = &codeError{NotLeaderOrFollower, "this broker is not the partition's leader"}
	// ErrLeaderNotAvailable: the partition has no leader right now.
	ErrLeaderNotAvailable error = &codeError{LeaderNotAvailable, "the partition has no leader"}
	// ErrInvalidReplicationFactor: below one, or above the brokers there are.
	ErrInvalidReplicationFactor error = &codeError{InvalidReplicationFactor, "invalid replication factor"}
	// ErrNotController: a cluster-wide change reached a broker that cannot
	// make it; the client finds the controller again.
	ErrNotController error = &codeError{NotController, "this broker is not the controller"}
	// ErrBrokerNotAvailable: a broker named is not alive.
	ErrBrokerNotAvailable error = &codeError{BrokerNotAvailable, "broker not available"}
	// ErrInvalidReplicaAssignment: a manual assignment names brokers or
	// partitions it may not.
	ErrInvalidReplicaAssignment error = &codeError{InvalidReplicaAssignment, "invalid replica assignment"}
	// ErrInvalidRequest: fields that contradict each other.
	ErrInvalidRequest error = &codeError{InvalidRequest, "invalid request"}
	// ErrTopicDeletionDisabled: delete.topic.enable is false.
	ErrTopicDeletionDisabled error = &codeError{TopicDeletionDisabled, "topic deletion is disabled"}
	// ErrUnknownTopicID: no topic has the id.
	ErrUnknownTopicID error = &codeError{UnknownTopicID, "unknown topic id"}
	// ErrUnknownLeaderEpoch: the client knows a newer leader epoch than
	// this broker.
	ErrUnknownLeaderEpoch error = &codeError{UnknownLeaderEpoch, "leader epoch newer than this broker's"}
	// ErrFencedLeaderEpoch: the client's leader epoch is older than the
	// partition's.
	ErrFencedLeaderEpoch error = &codeError{FencedLeaderEpoch, "leader epoch older than the partition's"}
	// ErrInvalidRequiredAcks: acks is not 0, 1 or -1.
	ErrInvalidRequiredAcks error = &codeError{InvalidRequiredAcks, "acks must be 0, 1 or -1"}
	// ErrTransactions: a transactional id; transactions do not exist here.
	ErrTransactions error = &codeError{TransactionalIDAuthorizationFailed, "transactions are not supported by this broker"}
	// ErrCoordinatorNotAvailable: no coordinator of the kind asked for.
	ErrCoordinatorNotAvailable error = &codeError{CoordinatorNotAvailable, "coordinator not available"}
	// ErrNotEnoughReplicas: acks=all while the ISR is smaller than
	// min.insync.replicas; nothing was written.
	ErrNotEnoughReplicas error = &codeError{NotEnoughReplicas, "fewer in-sync replicas than min.insync.replicas"}
	// ErrNotEnoughReplicasAfterAppend: written by the leader, but the ISR
	// fell below min.insync.replicas before every member had it.
	ErrNotEnoughReplicasAfterAppend error = &codeError{NotEnoughReplicasAfterAppend, "written, but the ISR fell below min.insync.replicas before it was replicated"}
)

// detailError is a sentinel with a message of its own.
type detailError struct {
	sentinel error
	text     string
}

func (e *detailError) Error() string { return e.text }
func (e *detailError) Unwrap() error { return e.sentinel }

// Refuse returns an error that is sentinel (errors.Is, and so its code)
// with text as its message.
func Refuse(sentinel error, text string) error { return &detailError{sentinel, text} }

// CodeOf maps an error onto Kafka's code with the same meaning, so that
// clients retry or fail as they would against Kafka: an error carrying its
// code (KafkaCoder, anywhere in its chain), the engine's sentinels, and
// context errors. Anything else is a storage failure (KAFKA_STORAGE_ERROR).
func CodeOf(err error) Code {
	if err == nil {
		return None
	}
	var kc KafkaCoder
	switch {
	case errors.As(err, &kc):
		return Code(kc.KafkaCode())
	case errors.Is(err, engine.ErrUnknownTopic), errors.Is(err, engine.ErrUnknownPartition):
		return UnknownTopicOrPartition
	case errors.Is(err, engine.ErrInvalidTopic):
		return InvalidTopicException
	case errors.Is(err, engine.ErrTopicExists):
		return TopicAlreadyExists
	case errors.Is(err, engine.ErrInvalidPartitions):
		return InvalidPartitions
	case errors.Is(err, engine.ErrInvalidConfig):
		return InvalidConfig
	case errors.Is(err, engine.ErrRecordTooLarge):
		return MessageTooLarge
	case errors.Is(err, engine.ErrRecordWithoutKey):
		return InvalidRecord
	case errors.Is(err, engine.ErrInvalidRecord):
		return CorruptMessage
	case errors.Is(err, engine.ErrUnsupported):
		return UnsupportedForMessageFormat
	case errors.Is(err, engine.ErrOffsetOutOfRange):
		return OffsetOutOfRange
	case errors.Is(err, engine.ErrPolicyViolation):
		return PolicyViolation
	case errors.Is(err, engine.ErrResourceLimit):
		// A create that does not fit the broker's open files, memory map
		// or disk limits: the broker's bound refused it, as a
		// create.topic.policy would in Kafka, and retrying will not help
		// (KAFKA_STORAGE_ERROR would be retried until the client's
		// timeout). The message names the limit and how to raise it.
		return PolicyViolation
	case errors.Is(err, engine.ErrUnknownProducerID):
		return UnknownProducerID
	case errors.Is(err, engine.ErrOutOfOrderSequence):
		return OutOfOrderSequenceNumber
	case errors.Is(err, engine.ErrDuplicateSequence):
		return DuplicateSequenceNumber
	case errors.Is(err, engine.ErrInvalidProducerEpoch):
		return InvalidProducerEpoch
	case errors.Is(err, engine.ErrInvalidGroupID):
		return InvalidGroupID
	case errors.Is(err, engine.ErrStorage):
		return KafkaStorageError
	case errors.Is(err, engine.ErrReplicaOffset):
		return OffsetOutOfRange
	case errors.Is(err, engine.ErrClosed):
		// The partition closed under the request (its topic was deleted,
		// or the broker is stopping): refresh metadata and retry.
		return NotLeaderOrFollower
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// A cluster-wide change that did not finish in time, or whose
		// client or broker went away: it may be retried.
		return RequestTimedOut
	default:
		return KafkaStorageError
	}
}

// Message is the text sent beside a code: the error's own, or nil.
func Message(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
