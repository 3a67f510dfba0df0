package protocol

import (
	"slices"
	"strconv"
)

// ErrorCode is a Kafka protocol error code. Sluice uses Kafka's numbers and
// names so that users and tools recognise them.
//
// An ErrorCode is an error, so a client can return the code a broker sent
// and its callers can branch on it:
//
//	if errors.Is(err, protocol.ErrUnknownTopicOrPartition) { ... }
//
// Use [ErrorCode.Err] to turn a code from a response into an error value:
// it returns nil for [NoError].
type ErrorCode int16

// The error codes Sluice sends now or will soon, with Kafka's numbers. Each
// constant is Err followed by Kafka's name in CamelCase (with Go's ID), but
// INVALID_TOPIC_EXCEPTION is ErrInvalidTopic and NONE is NoError. The table
// below, errorTable, gives each its name, its meaning and whether a
// client may retry the same request unchanged (Kafka's classification).
const (
	ErrUnknownServerError           ErrorCode = -1
	NoError                         ErrorCode = 0
	ErrOffsetOutOfRange             ErrorCode = 1
	ErrCorruptMessage               ErrorCode = 2
	ErrUnknownTopicOrPartition      ErrorCode = 3
	ErrInvalidFetchSize             ErrorCode = 4
	ErrLeaderNotAvailable           ErrorCode = 5
	ErrNotLeaderOrFollower          ErrorCode = 6
	ErrRequestTimedOut              ErrorCode = 7
	ErrMessageTooLarge              ErrorCode = 10
	ErrOffsetMetadataTooLarge       ErrorCode = 12
	ErrNetworkException             ErrorCode = 13
	ErrCoordinatorLoadInProgress    ErrorCode = 14
	ErrCoordinatorNotAvailable      ErrorCode = 15
	ErrNotCoordinator               ErrorCode = 16
	ErrInvalidTopic                 ErrorCode = 17
	ErrRecordListTooLarge           ErrorCode = 18
	ErrNotEnoughReplicas            ErrorCode = 19
	ErrNotEnoughReplicasAfterAppend ErrorCode = 20
	ErrInvalidRequiredAcks          ErrorCode = 21
	ErrIllegalGeneration            ErrorCode = 22
	ErrInconsistentGroupProtocol    ErrorCode = 23
	ErrInvalidGroupID               ErrorCode = 24
	ErrUnknownMemberID              ErrorCode = 25
	ErrInvalidSessionTimeout        ErrorCode = 26
	ErrRebalanceInProgress          ErrorCode = 27
	ErrInvalidCommitOffsetSize      ErrorCode = 28
	ErrInvalidTimestamp             ErrorCode = 32
	ErrUnsupportedVersion           ErrorCode = 35
	ErrTopicAlreadyExists           ErrorCode = 36
	ErrInvalidPartitions            ErrorCode = 37
	ErrInvalidReplicationFactor     ErrorCode = 38
	ErrInvalidConfig                ErrorCode = 40
	ErrInvalidRequest               ErrorCode = 42
	ErrUnsupportedForMessageFormat  ErrorCode = 43
	ErrPolicyViolation              ErrorCode = 44
	ErrOutOfOrderSequenceNumber     ErrorCode = 45
	ErrDuplicateSequenceNumber      ErrorCode = 46
	ErrInvalidProducerEpoch         ErrorCode = 47
	ErrInvalidTxnState              ErrorCode = 48
	ErrKafkaStorageError            ErrorCode = 56
	ErrUnknownProducerID            ErrorCode = 59
	ErrNonEmptyGroup                ErrorCode = 68
	ErrGroupIDNotFound              ErrorCode = 69
	ErrTopicDeletionDisabled        ErrorCode = 73
	ErrFencedLeaderEpoch            ErrorCode = 74
	ErrUnknownLeaderEpoch           ErrorCode = 75
	ErrMemberIDRequired             ErrorCode = 79
	ErrGroupMaxSizeReached          ErrorCode = 81
	ErrFencedInstanceID             ErrorCode = 82
	ErrInvalidRecord                ErrorCode = 87
	ErrThrottlingQuotaExceeded      ErrorCode = 89
	ErrProducerFenced               ErrorCode = 90
	ErrUnknownTopicID               ErrorCode = 100
)

// ErrTransactionalIDAuthorizationFailed (53) refuses a transactional
// producer: Sluice has no transactions, and Kafka clients treat the code
// as fatal rather than retrying.
const ErrTransactionalIDAuthorizationFailed ErrorCode = 53

type errorInfo struct {
	name      string
	retriable bool
	meaning   string
}

