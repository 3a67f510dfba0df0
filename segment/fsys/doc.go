// Package fsys is the file-system seam under package segment and package
// index: the few file calls they make, as two small interfaces, so that
// tests can put a disk that fails underneath them.
//
// FS opens, stats and removes files by path; File is one open file: ReadAt,
// WriteAt, Truncate, Allocate (reserve blocks, fallocate), Stat, Datasync
// (fdatasync), Close, and the three calls an index needs to keep its
// entries in a shared memory mapping (Map, Unmap, SyncMap). OS is the real
// file system, a thin wrapper over *os.File and golang.org/x/sys/unix;
// Faulty wraps any FS and fails chosen operations on demand: ENOSPC or EIO
// on the Nth write, on a sync, on a truncate or allocation, short writes,
// optionally only for some paths.
//
// Invariants:
//   - A File's OS method returns the *os.File under it, the same one for
//     the File's life (Faulty's files return their inner file's). Reads and
//     sendfile use it directly: segment.Region hands an *os.File to the
//     listeners, and a read through an interface would make the caller's
//     buffer escape (an allocation per fetch). Whoever takes it must not
//     write, seek or close it; writes, truncation and syncs go through the
//     File, where faults can be injected.
//   - OS adds no allocation to any call and no work beyond an indirect
//     call: its File is the *os.File itself under another type.
//   - Errors are the operating system's, a syscall.Errno mostly wrapped in
//     an *os.PathError, so errors.Is(err, syscall.ENOSPC) holds for real
//     and injected ones alike.
//   - A failing operation changes nothing on disk, except a short write,
//     which writes a prefix of what it was given (as a full disk does)
//     before it fails.
//   - A mapping from Map stays valid after its File is closed (package
//     index closes the descriptor at once), and Unmap and SyncMap act on
//     the mapping alone, so they may be called on the closed File. Nothing
//     may touch bytes of a mapping past the file's end (SIGBUS).
package fsys
