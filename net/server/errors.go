package server

import (
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// errorCode is the request layer's code for err (request.CodeOf): the
// native protocol uses Kafka's numbers, so both listeners send the same,
// with one exception kept for the native clients of today.
//
// A batch from a producer the partition has no state for is
// UNKNOWN_PRODUCER_ID to Kafka clients; the engine's error is also
// OUT_OF_ORDER_SEQUENCE_NUMBER (engine.ErrUnknownProducerID comes wrapped
// with engine.ErrOutOfOrderSequence), and that is the code the native
// client (net/client) answers by bumping its epoch. It stays so on this
// listener until net/client knows UNKNOWN_PRODUCER_ID.
func errorCode(err error) protocol.ErrorCode {
	code := request.CodeOf(err)
	if code == request.UnknownProducerID {
		code = request.OutOfOrderSequenceNumber
	}
	return protocol.ErrorCode(code)
}

// message is the error text sent beside a code, or nil.
func message(err error) *string { return request.Message(err) }
