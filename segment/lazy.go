package segment

import "os"

// Lazy segments: a broker with a hundred thousand partitions cannot afford
// to create, open or even check each one's files when it makes or opens
// them, since most sit idle.
//
//   - CreateLazy makes an active segment that is "unborn": empty, parked,
//     and without a directory or files. Reads of it answer from its size
//     (zero) and touch no file; the first Append creates the directory
//     and files, as Create would, through the reopen every parked segment
//     runs. A crash before that leaves nothing on disk.
//   - Resume makes a segment opened lazily (Open) the active one again
//     from the State it had when it was parked or closed, opening nothing:
//     the caller vouches that the log is as it was then (its size says
//     so), typically from a checkpoint written with the recovery point.

// State is what an active segment knows of its tail beyond what its size
// says: enough for Resume to take appends without walking the log.
type State struct {
	// Size is the log's length.
	Size int64
	// NextOffset is the offset the next batch gets.
	NextOffset int64
	// MaxTimestamp and OffsetOfMaxTimestamp are the largest batch max
	// timestamp (-1 if none) and the offset it belongs to.
	MaxTimestamp         int64
	OffsetOfMaxTimestamp int64
	// SinceIndex is how many log bytes follow the last offset index entry,
	// so that appends after Resume keep the index as dense as before.
	SinceIndex int64
}

// CreateLazy returns a new, empty active segment whose directory and files
// are made by its first Append (see Unborn). It does no I/O.
func CreateLazy(dir string, base int64, opts Options) *Segment {
	s := newSegment(dir, base, opts)
	s.writable = true
	s.unborn.Store(true)
	s.parked.Store(true)
	return s
}

// Unborn reports whether the segment came from CreateLazy and no Append
// has made its files yet.
func (s *Segment) Unborn() bool { return s.unborn.Load() }

// materialize makes an unborn segment's directory and files. Callers hold
// s.mu.
func (s *Segment) materialize() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := s.createFiles(); err != nil {
		return err
	}
	s.unborn.Store(false)
	return nil
}

// Resume makes a segment opened by Open the active one without opening
// anything, from st: it becomes writable and parked, with st's next
// offset, max timestamp and index spacing, and the next Append or read
// opens its files (checking the indexes' tail against the log, as any
// reopen does). It reports false, changing nothing, when the log's size is
// not st.Size, or the segment is already open or active: the caller then
// activates or recovers it instead.
func (s *Segment) Resume(st State) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writable || s.log != nil || s.offsetIdx != nil || s.closed.Load() ||
		st.Size != s.Size() || st.NextOffset < s.base || (st.Size == 0) != (st.NextOffset == s.base) {
		return false
	}
	s.next.Store(st.NextOffset)
	s.maxTimestamp.Store(st.MaxTimestamp)
	s.offsetOfMaxTimestamp.Store(st.OffsetOfMaxTimestamp)
	s.bytesSinceIndex = int(st.SinceIndex)
	s.writable = true
	s.parked.Store(true)
	return true
}

// State returns the segment's tail state, for Resume after a restart. The
// caller excludes Append and the other writers, as for Park.
func (s *Segment) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return State{
		Size:                 s.Size(),
		NextOffset:           s.next.Load(),
		MaxTimestamp:         s.maxTimestamp.Load(),
		OffsetOfMaxTimestamp: s.offsetOfMaxTimestamp.Load(),
		SinceIndex:           int64(s.bytesSinceIndex),
	}
}
