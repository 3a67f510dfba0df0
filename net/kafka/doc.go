// Package kafka is the Kafka protocol's listener: the codec and framing of
// the Kafka wire protocol over TCP, in front of the request layer
// (net/request), so that every Kafka client (franz-go, librdkafka and
// kcat, the Java client) can use a Sluice broker as it is.
//
// For each request the server decodes the wire message with franz-go's
// kmsg package into the request layer's values, calls its Handler, and
// encodes the result: the rules (leadership checks, auto-creation, error
// codes, placement) live in net/request, shared with the native listener
// (net/server). What stays here is the Kafka protocol's own: versions
// (versions.go), headers and framing, and the group APIs, which go to a
// Groups implementation (kgroup). The only bytes written by hand are the
// frame and header around each response and the framing of Fetch
// responses, whose record bytes go from the segment files to the socket
// with sendfile(2) (fetchframe.go).
//
// Each connection has a reader goroutine that decodes requests ahead into a
// bounded queue and a handler that answers them one at a time, in order,
// as Kafka does: responses leave in request order, and a producer's
// pipelined batches land in the log in the order it sent them.
//
// Invariants:
//   - Records are stored as they arrived (Kafka v2 batches, validated by the
//     engine without decompressing) and served back unchanged.
//   - ApiVersions advertises exactly the APIs and versions this package
//     answers (versions.go); the group APIs appear only once a Groups
//     implementation is configured.
//   - Bad input never reaches storage and never stops the listener: a frame
//     over socket.request.max.bytes, a truncated frame, a header that does
//     not parse, an API key Kafka does not define or a version newer than
//     kmsg knows closes the connection; a known API at a version this
//     broker does not answer gets UNSUPPORTED_VERSION; a body that does not
//     decode closes the connection, as Kafka does. Other connections are
//     unaffected.
//   - Errors carry Kafka's error codes from the request layer's one table
//     (request.CodeOf), so clients retry or fail as they would against
//     Kafka, and a native client gets the same code for the same failure.
package kafka
