package segment

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Idle handles: a partition may hold thousands of segments, and each open
// one costs a file descriptor and two mappings (Linux allows 65,530 mappings
// per process by default). Segments open lazily on first read; CloseIdle
// lets the owner give the handles of sealed segments back once readers have
// moved on. They reopen on the next read.

// touch records a use, for CloseIdle.
func (s *Segment) touch() { s.lastUsed.Store(time.Now().UnixNano()) }

// HasOpenFiles reports whether the log file or the index mappings are open.
func (s *Segment) HasOpenFiles() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log != nil || s.offsetIdx != nil
}

// CloseIdle closes the log file and unmaps the indexes if the segment is
// sealed, no reader holds a Region of it, and it was last used before
// unusedSince. It reports whether it closed anything.
//
// A reader takes its reference before it asks for the file or the indexes,
// and asks under s.mu; CloseIdle checks the reference count under s.mu. So
// either the reader's reference is seen here and nothing is closed, or the
// reader waits for s.mu and reopens what was closed.
func (s *Segment) CloseIdle(unusedSince time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writable || s.closed.Load() || (s.log == nil && s.offsetIdx == nil) {
		return false
	}
	if s.refs.Load() != 1 || s.lastUsed.Load() >= unusedSince.UnixNano() {
		return false
	}
	s.closeHandles()
	return true
}

// closeHandles closes the log file and unmaps the indexes (trimming them)
// and any retired mappings. Callers hold s.mu and know that no reader is
// inside (refs == 1). Errors are the trims' and closes', which lose
// nothing: the mappings and the descriptor are gone either way.
func (s *Segment) closeHandles() error {
	var errs []error
	if s.offsetIdx != nil {
		errs = append(errs, s.offsetIdx.Close(), s.timeIdx.Close())
		s.offsetIdx, s.timeIdx = nil, nil
		s.opts.Handles.mapped(-1)
	}
	errs = append(errs, s.releaseRetired(true))
	if s.log != nil {
		errs = append(errs, s.log.Close())
		s.log = nil
		s.opts.Handles.fileClosed()
	}
	return errors.Join(errs...)
}

// ErrUnavailable means a segment could not open or grow its files for want
// of a resource (descriptors, mappings, memory or disk space: EMFILE,
// ENFILE, ENOMEM, ENOSPC, EDQUOT). Nothing was written and the segment is
// as it was, so the call may be retried once the resource is back; it is
// no sign of damage. It wraps the cause.
var ErrUnavailable = errors.New("segment files unavailable")

// unavailable wraps err with ErrUnavailable when it is a resource
// shortage, and returns it as it is otherwise.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.ENOSPC, syscall.EDQUOT} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return err
}

// Parking: an active segment that nobody appends to or reads can give its
// log descriptor and index mappings back, as sealed segments do with
// CloseIdle, so that a broker with many idle partitions holds handles only
// for the ones in use. The segment stays the partition's active one and
// stays writable; Append reopens what Park closed (under s.mu), and so do
// reads, which map the indexes at full size again since the segment takes
// appends.

// Park trims the indexes of an active segment, giving the time index its
// final entry first (as Seal and Close do, so that a read or a restart
// sees the segment's max timestamp), unmaps them and closes the log. It
// does nothing, reporting false, when the segment is sealed, closed,
// already parked, or a reader holds a Region of it (its file goes to
// sendfile outside any lock, and closing it could let the descriptor be
// reused under the reader). The caller must exclude Append, TruncateTo
// and the other writers (the partition holds its lock); readers may run.
// The data is not synced: the caller flushes first if it wants it durable.
// A trim that fails leaves the segment open and reports the error.
func (s *Segment) Park() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.writable || s.closed.Load() || (s.log == nil && s.offsetIdx == nil) || s.refs.Load() != 1 {
		return false, nil
	}
	if s.offsetIdx != nil {
		if err := s.timeIdx.Reserve(1); err != nil {
			return false, fmt.Errorf("segment %d: park: %w", s.base, unavailable(err))
		}
		s.finishTimeIndex()
		if err := s.trimIndexes(); err != nil {
			return false, fmt.Errorf("segment %d: park: %w", s.base, err)
		}
	}
	s.parked.Store(true)
	return true, s.closeHandles()
}

// Parked reports whether the segment is an active one whose log or indexes
// Park closed and nothing has reopened yet.
func (s *Segment) Parked() bool { return s.parked.Load() }

// LastUsed returns when a reader, flusher or appender last used the
// segment.
func (s *Segment) LastUsed() time.Time { return time.Unix(0, s.lastUsed.Load()) }

// unpark reopens what Park closed, for Append. A failure for want of a
// resource matches ErrUnavailable.
func (s *Segment) unpark() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.parked.Load() {
		return nil
	}
	if s.unborn.Load() {
		if err := s.materialize(); err != nil {
			return fmt.Errorf("segment %d: create: %w", s.base, unavailable(err))
		}
		s.unparked()
		return nil
	}
	if _, err := s.openLog(); err != nil {
		return fmt.Errorf("segment %d: reopen: %w", s.base, unavailable(err))
	}
	if s.offsetIdx == nil {
		if err := s.openIndexes(true); err != nil {
			return fmt.Errorf("segment %d: reopen: %w", s.base, unavailable(err))
		}
	}
	s.unparked()
	return nil
}

// unparked clears parked once a writable segment has its log and indexes
// again. Callers hold s.mu.
func (s *Segment) unparked() {
	if s.writable && s.log != nil && s.offsetIdx != nil {
		s.parked.Store(false)
	}
}
