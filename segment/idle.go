package segment

import "time"

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
	if s.offsetIdx != nil {
		s.offsetIdx.Close()
		s.timeIdx.Close()
		s.offsetIdx, s.timeIdx = nil, nil
	}
	s.releaseRetired(true)
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
	return true
}
