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
//	<data>/<topic>-<partition>/   the partition's segments (package segment);
//	                              made by its first append, so a partition
//	                              never written to has none
//	    leader-epoch-checkpoint   replicated partitions: which leader epoch
//	                              wrote the log from which offset (Kafka's file)
//
// Invariants:
//   - Offsets in a partition are contiguous from the log start offset to the
//     log end offset; batches are stored exactly as appended except for
//     baseOffset (assigned here) and, for LogAppendTime topics, the
//     timestamp fields.
//   - An append either writes all of its batches or none; invalid batches
//     are refused before anything is written.
//   - Readers never see past the high watermark: on a single node the log
//     end, or with flush.on.ack the last offset made durable by fdatasync;
//     on a replica of a cluster (Options.Replicated) whatever the replication
//     layer sets, never past the log end and never backwards except when a
//     truncation cuts the log below it. Offsets between the high watermark
//     and the log end read as empty, not out of range.
//   - A replica's leader-epoch history knows every epoch its log holds: a
//     new epoch is checkpointed before the first batch carrying it is
//     written, and entries past the log end are dropped at open and on
//     truncation.
//   - A storage error (write, sync, truncate) takes the partition offline
//     (ErrStorage) for good: nothing written after it is acknowledged or
//     read, and the broker is told (Options.OnStorageError).
//   - Everything below a partition's recovery point is on disk with its
//     indexes. After a crash only the log from the recovery point on is
//     scanned (from its position, when it was stored with one); without a
//     clean-shutdown marker no unscanned tail is trusted, except an active
//     segment whose recovery point carries its state (stored when it was
//     parked or closed, flushed) and whose size still matches: it is
//     resumed without being opened.
//   - Retention removes whole segments from the front, never the active one.
//
// Durability follows Kafka: appends land in the page cache; flush.messages
// and flush.ms force fdatasync; and flush.on.ack (Sluice's own topic config)
// makes an append return only after fdatasync, with group commit so that
// concurrent appenders share one sync.
package engine
