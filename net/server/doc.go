// Package server is the native protocol's listener: the codec and framing
// of Sluice's own protocol (package protocol) over TCP, in front of the
// request layer (net/request), which holds the requests' semantics.
//
// For each request the server decodes the wire message into the request
// layer's values, calls its Handler, and encodes the result; the rules
// (leadership checks, auto-creation, error codes, placement) live in
// net/request, shared with the Kafka listener (net/kafka). Only what is
// the native protocol's own stays here: its framing, FetchContinue offsets
// (a connection remembers where each partition's last fetch ended), and
// the group APIs, which translate to the group coordinator
// (engine/group).
//
// Each connection has a reader goroutine that decodes up to 32 requests
// ahead and a handler that answers them one at a time, in order, so
// responses leave in request order and a producer's pipelined batches land
// in the log in the order it sent them. Produce records stay in the request
// frame on their way to the log; fetch responses are written as the
// protocol's frame around the record bytes, which go from the segment
// files to the socket with sendfile(2) and never through Go's heap. The
// request layer's Produce and Fetch values are the connection's, reused
// from request to request.
//
// Bad input never reaches storage: a frame over socket.request.max.bytes,
// a truncated frame or one too short for a header closes the connection; an
// unknown api key or version gets UNSUPPORTED_VERSION; a malformed body gets
// INVALID_REQUEST; an invalid batch gets its partition's error code while
// the request's other partitions proceed. Each of these is logged.
package server
