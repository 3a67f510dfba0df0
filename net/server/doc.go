// Package server answers Sluice's native protocol (package protocol) over
// TCP for one storage engine.
//
// Each connection has a reader goroutine that decodes up to 32 requests
// ahead and a handler that answers them one at a time, in order, so
// responses leave in request order and a producer's pipelined batches land
// in the log in the order it sent them. Fetch responses are written as the
// protocol's frame around the record bytes, which go from the segment files
// to the socket with sendfile(2) and never through Go's heap.
//
// Bad input never reaches storage: a frame over socket.request.max.bytes,
// a truncated frame or one too short for a header closes the connection; an
// unknown api key or version gets UNSUPPORTED_VERSION; a malformed body gets
// INVALID_REQUEST; an invalid batch gets its partition's error code while
// the request's other partitions proceed. Each of these is logged.
package server
