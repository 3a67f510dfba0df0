// Package serde turns record keys and values into bytes and back, with the
// byte layouts of Kafka's serializers, so that records interoperate with
// Java, librdkafka and Confluent clients. The bytes are a record's Key or
// Value as they are: client.Record's (package net/client) or a franz-go
// kgo.Record's alike.
//
// # Byte layouts
//
//	string   the UTF-8 bytes (StringSerializer); not validated on decode
//	int32    4 bytes, big-endian two's complement (IntegerSerializer)
//	int64    8 bytes, big-endian two's complement (LongSerializer)
//	float64  8 bytes, big-endian IEEE 754 (DoubleSerializer); every NaN is
//	         written as 0x7ff8000000000000, as Java's doubleToLongBits does,
//	         so equal keys have equal bytes and so equal partitions
//	bytes    the bytes (ByteArraySerializer)
//	Avro     Confluent's wire format:
//	         byte 0      magic byte, 0
//	         bytes 1-4   the writer schema's registry id, big-endian
//	         bytes 5-    the value in Avro's binary encoding
//
// Null is nil, as in Kafka: a nil Key or Value is null (for a value, a
// tombstone). Encoders never return nil for a value, an empty string
// included, so an empty value is never taken for a null one; decoders
// return ErrNull for nil input, so a tombstone is never read as a zero.
//
// # Allocation
//
// Every encoder has an Append form that writes into the caller's buffer
// and allocates nothing of its own when the buffer has room; the Encode
// forms allocate the result exactly once. Fixed-width decoders allocate
// nothing; DecodeString allocates its string. [AvroSerializer.Append]
// encodes into a pooled hamba/avro Writer, then copies into dst: what
// allocates is hamba's encoder itself (see BenchmarkAvro*).
//
// # Avro and the registry
//
// An [AvroSerializer] gets its schema's id from the registry on first use,
// registering the schema under its subject or looking it up, and keeps it;
// an [AvroDeserializer] fetches the writer schema of each id it meets and
// keeps it, resolved against its reader schema (Avro's schema evolution:
// fields the reader lacks are skipped, fields the writer lacks take the
// reader's default, numbers are promoted). A registry never reuses an id
// for another schema, so neither cache is ever invalidated, and a warm
// serializer or deserializer never calls the registry. Subjects follow
// Kafka's TopicNameStrategy: [ValueSubject] and [KeySubject].
//
// Decoding bytes never panics or hangs on any input: a wrong magic byte,
// input shorter than the header, an id the registry does not know, an Avro
// body that does not decode all give errors that wrap this package's
// sentinels (ErrMagicByte, ErrShortInput, ErrUnknownSchema, ErrDecode,
// ...). To that end an Avro body is first walked against its writer's
// schema, in time bounded by its length and without allocating, and must
// be exactly one value: hamba/avro trusts the block counts of arrays and
// maps, and takes a body cut short inside a number for a whole one.
//
// All functions, AvroSerializer and AvroDeserializer are safe for
// concurrent use.
package serde
