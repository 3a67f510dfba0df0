// Package engine is Sluice's storage engine, usable on its own with no
// server: topics of partitioned, segmented logs of Kafka v2 record batches
// in one data directory.
//
// Layout of a data directory:
//
//	<data>/.lock                  held (flock) while an Engine has it open
//	<data>/.clean-shutdown        present only after a clean Close
//	<data>/meta/                  pebble: topics, their config overrides and
//	                              every partition's recovery point
//	<data>/<topic>-<partition>/   the partition's segments (package segment)
//
// Invariants:
//   - Offsets in a partition are contiguous from the log start offset to the
//     log end offset; batches are stored exactly as appended except for
//     baseOffset (assigned here) and, for LogAppendTime topics, the
//     timestamp fields.
//   - An append either writes all of its batches or none; invalid batches
//     are refused before anything is written.
//   - Readers never see past the high watermark: the log end, or with
//     flush.on.ack the last offset made durable by fdatasync.
//   - Everything below a partition's recovery point is on disk with its
//     indexes. After a crash only segments from the recovery point on are
//     scanned; without a clean-shutdown marker no unscanned tail is trusted.
//   - Retention removes whole segments from the front, never the active one.
//
// Durability follows Kafka: appends land in the page cache; flush.messages
// and flush.ms force fdatasync; and flush.on.ack (Sluice's own topic config)
// makes an append return only after fdatasync, with group commit so that
// concurrent appenders share one sync.
package engine
