package engine

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on (the broker maps each to a Kafka error
// code). Returned errors wrap them with context.
var (
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("engine closed")
	// ErrInvalidTopic: the name breaks Kafka's topic naming rules.
	ErrInvalidTopic = errors.New("invalid topic name")
	// ErrTopicExists: CreateTopic on a name already in use.
	ErrTopicExists = errors.New("topic already exists")
	// ErrUnknownTopic: no topic by that name.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrUnknownPartition: the topic has no partition with that id.
	ErrUnknownPartition = errors.New("unknown partition")
	// ErrInvalidPartitions: a partition count below one or above the limit.
	ErrInvalidPartitions = errors.New("invalid number of partitions")
	// ErrInvalidConfig: an unknown config name or a value out of range.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidRecord: a batch failed validation (see batch.ErrInvalid for
	// the precise cause, which is wrapped too). Nothing was written.
	ErrInvalidRecord = errors.New("invalid record batch")
	// ErrRecordWithoutKey: a record without a key was sent to a
	// compacted topic. It wraps ErrInvalidRecord.
	ErrRecordWithoutKey = fmt.Errorf("%w: record without a key", ErrInvalidRecord)
	// ErrRecordTooLarge: a batch is larger than max.message.bytes.
	ErrRecordTooLarge = errors.New("record batch larger than max.message.bytes")
	// ErrUnsupported: a batch asks for something Sluice does not do yet
	// (transactions, control batches from a producer).
	ErrUnsupported = errors.New("unsupported batch feature")
	// ErrPolicyViolation: the topic's configuration forbids the request
	// (DeleteRecords on a topic that only compacts, as Kafka refuses it).
	ErrPolicyViolation = errors.New("the topic's policy forbids it")
	// ErrOffsetOutOfRange: a read or seek outside [log start, high watermark].
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrStorage: the partition's files failed (a write, sync or truncate
	// error); the replica is offline until the broker restarts, and
	// nothing after the failure was acknowledged.
	ErrStorage = errors.New("storage error: replica offline")
	// ErrResourceLimit: the request needs more of an operating-system
	// resource than is left (file descriptors, memory mappings, disk
	// space or inodes), so it was refused before anything changed, or
	// undone. The message names the limit and how to raise it. The
	// broker answers POLICY_VIOLATION: the broker, not the request, sets
	// the bound, and clients must not retry as they would a storage error.
	ErrResourceLimit = errors.New("resource limit")
)

// ErrLocked: another process holds the data directory.
var ErrLocked = errors.New("data directory locked")
