package segment

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/sluicelog/sluice/index"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// Defaults, with Kafka's names for the matching topic configs.
const (
	DefaultIndexIntervalBytes = 4096             // index.interval.bytes
	DefaultMaxIndexBytes      = 10 * 1024 * 1024 // segment.index.bytes
)

// MaxSegmentBytes is the largest a segment may grow: index entries store
// positions as uint32.
const MaxSegmentBytes = 1<<32 - 1

// Sentinel errors callers branch on.
var (
	// ErrClosed is returned by operations on a closed or deleted segment.
	ErrClosed = errors.New("segment closed")
	// ErrOffsetOrder is returned when an appended batch's base offset is
	// below the segment's next offset.
	ErrOffsetOrder = errors.New("batch offset below segment's next offset")
	// ErrOffsetOutOfRange is returned by Read for an offset past the
	// segment's data.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrFull is returned when a batch would push the segment past
	// MaxSegmentBytes or past its index capacity: the caller should roll.
	ErrFull = errors.New("segment full")
)

// Options tune a segment. The zero value takes the defaults.
type Options struct {
	// IndexIntervalBytes is how many log bytes pass between index entries.
	IndexIntervalBytes int
	// MaxIndexBytes is the preallocated size of the offset index of an
	// active segment; the time index gets 1.5 times as much room.
	MaxIndexBytes int
	// Logger receives recovery reports. Nil discards them.
	Logger *slog.Logger
	// FS is the file system the segment's files live on. Nil is the real
	// one (fsys.OS); tests put an fsys.Faulty here to fail writes, syncs
	// and truncations.
	FS fsys.FS
	// Handles, when set, counts the segment's open log descriptor and
	// index mappings together with those of every segment sharing it.
	Handles *Handles
}

func (o Options) withDefaults() Options {
	if o.IndexIntervalBytes <= 0 {
		o.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if o.MaxIndexBytes <= 0 {
		o.MaxIndexBytes = DefaultMaxIndexBytes
	}
	if o.MaxIndexBytes < 4*index.TimeEntrySize {
		o.MaxIndexBytes = 4 * index.TimeEntrySize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FS == nil {
		o.FS = fsys.OS{}
	}
	return o
}

// Segment is one log file with its indexes. See the package comment for the
// concurrency contract.
type Segment struct {
	dir  string
	base int64
	opts Options

	// size is the length of the valid log; readers never look past it.
	size atomic.Int64
	// next is the offset the next appended batch gets (valid once the
	// segment is active or recovered).
	next atomic.Int64
	// maxTimestamp is the largest batch max timestamp seen (-1 if none
	// known), and offsetOfMaxTimestamp the offset it belongs to.
	maxTimestamp         atomic.Int64
	offsetOfMaxTimestamp atomic.Int64

	// writable is set while the segment takes appends: its indexes, when
	// mapped, are mapped at full size. A writable segment may be parked
	// (see Park).
	writable        bool
	bytesSinceIndex int
	// parked is set while a writable segment lacks its log or indexes
	// (Park gave them back): Append reopens them first. Written under mu;
	// Append loads it without, and sees the files a reopen made.
	parked atomic.Bool
	// unborn is set while a segment made by CreateLazy has no directory
	// or files yet: it is empty and parked, and the reopen that Append
	// runs creates them (see lazy.go). Written under mu.
	unborn atomic.Bool

	// mu guards the lazily opened file and index handles.
	mu        sync.Mutex
	log       fsys.File
	offsetIdx *index.Offset
	timeIdx   *index.Time
	// retired holds index mappings that were replaced while readers may
	// still have been inside them (see dropIndexes).
	retired []indexPair

	// refs counts the owner (1) plus every live Region. Files close when it
	// reaches zero.
	refs atomic.Int64
	// closed is set when the owner gives its reference back (Close or
	// Delete), exactly once; no new reader gets in after that, even while
	// earlier Regions keep the files open.
	closed atomic.Bool
	// lastUsed is when a reader or flusher last took a reference (unix
	// nanoseconds), for CloseIdle.
	lastUsed atomic.Int64
	deleted  atomic.Bool
}

// FileName returns the file name of the segment with base offset base and
// the given suffix (".log", ".index", ".timeindex").
func FileName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// Create makes a new empty segment in dir, ready for appends.
func Create(dir string, base int64, opts Options) (*Segment, error) {
	s := newSegment(dir, base, opts)
	if err := s.createFiles(); err != nil {
		return nil, err
	}
	s.writable = true
	return s, nil
}

// createFiles makes the log (O_EXCL) and maps both indexes at full size.
// A failure leaves no files behind, so that it can be retried: the log is
// its own, and index files of its name are stale. Callers hold s.mu (or
// own s alone).
func (s *Segment) createFiles() error {
	base, fs := s.base, s.opts.FS
	f, err := fs.OpenFile(s.path(".log"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("segment %d: create: %w", base, unavailable(err))
	}
	s.log = f
	s.opts.Handles.fileOpened()
	fail := func(err error) error {
		f.Close()
		s.log = nil
		s.opts.Handles.fileClosed()
		for _, suffix := range []string{".log", ".index", ".timeindex"} {
			fs.Remove(s.path(suffix))
		}
		return err
	}
	// Stale index files of the same name (from a segment that was cut away)
	// would otherwise be taken for this segment's.
	for _, suffix := range []string{".index", ".timeindex"} {
		if err := fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("segment %d: %w", base, err))
		}
	}
	if err := s.openIndexes(true); err != nil {
		return fail(unavailable(err))
	}
	s.next.Store(base)
	return nil
}

// Open opens an existing segment lazily: it records the log size and opens
// nothing else until the segment is read, activated or recovered.
func Open(dir string, base int64, opts Options) (*Segment, error) {
	s := newSegment(dir, base, opts)
	fi, err := s.opts.FS.Stat(s.path(".log"))
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", base, err)
	}
	s.size.Store(fi.Size())
	return s, nil
}

