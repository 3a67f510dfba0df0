// Package index holds the two sparse indexes of one log segment: the offset
// index, which maps an offset to the file position of the batch that holds it,
// and the time index, which maps a timestamp to the first offset at which the
// segment's largest timestamp reached it. Both are flat files of fixed-size
// big-endian entries, mapped into memory so a lookup is a few loads, and both
// are sparse: the segment adds an entry every index.interval.bytes of log, and
// a reader finishes the job by scanning batch headers forward from the answer.
//
// # Byte layouts
//
// Offsets are stored relative to the segment's base offset so that an entry
// stays small; a segment therefore spans at most 2^32 offsets and 4 GiB of log.
//
//	offset index entry, OffsetEntrySize = 8 bytes:
//	  0  relative offset  uint32  offset - base
//	  4  file position    uint32  byte position of the batch in the .log file
//
//	time index entry, TimeEntrySize = 12 bytes:
//	  0  timestamp        int64   milliseconds since the Unix epoch, >= 0
//	  8  relative offset  uint32  offset - base
//
// # Invariants
//
// In the offset index both fields strictly increase from one entry to the
// next. In the time index timestamps strictly increase (the segment appends
// only when its largest timestamp grows) and relative offsets never decrease.
// Timestamps are never negative: Kafka's "no timestamp" is -1 and never grows
// a segment's largest timestamp, so it never reaches the index.
//
// # Preallocation and the end of the entries
//
// The active segment's indexes are mapped at their maximum size, but their
// files are allocated (fallocate, or ftruncate where the file system cannot
// reserve blocks) a chunk at a time, 64 KiB to 1 MiB ahead of the last
// entry: an idle active segment costs a few blocks of disk, not megabytes.
// No entry is ever stored past the allocated end, since a store into a
// mapped page that the file does not back faults with SIGBUS, which kills
// the process. Append grows the file first, and a failed allocation (a full
// disk) is an error it returns, as is one from Reserve, which a writer
// calls before it commits to anything. When the segment rolls, Trim cuts
// the file to entries*size.
//
// The descriptor an index was opened with is closed once the file is
// mapped (the mapping stays valid without it), so an open index costs a
// mapping and no descriptor; growing and trimming reopen the file by path,
// and leave alone a file that is no longer the one mapped.
//
// A broker that crashes leaves the file untrimmed, with a run of zero
// bytes after the last entry, so Open finds the end by itself:
//
//   - The entries end at the first all-zero entry, except that entry 0 may
//     legitimately be all zero (offset index: relative offset 0 at position
//     0; time index: timestamp 0 at the base offset). Entry 0 counts when
//     entry 1 is not all zero. A lone all-zero entry 0 is read as "no
//     entries", which loses nothing: every Lookup answers it with the same
//     value it returns for an empty index.
//   - Every byte after the end must be zero.
//
// Every call on the files goes through a fsys.FS (OpenOffsetFS, OpenTimeFS,
// ReadLastTimeFS; the plain functions use the real file system), and so do
// the mapping calls: tests can fail the preallocation with ENOSPC or an
// msync with EIO.
//
// # Sanity check
//
// Open checks the whole file: its size must be a multiple of the entry size,
// the entries must keep the invariants above, and the area after the end
// must be zero. Any failure returns an error matching ErrCorrupt; the
// segment then deletes the file and rebuilds it from the log. A missing or
// empty file is an empty index.
//
// # Lookups
//
// Readers that keep up with the log look near its end, and the writer appends
// there, so the last few KiB of an index stay in the page cache while the
// rest may go cold. Lookup therefore first checks whether the target falls
// in the last 8 KiB of entries and searches only those when it does; only
// older targets pay for a binary search over the whole file, whose probes
// would otherwise fault in cold pages on every lookup as the index grows.
// Lookup and Append allocate nothing.
//
// # Concurrency
//
// An index has one writer, the segment's appender, which holds the segment's
// lock around Append, TruncateTo, Reset, Trim, Sync, Close and Unmap, and any
// number of readers calling Lookup, Entries, Last, Entry, Base and Path
// without that lock. Append stores the entry's bytes and then publishes the
// new count atomically; a reader loads the count once and reads only entries
// below it, which the writer never changes again while appending.
//
// Readers may run during Append, Trim and Sync: Trim shrinks the file to its
// entries but keeps the mapping, so every byte a reader may touch stays
// backed by the file. They may also run during TruncateTo and Reset, which
// lower the count before they zero the dropped entries, and bump a cut
// counter before and after. A reader that loaded the count before may find
// a dropped entry as it was, zeroed or half zeroed, so Lookup and
// LookupPosition read the cut counter before and after they search and,
// when a cut overlapped, answer "none" (the base offset at position 0):
// always a correct place to start a scan of the log, only a slower one.
// Entry and Last do not check; the segment calls them only as the writer.
// Close and Unmap unmap the entries (a reader touching an unmapped page
// faults), so the caller must make sure no reader is inside the index while
// they run. After Close, readers see an empty index.
package index
