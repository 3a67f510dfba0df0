package server

import (
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// errorCode is the request layer's code for err (request.CodeOf): the
// native protocol uses Kafka's numbers, so both listeners send the same.
func errorCode(err error) protocol.ErrorCode { return protocol.ErrorCode(request.CodeOf(err)) }

// message is the error text sent beside a code, or nil.
func message(err error) *string { return request.Message(err) }
