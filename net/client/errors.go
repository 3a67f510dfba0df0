package client

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicelog/sluice/net/protocol"
)

// Sentinel errors. Errors the client returns wrap one of these, or a
// protocol.ErrorCode the broker sent, so callers branch with errors.Is.
var (
	// ErrClosed: the Client, Producer or Consumer was closed.
	ErrClosed = errors.New("client: closed")
	// ErrNetwork: the connection to a broker could not be made or broke
	// before the answer arrived. Such failures are retried where that is
	// safe; one that reaches the caller means the retries ran out.
	ErrNetwork = errors.New("client: broker connection failed")
	// ErrTimeout: a request got no answer within Config.RequestTimeout, a
	// record was not delivered within ProducerConfig.DeliveryTimeout, or
	// Send could not queue a record within ProducerConfig.MaxBlock. A
	// request that timed out may still have been carried out.
	ErrTimeout = errors.New("client: timed out")
)

// BrokerError is an error code a broker answered with, for one topic or
// partition when it concerns one. It unwraps to the protocol.ErrorCode, so
//
//	errors.Is(err, protocol.ErrTopicAlreadyExists)
//
// works on every error the client returns.
type BrokerError struct {
	API       protocol.APIKey
	Code      protocol.ErrorCode
	Topic     string // empty when the error is not about a topic
	Partition int32  // -1 when the error is not about one partition
	// Message is the broker's explanation, when it sent one.
	Message string
}

func (e *BrokerError) Error() string {
	s := e.API.String()
	if e.Topic != "" {
		s += " " + e.Topic
		if e.Partition >= 0 {
			s += "-" + strconv.Itoa(int(e.Partition))
		}
	}
	s += ": " + e.Code.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *BrokerError) Unwrap() error { return e.Code }

// brokerErr returns nil for NoError and a *BrokerError otherwise.
func brokerErr(api protocol.APIKey, code protocol.ErrorCode, topic string, partition int32, msg *string) error {
	if code == protocol.NoError {
		return nil
	}
	e := &BrokerError{API: api, Code: code, Topic: topic, Partition: partition}
	if msg != nil {
		e.Message = *msg
	}
	return e
}

// OffsetOutOfRangeError is what Poll returns when a partition's position
// lies outside the log: below the log start (retention deleted it) or past
// the high watermark. A Consumer leaves the decision to the caller,
// typically Seek, SeekToBeginning or SeekToEnd; a GroupConsumer applies
// its AutoOffsetReset (auto.offset.reset) to the partitions it owns unless
// that is "none". It unwraps to protocol.ErrOffsetOutOfRange.
type OffsetOutOfRangeError struct {
	Topic     string
	Partition int32
	Offset    int64
	// LogStartOffset and HighWatermark bound the valid positions:
	// [LogStartOffset, HighWatermark]. They are -1 if the broker did not
	// say.
	LogStartOffset int64
	HighWatermark  int64
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("fetch %s-%d: offset %d is out of range: valid offsets are [%d, %d]; seek to a valid offset",
		e.Topic, e.Partition, e.Offset, e.LogStartOffset, e.HighWatermark)
}

func (e *OffsetOutOfRangeError) Unwrap() error { return protocol.ErrOffsetOutOfRange }

// netError is a connection failure: dial, write or read. It is ErrNetwork,
// and ErrTimeout too when a deadline caused it.
type netError struct {
	addr    string
	op      string // "dial", "write", "read"
	timeout bool
	err     error
}

func (e *netError) Error() string {
	s := "broker " + e.addr + ": " + e.op
	if e.timeout {
		s += " timed out"
	} else {
		s += " failed"
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *netError) Unwrap() error { return e.err }

func (e *netError) Is(target error) bool {
	return target == ErrNetwork || (e.timeout && target == ErrTimeout)
}

// retriable reports whether a request that failed with err may be sent
// again unchanged: a broken connection, or a code Kafka classes as
// retriable.
func retriable(err error) bool {
	if errors.Is(err, ErrNetwork) {
		return true
	}
	var code protocol.ErrorCode
	return errors.As(err, &code) && code.Retriable()
}

// needsMetadata reports whether err says the client's view of where a
// partition lives is out of date.
func needsMetadata(code protocol.ErrorCode) bool {
	switch code {
	case protocol.ErrUnknownTopicOrPartition, protocol.ErrNotLeaderOrFollower,
		protocol.ErrLeaderNotAvailable, protocol.ErrUnknownTopicID:
		return true
	}
	return false
}
