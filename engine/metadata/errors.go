package metadata

import (
	"errors"
	"fmt"
)

// Kafka error codes the state machine and its helpers answer with. The
// numbers are Kafka's (github.com/twmb/franz-go/pkg/kerr has the same ones),
// so the request layer can put them on the wire unchanged.
const (
	CodeNone                        int16 = 0
	CodeUnknownTopicOrPartition     int16 = 3
	CodeTopicAlreadyExists          int16 = 36
	CodeInvalidPartitions           int16 = 37
	CodeInvalidReplicationFactor    int16 = 38
	CodeInvalidReplicaAssignment    int16 = 39
	CodeInvalidRequest              int16 = 42
	CodeFencedLeaderEpoch           int16 = 74
	CodeDuplicateBrokerRegistration int16 = 101
	CodeBrokerIDNotRegistered       int16 = 102
	CodeInconsistentClusterID       int16 = 104
	CodeIneligibleReplica           int16 = 107
	CodeInvalidUpdateVersion        int16 = 95
)

var codeNames = map[int16]string{
	CodeNone:                        "NONE",
	CodeUnknownTopicOrPartition:     "UNKNOWN_TOPIC_OR_PARTITION",
	CodeTopicAlreadyExists:          "TOPIC_ALREADY_EXISTS",
	CodeInvalidPartitions:           "INVALID_PARTITIONS",
	CodeInvalidReplicationFactor:    "INVALID_REPLICATION_FACTOR",
	CodeInvalidReplicaAssignment:    "INVALID_REPLICA_ASSIGNMENT",
	CodeInvalidRequest:              "INVALID_REQUEST",
	CodeFencedLeaderEpoch:           "FENCED_LEADER_EPOCH",
	CodeDuplicateBrokerRegistration: "DUPLICATE_BROKER_REGISTRATION",
	CodeBrokerIDNotRegistered:       "BROKER_ID_NOT_REGISTERED",
	CodeInconsistentClusterID:       "INCONSISTENT_CLUSTER_ID",
	CodeIneligibleReplica:           "INELIGIBLE_REPLICA",
	CodeInvalidUpdateVersion:        "INVALID_UPDATE_VERSION",
}

// CodeName is the Kafka name of an error code, or "CODE_<n>" for a code
// this package does not use.
func CodeName(code int16) string {
	if n, ok := codeNames[code]; ok {
		return n
	}
	return fmt.Sprintf("CODE_%d", code)
}

// Error is a refusal with its Kafka error code. Callers get at the code with
// errors.As:
//
//	var me *metadata.Error
//	if errors.As(err, &me) { code = me.Code }
type Error struct {
	Code    int16
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return CodeName(e.Code)
	}
	return CodeName(e.Code) + ": " + e.Message
}

// KafkaCode is the refusal's Kafka error code: the brokers' request layer
// maps any error with this method onto its code, so a refusal the quorum
// made reaches the client as the code it names.
func (e *Error) KafkaCode() int16 { return e.Code }

func errorf(code int16, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf is the Kafka code carried by err: 0 for nil, the Error's code when
// err wraps one, and INVALID_REQUEST otherwise.
func CodeOf(err error) int16 {
	if err == nil {
		return CodeNone
	}
	var me *Error
	if errors.As(err, &me) {
		return me.Code
	}
	return CodeInvalidRequest
}

// Result is what applying one record answers. It crosses the network when a
// non-leader forwards a proposal, hence EncodeResult and DecodeResult.
type Result struct {
	Code    int16  `json:"code"`
	Message string `json:"message,omitempty"`
	// FirstProducerID is the first ID of the block an AllocateProducerIDs
	// record handed out; zero for other records.
	FirstProducerID int64 `json:"first_producer_id,omitempty"`
	// Codes answers each change of a PartitionChanges record, in order
	// (CodeNone for one applied); Message then names the first refusal.
	// Nil for other records.
	Codes []int16 `json:"codes,omitempty"`
}

// Err is nil for a success and an *Error carrying the code otherwise.
func (r Result) Err() error {
	if r.Code == CodeNone {
		return nil
	}
	return &Error{Code: r.Code, Message: r.Message}
}

func resultOf(err *Error) Result {
	if err == nil {
		return Result{}
	}
	return Result{Code: err.Code, Message: err.Message}
}