func newSegment(dir string, base int64, opts Options) *Segment {
	s := &Segment{dir: dir, base: base, opts: opts.withDefaults()}
	s.refs.Store(1)
	s.next.Store(base)
	s.maxTimestamp.Store(-1)
	s.offsetOfMaxTimestamp.Store(base)
	s.touch()
	return s
}

func (s *Segment) path(suffix string) string {
	return filepath.Join(s.dir, FileName(s.base, suffix))
}

// Base returns the segment's base offset.
func (s *Segment) Base() int64 { return s.base }

// Size returns the number of valid log bytes.
func (s *Segment) Size() int64 { return s.size.Load() }

// NextOffset returns the offset after the last batch. It is exact for a
// segment that was created, activated or recovered; for a lazily opened
// segment it is the base offset until one of those happens.
func (s *Segment) NextOffset() int64 { return s.next.Load() }

// MaxTimestamp returns the largest timestamp seen in the segment, or -1.
// For a lazily opened segment it reads the time index's last entry, falling
// back to the log file's modification time as Kafka does.
func (s *Segment) MaxTimestamp() (int64, error) {
	if ts := s.maxTimestamp.Load(); ts >= 0 {
		return ts, nil
	}
	if s.Size() == 0 {
		return -1, nil
	}
	e, ok, err := index.ReadLastTimeFS(s.opts.FS, s.path(".timeindex"), s.base)
	if err == nil && ok {
		s.maxTimestamp.CompareAndSwap(-1, e.Timestamp)
		return s.maxTimestamp.Load(), nil
	}
	fi, serr := s.opts.FS.Stat(s.path(".log"))
	if serr != nil {
		return -1, fmt.Errorf("segment %d: %w", s.base, serr)
	}
	return fi.ModTime().UnixMilli(), nil
}

