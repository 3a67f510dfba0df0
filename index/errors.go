package index

import "errors"

// Errors returned by this package. They are wrapped with the file's path and
// details where that helps a reader of the log, so test them with errors.Is.
var (
	// ErrCorrupt means an index file failed its sanity check on open. The
	// caller should delete the file and rebuild the index from the log.
	ErrCorrupt = errors.New("index: corrupt")

	// ErrFull means the preallocated space (or, after Trim, the file) has no
	// room for another entry: the segment should roll. Append returns it
	// unwrapped, since it is a routine signal on the hot path.
	ErrFull = errors.New("index: full")

	// ErrNotMonotonic means Append was given an entry that is not past the
	// last one.
	ErrNotMonotonic = errors.New("index: entry not past the last one")

	// ErrRange means a value does not fit the entry layout: an offset before
	// the base or more than 2^32-1 past it, a position past 4 GiB, or a
	// negative timestamp.
	ErrRange = errors.New("index: value out of range")

	// ErrClosed means the index was used after Close.
	ErrClosed = errors.New("index: closed")
)
