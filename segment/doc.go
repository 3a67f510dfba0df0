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
//   - Offsets may have gaps: a compacted segment holds batches that keep
//     their offset range with fewer records, or none, and lacks batches
//     that lost every record (batch.ValidateStored). A read for an offset
//     no record holds starts at the batch whose range holds it or, between
//     batches, at the next batch.
//   - An index entry is added after every IndexIntervalBytes of log; it points
//     at the start of a batch and names that batch's base offset. Indexes are
//     hints: a missing or corrupt one, or one that disagrees with the log
//     (last entry past the end or not at a batch, entries missing), is
//     rebuilt from the log, never trusted.
//   - Offsets of a segment stay within [base, base+2^32-1] and the log within
//     MaxSegmentBytes, what index entries can express; Append answers
//     ErrFull beyond, and Recover cuts batches that are not.
//   - One writer at a time (the partition holds its lock around Append, Seal,
//     TruncateTo, Recover and Activate); any number of concurrent readers
//     (Read, OffsetForTimestamp, Headers) alongside Append, Seal and
//     TruncateTo. Readers see only bytes below Size(), which is published
//     after the write completes and lowered before a cut. Recover and
//     Activate remap the indexes and may cut the log, so they run before
//     the segment is offered to readers.
//   - Files stay open while a Region handed to a reader is live: Delete unlinks
//     the files at once but closes them only after the last Region is released.
//
// Every file call goes through Options.FS (package fsys): the real file
// system by default, a failing one in tests. Writes, truncations and syncs
// go through its File; reads and the Regions handed to sendfile use the
// *os.File under it, so the read path costs what it did without the seam.
// A failed Append leaves the segment as it was (the file is cut back; if
// even that fails, the bytes past Size are never served and Recover or
// TruncateTo cuts them); a failed FlushLog or Flush reports the error and
// leaves deciding what the data is worth to the caller.
//
// Segments of a partition that are not being written are opened lazily: Open
// only records the file size; the log file descriptor and the index mappings
// are made on first read, so a partition with thousands of segments opens in
// milliseconds. CloseIdle gives a sealed segment's handles back; Park does the
// same for an idle active segment, which stays writable and reopens on the
// next append or read. An open segment holds one descriptor (its log) and
// two mappings: the indexes close their descriptors once mapped.
package segment
