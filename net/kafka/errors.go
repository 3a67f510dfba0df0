package kafka

import "github.com/sluicelog/sluice/net/request"

// errorCode is the request layer's code for err (request.CodeOf), so
// clients retry or fail as they would against Kafka, and a native client
// gets the same code.
func errorCode(err error) int16 { return int16(request.CodeOf(err)) }

// errorMessage is the text sent beside a code, or nil.
func errorMessage(err error) *string { return request.Message(err) }