// file returns the log file, opening it on first use. Reads and Regions use
// the *os.File under it; see package fsys.
func (s *Segment) file() (*os.File, error) {
	f, err := s.logFile()
	if err != nil {
		return nil, err
	}
	return f.OS(), nil
}

// logFile returns the log file, opening it on first use.
func (s *Segment) logFile() (fsys.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		return s.log, nil
	}
	if s.refs.Load() == 0 {
		return nil, ErrClosed
	}
	return s.openLog()
}

// indexes returns the mapped indexes, opening (and if need be rebuilding)
// them on first use.
func (s *Segment) indexes() (*index.Offset, *index.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offsetIdx != nil {
		return s.offsetIdx, s.timeIdx, nil
	}
	if s.refs.Load() == 0 {
		return nil, nil, ErrClosed
	}
	// A parked active segment reopens at full size: trimmed, its next
	// append would find the index full and roll.
	if err := s.openIndexes(s.writable); err != nil {
		return nil, nil, err
	}
	s.unparked()
	return s.offsetIdx, s.timeIdx, nil
}

// openIndexes maps both indexes; writable maps them at full preallocated
// size. An index that is missing, fails its sanity check or disagrees with
// the log (see checkIndexes) is deleted and rebuilt from the log. Callers
// hold s.mu (or own s alone).
func (s *Segment) openIndexes(writable bool) error {
	offMax, timeMax := 0, 0
	if writable {
		offMax = s.opts.MaxIndexBytes
		timeMax = s.opts.MaxIndexBytes / 2 * 3
	}
	var err error
	if s.Size() > 0 {
		// An index lost while its log survived would otherwise open as an
		// empty one and leave every lookup to scan the log from the start.
		for _, suffix := range []string{".index", ".timeindex"} {
			if _, serr := s.opts.FS.Stat(s.path(suffix)); errors.Is(serr, os.ErrNotExist) {
				err = fmt.Errorf("%w: %s missing", index.ErrCorrupt, FileName(s.base, suffix))
			}
		}
	}
	var oi *index.Offset
	var ti *index.Time
	if err == nil {
		oi, err = index.OpenOffsetFS(s.opts.FS, s.path(".index"), s.base, offMax)
	}
	if err == nil {
		ti, err = index.OpenTimeFS(s.opts.FS, s.path(".timeindex"), s.base, timeMax)
		if err != nil {
			oi.Close()
		}
	}
	if err == nil {
		if err = s.checkIndexes(oi, ti); err != nil {
			oi.Close()
			ti.Close()
		}
	}
	if err == nil {
		s.offsetIdx, s.timeIdx = oi, ti
		s.opts.Handles.mapped(1)
		return nil
	}
	if !errors.Is(err, index.ErrCorrupt) {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	s.opts.Logger.Warn("rebuilding segment index", "dir", s.dir, "segment", s.base, "reason", err)
	return s.rebuildIndexes(writable)
}

// checkIndexes is what a segment can check of its indexes against the log
// cheaply, in the order a lookup relies on them; any failure matches
// index.ErrCorrupt:
//
//   - the last offset entry lies inside the log and names the base offset of
//     the batch found there (a log cut short after the index was written,
//     or an index that is not this log's, fails here);
//   - the batches after it walk cleanly to the end of the log, and are no
//     more than IndexIntervalBytes would allow without another entry (an
//     index that lost its entries fails here). This walk also finds the
//     next offset, and it reads one interval's worth of batch headers at
//     most, so opening an index stays cheap;
//   - the time index reached the last offset entry's batch's timestamp
//     (when a time entry is due, it is added with the offset entry), and
//     its last entry names an offset below the next one, at the end of a
//     batch that carries that timestamp as its maximum.
//
// Entries before the last are covered by the indexes' own ordering checks.
// Callers hold s.mu (or own s alone).
func (s *Segment) checkIndexes(oi *index.Offset, ti *index.Time) error {
	size := s.Size()
	f, err := s.openLog()
	if err != nil {
		return err
	}
	interval := int64(s.opts.IndexIntervalBytes)
	sc := scanner{f: f.OS(), base: s.base, end: size, minOffset: s.base}
	since := int64(0)
	lastTime, timeOK := ti.Last()
	if last, ok := oi.Last(); ok {
		if last.Position >= size {
			return fmt.Errorf("%w: last offset entry at position %d, log ends at %d", index.ErrCorrupt, last.Position, size)
		}
		sc.pos, sc.minOffset = last.Position, last.Offset
		if !sc.next(false) || sc.hdr.BaseOffset != last.Offset {
			return fmt.Errorf("%w: last offset entry (%d, %d) names no batch: %v", index.ErrCorrupt, last.Offset, last.Position, sc.err)
		}
		if ts := sc.hdr.MaxTimestamp; ts >= 0 && (!timeOK || lastTime.Timestamp < ts) {
			return fmt.Errorf("%w: time index ends below timestamp %d of the batch at offset %d", index.ErrCorrupt, ts, last.Offset)
		}
		since = sc.hdr.Size()
	}
	// An index that filled up stops taking entries, and its segment rolls
	// soon after: its tail may be longer.
	full := oi.Entries() >= s.opts.MaxIndexBytes/index.OffsetEntrySize
	for sc.next(false) {
		if since > interval && !full {
			return fmt.Errorf("%w: no offset entry for the batch at position %d, %d bytes after the last", index.ErrCorrupt, sc.cur, since)
		}
		since += sc.hdr.Size()
	}
	if sc.err != nil {
		return fmt.Errorf("%w: log tail after the last entry: %w", index.ErrCorrupt, sc.err)
	}
	next := sc.minOffset
	if timeOK {
		if lastTime.Offset >= next {
			return fmt.Errorf("%w: last time entry at offset %d, log ends at %d", index.ErrCorrupt, lastTime.Offset, next)
		}
		e := oi.Lookup(lastTime.Offset)
		sc := scanner{f: f.OS(), base: s.base, end: size, pos: e.Position, minOffset: e.Offset}
		for sc.next(false) && sc.hdr.LastOffset() < lastTime.Offset {
		}
		if sc.err != nil || sc.hdr.LastOffset() != lastTime.Offset || sc.hdr.MaxTimestamp != lastTime.Timestamp {
			return fmt.Errorf("%w: last time entry (%d, %d) names no batch", index.ErrCorrupt, lastTime.Timestamp, lastTime.Offset)
		}
	}
	return nil
}

// openLog returns the log file, opening it if need be. Callers hold s.mu.
func (s *Segment) openLog() (fsys.File, error) {
	if s.log == nil {
		f, err := s.opts.FS.OpenFile(s.path(".log"), os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", s.base, err)
		}
		s.log = f
		s.opts.Handles.fileOpened()
	}
	return s.log, nil
}

// rebuildIndexes recreates both indexes from the log's batch headers.
func (s *Segment) rebuildIndexes(writable bool) error {
	for _, suffix := range []string{".index", ".timeindex"} {
		if err := s.opts.FS.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("segment %d: %w", s.base, err)
		}
	}
	oi, err := index.OpenOffsetFS(s.opts.FS, s.path(".index"), s.base, s.opts.MaxIndexBytes)
	if err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	ti, err := index.OpenTimeFS(s.opts.FS, s.path(".timeindex"), s.base, s.opts.MaxIndexBytes/2*3)
	if err != nil {
		oi.Close()
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	s.offsetIdx, s.timeIdx = oi, ti
	s.opts.Handles.mapped(1)
	f, err := s.openLog()
	if err != nil {
		return err
	}
	sc := scanner{f: f.OS(), base: s.base, end: s.Size(), minOffset: s.base}
	s.resetTail()
	for sc.next(false) {
		s.track(&sc.hdr, sc.cur)
	}
	if sc.err != nil || sc.pos != s.Size() {
		// The log itself is damaged below its recorded size: leave the cut
		// to Recover; serve what the scan reached.
		s.opts.Logger.Warn("segment log damaged while rebuilding index", "dir", s.dir, "segment", s.base, "valid", sc.pos, "size", s.Size(), "err", sc.err)
		s.size.Store(sc.pos)
	}
	if !writable {
		s.finishTimeIndex()
		if err := s.trimIndexes(); err != nil {
			return err
		}
	}
	return nil
}

// indexPair is a segment's two indexes, as mapped together.
type indexPair struct {
	offset *index.Offset
	time   *index.Time
}

// dropIndexes lets go of the index mappings before new ones are made. When
// the owner holds the only reference, no reader can be inside them and they
// are closed. Otherwise a reader that took its reference earlier may still
// be searching them, and unmapping would fault it: they stay mapped in
// s.retired, are cut along with the new ones, and are unmapped, without
// trimming the file the new ones use, once no reader is left. Callers hold
// s.mu.
func (s *Segment) dropIndexes() {
	if s.offsetIdx == nil {
		return
	}
	if s.refs.Load() == 1 {
		s.offsetIdx.Close()
		s.timeIdx.Close()
		s.opts.Handles.mapped(-1)
	} else {
		s.retired = append(s.retired, indexPair{s.offsetIdx, s.timeIdx})
	}
	s.offsetIdx, s.timeIdx = nil, nil
}

// releaseRetired unmaps the retired index mappings once no reader holds a
// reference (or unconditionally, when the files close). A reader takes its
// reference before it asks for the indexes under s.mu, so with the owner's
// reference the only one, no reader can still hold a retired mapping.
// Callers hold s.mu.
func (s *Segment) releaseRetired(force bool) error {
	if len(s.retired) == 0 || (!force && s.refs.Load() != 1) {
		return nil
	}
	var errs []error
	for _, p := range s.retired {
		errs = append(errs, p.offset.Unmap(), p.time.Unmap())
	}
	s.opts.Handles.mapped(-int64(len(s.retired)))
	s.retired = nil
	return errors.Join(errs...)
}

// resetTail clears the tracking state before a scan rebuilds it.
func (s *Segment) resetTail() {
	s.offsetIdx.Reset()
	s.timeIdx.Reset()
	s.bytesSinceIndex = 0
	s.next.Store(s.base)
	s.maxTimestamp.Store(-1)
	s.offsetOfMaxTimestamp.Store(s.base)
}

// track updates next offset, max timestamp and the indexes for a batch
// found at position pos (by an append or a scan).
func (s *Segment) track(h *batch.Header, pos int64) {
	if h.MaxTimestamp > s.maxTimestamp.Load() {
		s.maxTimestamp.Store(h.MaxTimestamp)
		s.offsetOfMaxTimestamp.Store(h.LastOffset())
	}
	if s.bytesSinceIndex > s.opts.IndexIntervalBytes {
		// A full index only costs lookup precision; the segment rolls on
		// ErrFull from the append path before that matters.
		if s.offsetIdx.Append(h.BaseOffset, pos) == nil {
			s.appendTimeEntry()
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += int(h.Size())
	s.next.Store(h.NextOffset())
}

// appendTimeEntry records the current max timestamp in the time index if it
// grew since the last entry.
func (s *Segment) appendTimeEntry() {
	ts := s.maxTimestamp.Load()
	if ts < 0 {
		return
	}
	if last, ok := s.timeIdx.Last(); ok && last.Timestamp >= ts {
		return
	}
	_ = s.timeIdx.Append(ts, s.offsetOfMaxTimestamp.Load())
}

// finishTimeIndex makes the time index's last entry carry the segment's max
// timestamp, so retention and ListOffsets see it after a restart (Kafka does
// the same when a segment becomes inactive).
func (s *Segment) finishTimeIndex() {
	if s.timeIdx != nil {
		s.appendTimeEntry()
	}
}

func (s *Segment) trimIndexes() error {
	if err := s.offsetIdx.Trim(); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	if err := s.timeIdx.Trim(); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	return nil
}

// Seal ends appends to the segment (on roll): the time index gets its final
// entry and both indexes are trimmed to their real size.
func (s *Segment) Seal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.writable {
		return nil
	}
	if s.offsetIdx == nil {
		// Parked (or closed): Park gave the time index its final entry
		// and trimmed both; a later read maps them as they are.
		s.writable = false
		s.parked.Store(false)
		return nil
	}
	s.finishTimeIndex()
	s.writable = false
	return errors.Join(s.trimIndexes(), s.releaseRetired(false))
}

// Flush makes the log and its indexes durable: fdatasync on the log, msync
// on the index mappings.
func (s *Segment) Flush() error {
	if err := s.FlushLog(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offsetIdx == nil {
		return nil
	}
	if err := s.offsetIdx.Sync(); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	if err := s.timeIdx.Sync(); err != nil {
		return fmt.Errorf("segment %d: %w", s.base, err)
	}
	return nil
}

// FlushLog makes the log's bytes durable with fdatasync, leaving the
// indexes to the page cache: recovery rebuilds them from the log anyway.
func (s *Segment) FlushLog() error {
	// A reference keeps CloseIdle from closing the file under fdatasync.
	if !s.acquire() {
		return ErrClosed
	}
	defer s.release()
	if s.unborn.Load() {
		return nil // no file yet, so nothing written
	}
	f, err := s.logFile()
	if err != nil {
		// Closed by CloseIdle or Park, and out of descriptors to reopen
		// it: nothing was lost, the data waits in the page cache.
		return unavailable(err)
	}
	if err := f.Datasync(); err != nil {
		return fmt.Errorf("segment %d: fdatasync: %w", s.base, err)
	}
	return nil
}

// acquire takes a reference for a reader; false if the segment is closed.
func (s *Segment) acquire() bool {
	if s.closed.Load() {
		return false
	}
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			s.touch()
			return true
		}
	}
}

// release drops a reference and closes the files with the last one.
func (s *Segment) release() error {
	if s.refs.Add(-1) != 0 {
		return nil
	}
	return s.closeFiles()
}

func (s *Segment) closeFiles() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.offsetIdx != nil {
		if !s.deleted.Load() && s.writable {
			s.finishTimeIndex()
		}
		if s.deleted.Load() {
			// Nothing to trim in an unlinked file.
			errs = append(errs, s.offsetIdx.Unmap(), s.timeIdx.Unmap())
		} else {
			errs = append(errs, s.offsetIdx.Close(), s.timeIdx.Close())
		}
		s.offsetIdx, s.timeIdx = nil, nil
		s.opts.Handles.mapped(-1)
	}
	errs = append(errs, s.releaseRetired(true))
	if s.log != nil {
		errs = append(errs, s.log.Close())
		s.log = nil
		s.opts.Handles.fileClosed()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("segment %d: close: %w", s.base, err)
	}
	return nil
}

// Close releases the owner's reference: the files close now, or when the
// last outstanding Region is released. Indexes are trimmed on close.
// Later calls, and Delete after it, do not release again.
func (s *Segment) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return s.release()
}

// Delete unlinks the segment's files and closes it, as Close does (it may
// follow Close). Readers holding a Region keep reading the unlinked file
// until they release it; new reads get ErrClosed.
func (s *Segment) Delete() error {
	s.deleted.Store(true)
	var errs []error
	for _, suffix := range []string{".log", ".index", ".timeindex"} {
		if err := s.opts.FS.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if s.closed.CompareAndSwap(false, true) {
		errs = append(errs, s.release())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("segment %d: delete: %w", s.base, err)
	}
	return nil
}
