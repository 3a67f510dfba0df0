// Package batch reads and writes Kafka record batches (message format v2,
// magic 2) byte for byte, so that the bytes a producer sends are the bytes
// Sluice stores and the bytes a consumer, kcat, librdkafka or franz-go reads
// back.
//
// # Layout
//
// All integers are big-endian; varint and varlong are Kafka's zigzag
// variable-length encodings of int32 and int64.
//
//	offset size  field
//	     0    8  baseOffset            int64
//	     8    4  batchLength           int32   bytes after this field: total size - 12
//	    12    4  partitionLeaderEpoch  int32
//	    16    1  magic                 int8    always 2
//	    17    4  crc                   uint32  CRC-32C (Castagnoli) of bytes 21..end
//	    21    2  attributes            int16
//	    23    4  lastOffsetDelta       int32
//	    27    8  baseTimestamp         int64   ms since the epoch
//	    35    8  maxTimestamp          int64
//	    43    8  producerId            int64
//	    51    2  producerEpoch         int16
//	    53    4  baseSequence          int32
//	    57    4  recordCount           int32
//	    61       records...            compressed as one blob when the codec is not none
//
// Each record is
//
//	length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//	keyLength varint | key | valueLength varint | value |
//	headerCount varint | (headerKeyLength varint | headerKey | headerValueLength varint | headerValue)...
//
// where length counts the bytes that follow it, and a length of -1 is a null
// key or value (header keys may not be null).
//
// Attribute bits 0-2 hold the codec (0 none, 1 gzip, 2 snappy, 3 lz4,
// 4 zstd), bit 3 the timestamp type (0 create time, 1 log-append time), bit 4
// marks a transactional batch and bit 5 a control batch. Compressed payloads
// use the codecs' standard framings: a gzip member, an LZ4 frame, a zstd
// frame, and snappy either raw or in the xerial framing that Kafka's Java
// client writes (we write xerial and read both).
//
// # Invariants
//
// The CRC leaves out baseOffset, batchLength and partitionLeaderEpoch. That
// is why a broker can assign offsets and stamp the leader epoch by patching
// those fields in place ([SetBaseOffset], [SetPartitionLeaderEpoch]) without
// recomputing the CRC and without decompressing: the stored batch stays the
// producer's bytes. Only [SetLogAppendTime] touches a covered field, and it
// recomputes the CRC as Kafka's broker does.
//
// [Validate] checks everything that can be checked without decompressing
// and without allocating, so the produce path can afford it on every batch:
// exact length, magic, codec, CRC and that recordCount equals
// lastOffsetDelta+1 and is at least one. Producers never send anything else.
//
// A log stores more shapes than producers send: compaction (Kafka's
// cleanup.policy=compact) drops records from a batch but keeps its header's
// baseOffset and lastOffsetDelta, so offsets never move, and it can leave a
// batch with no records at all (Kafka keeps one when it is an idempotent
// producer's last, so the producer's sequence survives). Such a batch has
// 0 <= recordCount <= lastOffsetDelta+1 and records whose offset deltas
// skip the dropped ones. [ValidateStored] makes Validate's checks with that
// count rule; it is for every batch read from a log: recovery, replication,
// fetch responses. [Filterer] writes such batches from stored ones.
//
// The records themselves are checked by [Reader], which a broker does not
// need on the produce path and which accepts what a log stores: each
// record must fill its length exactly, offset deltas must rise within
// lastOffsetDelta, and their number must match recordCount. An empty batch
// carries no payload and is written uncompressed, as Kafka writes it. Every
// validation failure satisfies errors.Is(err, [ErrInvalid]) plus one of the
// specific sentinels.
//
// [Builder], [Reader] and [Filterer] own their buffers and codec state and
// reuse them, so that building, reading and filtering batches costs no
// allocation per record once they are warm. Decompression is bounded
// ([DefaultMaxDecompressedSize]) so that a small batch cannot claim
// unbounded memory.
package batch