// errorTable is the one place that describes the codes. docs/PROTOCOL.md
// holds the same table for readers; a test keeps the two in step.
var errorTable = map[ErrorCode]errorInfo{
	ErrUnknownServerError:           {"UNKNOWN_SERVER_ERROR", false, "the broker failed in a way it has no code for; its log says more"},
	NoError:                         {"NONE", false, "success"},
	ErrOffsetOutOfRange:             {"OFFSET_OUT_OF_RANGE", false, "the offset is below the log start or past the high watermark"},
	ErrCorruptMessage:               {"CORRUPT_MESSAGE", true, "a record batch failed its CRC or size checks"},
	ErrUnknownTopicOrPartition:      {"UNKNOWN_TOPIC_OR_PARTITION", true, "the broker has no such topic or partition"},
	ErrInvalidFetchSize:             {"INVALID_FETCH_SIZE", false, "a fetch asked for a negative or otherwise unusable size"},
	ErrLeaderNotAvailable:           {"LEADER_NOT_AVAILABLE", true, "the partition has no leader right now (for example during an election)"},
	ErrNotLeaderOrFollower:          {"NOT_LEADER_OR_FOLLOWER", true, "this broker does not lead (or replicate) the partition; refresh metadata"},
	ErrRequestTimedOut:              {"REQUEST_TIMED_OUT", true, "the broker gave up waiting, for replicas or for the request's timeout"},
	ErrMessageTooLarge:              {"MESSAGE_TOO_LARGE", false, "a record batch is larger than the topic's max.message.bytes"},
	ErrOffsetMetadataTooLarge:       {"OFFSET_METADATA_TOO_LARGE", false, "the metadata string of an offset commit is too long"},
	ErrNetworkException:             {"NETWORK_EXCEPTION", true, "the connection broke before the response arrived"},
	ErrCoordinatorLoadInProgress:    {"COORDINATOR_LOAD_IN_PROGRESS", true, "the group coordinator is still loading its state"},
	ErrCoordinatorNotAvailable:      {"COORDINATOR_NOT_AVAILABLE", true, "no group coordinator is available"},
	ErrNotCoordinator:               {"NOT_COORDINATOR", true, "this broker is not the group's coordinator; find it again"},
	ErrInvalidTopic:                 {"INVALID_TOPIC_EXCEPTION", false, "the topic name is not legal, or the topic may not be used this way"},
	ErrRecordListTooLarge:           {"RECORD_LIST_TOO_LARGE", false, "a record batch is larger than a whole segment"},
	ErrNotEnoughReplicas:            {"NOT_ENOUGH_REPLICAS", true, "too few in-sync replicas to accept the write"},
	ErrNotEnoughReplicasAfterAppend: {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "the write reached the log but too few in-sync replicas"},
	ErrInvalidRequiredAcks:          {"INVALID_REQUIRED_ACKS", false, "acks is not 0, 1 or -1"},
	ErrIllegalGeneration:            {"ILLEGAL_GENERATION", false, "the member's group generation is not the current one"},
	ErrInconsistentGroupProtocol:    {"INCONSISTENT_GROUP_PROTOCOL", false, "the member's protocols do not match the group's"},
	ErrInvalidGroupID:               {"INVALID_GROUP_ID", false, "the group id is empty or otherwise not legal"},
	ErrUnknownMemberID:              {"UNKNOWN_MEMBER_ID", false, "the coordinator does not know this member"},
	ErrInvalidSessionTimeout:        {"INVALID_SESSION_TIMEOUT", false, "the session timeout is outside the range the broker allows"},
	ErrRebalanceInProgress:          {"REBALANCE_IN_PROGRESS", false, "the group is rebalancing; the member must rejoin"},
	ErrInvalidCommitOffsetSize:      {"INVALID_COMMIT_OFFSET_SIZE", false, "the offset commit is too large to store"},
	ErrInvalidTimestamp:             {"INVALID_TIMESTAMP", false, "a record timestamp is outside the range the topic accepts"},
	ErrUnsupportedVersion:           {"UNSUPPORTED_VERSION", false, "the broker does not implement this API key or version"},
	ErrTopicAlreadyExists:           {"TOPIC_ALREADY_EXISTS", false, "a topic with this name exists already"},
	ErrInvalidPartitions:            {"INVALID_PARTITIONS", false, "the partition count is not allowed here"},
	ErrInvalidReplicationFactor:     {"INVALID_REPLICATION_FACTOR", false, "the replication factor is below one or above the number of brokers"},
	ErrInvalidConfig:                {"INVALID_CONFIG", false, "a config name is unknown or its value is out of range"},
	ErrInvalidRequest:               {"INVALID_REQUEST", false, "the request does not decode, or its fields contradict each other"},
	ErrUnsupportedForMessageFormat:  {"UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "the records use a message format the broker does not take"},
	ErrPolicyViolation:              {"POLICY_VIOLATION", false, "the request breaks a policy the broker enforces"},
	ErrOutOfOrderSequenceNumber:     {"OUT_OF_ORDER_SEQUENCE_NUMBER", false, "an idempotent producer's sequence number skips ahead"},
	ErrDuplicateSequenceNumber:      {"DUPLICATE_SEQUENCE_NUMBER", false, "an idempotent producer resent a batch the log already holds"},
	ErrInvalidProducerEpoch:         {"INVALID_PRODUCER_EPOCH", false, "the producer's epoch is older than the broker's"},
	ErrInvalidTxnState:              {"INVALID_TXN_STATE", false, "a transactional operation came in the wrong state"},
	ErrKafkaStorageError:            {"KAFKA_STORAGE_ERROR", true, "the broker could not read or write the partition's files"},
	ErrUnknownProducerID:            {"UNKNOWN_PRODUCER_ID", false, "the broker holds no state for this producer id"},
	ErrNonEmptyGroup:                {"NON_EMPTY_GROUP", false, "the group still has members"},
	ErrGroupIDNotFound:              {"GROUP_ID_NOT_FOUND", false, "no group has this id"},
	ErrTopicDeletionDisabled:        {"TOPIC_DELETION_DISABLED", false, "the broker has delete.topic.enable=false"},
	ErrFencedLeaderEpoch:            {"FENCED_LEADER_EPOCH", true, "the client's leader epoch is older than the partition's; refresh metadata"},
	ErrUnknownLeaderEpoch:           {"UNKNOWN_LEADER_EPOCH", true, "the client's leader epoch is newer than the broker knows; retry"},
	ErrMemberIDRequired:             {"MEMBER_ID_REQUIRED", false, "join again with the member id the coordinator just assigned"},
	ErrGroupMaxSizeReached:          {"GROUP_MAX_SIZE_REACHED", false, "the group is full"},
	ErrFencedInstanceID:             {"FENCED_INSTANCE_ID", false, "another member now holds this static group.instance.id"},
	ErrInvalidRecord:                {"INVALID_RECORD", false, "a record failed the broker's validation"},
	ErrThrottlingQuotaExceeded:      {"THROTTLING_QUOTA_EXCEEDED", true, "the request exceeded a rate quota; try again later"},
	ErrProducerFenced:               {"PRODUCER_FENCED", false, "a newer producer with the same transactional id took over"},
	ErrUnknownTopicID:               {"UNKNOWN_TOPIC_ID", true, "the broker has no topic with this id"},

	ErrTransactionalIDAuthorizationFailed: {"TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false,
		"transactions are not supported: use an idempotent producer without a transactional id"},
}

// ErrorCodes lists every code in the table, in numeric order.
func ErrorCodes() []ErrorCode {
	codes := make([]ErrorCode, 0, len(errorTable))
	for c := range errorTable {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Known reports whether the code is in Sluice's table.
func (c ErrorCode) Known() bool {
	_, ok := errorTable[c]
	return ok
}

// String is Kafka's name for the code, such as "OFFSET_OUT_OF_RANGE", or
// "ERROR_CODE_<n>" for a code outside the table.
func (c ErrorCode) String() string {
	if e, ok := errorTable[c]; ok {
		return e.name
	}
	return "ERROR_CODE_" + strconv.Itoa(int(c))
}

// Retriable reports whether Kafka classes the code as retriable: the same
// request may succeed if sent again, perhaps after refreshing metadata.
// Unknown codes are not retriable.
func (c ErrorCode) Retriable() bool { return errorTable[c].retriable }

// Meaning is a one-line description of the code.
func (c ErrorCode) Meaning() string {
	if e, ok := errorTable[c]; ok {
		return e.meaning
	}
	return "an error code Sluice does not know"
}

// Error makes a code an error: "UNKNOWN_TOPIC_OR_PARTITION (3): ...".
func (c ErrorCode) Error() string {
	return c.String() + " (" + strconv.Itoa(int(c)) + "): " + c.Meaning()
}

// Err returns nil for NoError and the code itself otherwise, so that
//
//	if err := resp.ErrorCode.Err(); err != nil { return err }
//
// never yields a non-nil error holding NONE.
func (c ErrorCode) Err() error {
	if c == NoError {
		return nil
	}
	return c
}
