// Package protocol is Sluice's native wire protocol: frame layout, one Go
// type per request and per response with a symmetric encoder and decoder,
// the error codes, and the framing of zero-copy Fetch responses. The broker
// (net/server) and the Go client (net/client) are both written against it;
// docs/PROTOCOL.md describes the same protocol for people writing clients in
// other languages.
//
// # Frames
//
// Over TCP, big-endian:
//
//	request:  length uint32 | apiKey uint16 | version uint16 | correlationId uint32 | body
//	response: length uint32 | correlationId uint32 | body
//
// length counts the bytes after itself. Many requests may be in flight on
// one connection; the broker answers them in the order they arrived, and
// the correlation id ties each response to its request. API keys are
// Kafka's (Produce 0, Fetch 1, ...), all at version 0 for now.
//
// Every response body starts with an int16 error code for the request as a
// whole, then the API's fields. A body of just that code decodes into any
// response type with every other field zero; that is how a broker answers a
// request whose key or version it does not implement (UNSUPPORTED_VERSION)
// or whose body does not decode (INVALID_REQUEST), and it lets a client read
// any response's top-level error the same way ([Response.TopError]).
//
// # Primitives
//
//	int8, int16, int32, int64   two's complement, big-endian
//	bool                        int8: 0 false, 1 true, anything else is malformed
//	string                      int16 length, then that many bytes; -1 is null (nullable fields only)
//	bytes                       int32 length, then that many bytes; -1 is null
//	array                       int32 count, then the elements; -1 is null (nullable fields only)
//	uuid                        16 bytes
//
// In Go a null string is a nil *string (Go 1.26's new("value") makes a
// non-nil one), null bytes are a nil []byte, and a null array is a nil
// slice. For arrays that are not nullable, nil and empty encode alike (count
// 0) and decode as nil; for nullable ones (Metadata's topics, DescribeConfigs'
// config names) nil is null and an empty, non-nil slice is empty.
//
// # Invariants
//
//   - For every message m, decoding m.AppendTo(nil) yields m again, with the
//     one exception above (an empty non-nullable array comes back nil).
//   - DecodeFrom accepts exactly one encoding and nothing else: it fails,
//     wrapping ErrMalformed, on a length past the end, a null where none is
//     allowed, a bool other than 0 or 1, or bytes left after the last
//     field. It never panics.
//   - Decoders check every length against the bytes left before allocating;
//     an array's count must fit at the smallest size of its element, so a
//     claimed count of 2^31 with ten bytes left fails at once. What a
//     decoder allocates is bounded by a small multiple of its input.
//   - Record bytes (Produce and Fetch) are never copied: a decoded message's
//     Records is a sub-slice of the body, capped so that appending to it
//     cannot overwrite what follows. It is valid as long as the frame
//     buffer is, so a server must not reuse a frame buffer while a request
//     decoded from it is still being served.
//   - Encoders never fail. A string longer than MaxStringLen is cut to that
//     length, since the wire cannot say more; validate names first.
//
// # Zero-copy fetch
//
// A broker sends Fetch records from segment files with sendfile(2), so they
// never enter the Go heap. It leaves FetchResponsePartition.Records nil and
// sets RecordsLen; [AppendFetchResponseFrame] encodes everything else,
// length prefixes included, and returns a [Splice] for each run of records
// the broker must write between the pieces of the frame.
//
// # Naming
//
// Each API has a request and a response type named after it
// (ProduceRequest, ProduceResponse); the structs nested in them are named
// after the message and the field, singular (ProduceRequestTopic,
// ProduceRequestPartition, MetadataResponseBroker). Field names follow
// Kafka's, with Go's initialisms (TopicID, ISR).
//
// # Adding an API or a version
//
// Write the two types in a file of their own (or beside related APIs),
// each with Key, AppendTo and DecodeFrom built from the primitives in
// primitives.go, add them to NewRequest, NewResponse and supportedAPIs,
// give every nested array's element a minimum size (checked by the tests),
// and add a round trip, a golden layout if the message is hot, and seeds
// for the fuzz targets in fuzz/protocol_test.go.
package protocol
