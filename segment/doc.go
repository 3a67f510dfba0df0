// Package segment owns one log segment of a partition: an append-only file of
// Kafka v2 record batches plus its sparse offset index and time index.
//
// Files, named by the segment's base offset in 20 digits:
//
//	00000000000000000000.log        record batches, back to back, as received
//	00000000000000000000.index      8-byte entries: relative offset, position
//	00000000000000000000.timeindex  12-byte entries: timestamp, relative offset
//
// Invariants:
//   - The log holds whole batches only, from position 0 to Size(); offsets
//     grow strictly from batch to batch. Bytes past Size() (a torn write) are
//     never served and are cut by Recover.
//   - An index entry is added after every IndexIntervalBytes of log; it points
//     at the start of a batch and names that batch's base offset. Indexes are
//     hints: a missing or corrupt one is rebuilt from the log, never trusted.
//   - One writer at a time (the partition holds its lock around Append, Seal,
//     Recover and Activate); any number of concurrent readers (Read,
//     OffsetForTimestamp). Readers see only bytes below Size(), which is
//     published after the write completes.
//   - Files stay open while a Region handed to a reader is live: Delete unlinks
//     the files at once but closes them only after the last Region is released.
//
// Segments of a partition that are not being written are opened lazily: Open
// only records the file size; the log file descriptor and the index mappings
// are made on first read, so a partition with thousands of segments opens in
// milliseconds.
package segment
