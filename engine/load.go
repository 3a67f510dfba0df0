package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// partitionDir is where a partition's segments live: <data>/<topic>-<id>.
func partitionDir(dataDir, topic string, id int32) string {
	return filepath.Join(dataDir, fmt.Sprintf("%s-%d", topic, id))
}

// listSegments returns the base offsets of the .log files in dir, sorted,
// and removes index files that have no log beside them.
func listSegments(dir string) ([]int64, error) {
	// File.ReadDir does not sort; with 30,000 names that matters, and the
	// offsets are sorted below anyway.
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	logs := map[int64]bool{}
	var orphans []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		base, err := strconv.ParseInt(strings.TrimSuffix(name, ext), 10, 64)
		if err != nil || base < 0 || len(name)-len(ext) != 20 {
			continue
		}
		switch ext {
		case ".log":
			logs[base] = true
		case ".index", ".timeindex":
			orphans = append(orphans, name)
		}
	}
	for _, name := range orphans {
		ext := filepath.Ext(name)
		base, _ := strconv.ParseInt(strings.TrimSuffix(name, ext), 10, 64)
		if !logs[base] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// openPartition opens a partition's log, opening as few files as it can.
// A partition that was never appended to has no directory (its topic's
// create made none, see createPartition) and opens as empty and unborn. An
// active segment whose recovery point carries its state, and whose size
// still matches it, is resumed parked: nothing is opened or scanned, after
// a clean shutdown or a crash alike, since everything in it was flushed.
// Otherwise, after a clean shutdown only the active segment is activated;
// after a crash, the segments from the one holding the recovery point on
// are validated and cut at the first bad batch, and segments after a cut
// are deleted, since offsets must stay contiguous.
func (e *Engine) openPartition(t *topic, id int32, clean bool) (*Partition, error) {
	name := t.name
	p := e.newPartition(t, id)
	cfg := t.cfg.Load()
	opts := p.segmentOptions(cfg)
	// A cleaning a crash interrupted is finished or dropped first.
	if err := finishSwaps(p.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s-%d: %w", name, id, err)
	}
	bases, err := listSegments(p.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s-%d: %w", name, id, err)
	}
	var segs []*segment.Segment
	closeAll := func() {
		for _, s := range segs {
			s.Close()
		}
	}
	if len(bases) == 0 {
		segs = append(segs, segment.CreateLazy(p.dir, 0, opts))
	}
	for _, b := range bases {
		s, err := segment.Open(p.dir, b, opts)
		if err != nil {
			closeAll()
			return nil, err
		}
		segs = append(segs, s)
	}
	rs, err := e.meta.recoveryState(name, id)
	if err != nil {
		closeAll()
		return nil, err
	}
	rp := rs.offset
	if len(bases) > 0 {
		last := segs[len(segs)-1]
		switch {
		case rs.resume && rs.segBase == last.Base() && last.Resume(rs.seg):
			p.recovered.resumed = true
		case clean:
			if err := last.Activate(); err != nil {
				closeAll()
				return nil, err
			}
			p.recovered.segmentsScanned = 1
		default:
			if segs, err = p.recover(segs, rs); err != nil {
				closeAll()
				return nil, err
			}
		}
	}
	last := segs[len(segs)-1]
	p.segs.Store(&segs)
	p.logStart.Store(segs[0].Base())
	p.logEnd.Store(last.NextOffset())
	if err := p.restoreLogStart(); err != nil {
		closeAll()
		return nil, err
	}
	end := &watermark{offset: last.NextOffset(), segBase: last.Base(), pos: last.Size()}
	p.hw.Store(end)
	p.synced.Store(end.offset)
	if e.opts.Replicated {
		if err := p.openReplicated(end); err != nil {
			closeAll()
			return nil, err
		}
	}
	if clean || p.recovered.resumed {
		rp = last.NextOffset()
	}
	p.recoveryPoint.Store(rp)
	now := e.now()
	p.activeSince = now
	p.lastFlushMs.Store(now.UnixMilli())
	if err := p.loadProducers(now.UnixMilli()); err != nil {
		closeAll()
		return nil, err
	}
	p.parkIfOverBudget()
	return p, nil
}

// createSegment makes a new segment at base with its files, and the
// partition's directory first if the partition was never appended to.
func (p *Partition) createSegment(base int64, opts segment.Options) (*segment.Segment, error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	return segment.Create(p.dir, base, opts)
}

func (e *Engine) newPartition(t *topic, id int32) *Partition {
	return &Partition{
		topic:  t,
		id:     id,
		dir:    partitionDir(e.dir, t.name, id),
		eng:    e,
		logger: e.logger.With("topic", t.name, "partition", id),
		gone:   make(chan struct{}),
	}
}

// createPartition makes a new, empty partition without touching the
// disk: its active segment is unborn (segment.CreateLazy), and the first
// append makes the directory and files. The topic's commit in pebble is
// the create's only write, so a create costs no file system call per
// partition, and a crash before the commit leaves nothing to sweep. Open
// takes a stored partition without a directory for such an empty one.
// Nothing stored can apply to it (a create's intent dropped every key of
// the new partitions first, see metaStore.beginCreate).
func (e *Engine) createPartition(t *topic, id int32) (*Partition, error) {
	p := e.newPartition(t, id)
	segs := []*segment.Segment{segment.CreateLazy(p.dir, 0, p.segmentOptions(t.cfg.Load()))}
	p.segs.Store(&segs)
	end := &watermark{}
	p.hw.Store(end)
	if e.opts.Replicated {
		if err := p.openReplicated(end); err != nil {
			return nil, err
		}
	}
	now := e.now()
	p.activeSince = now
	p.lastFlushMs.Store(now.UnixMilli())
	p.producers = newProducerState()
	return p, nil
}

// loadProducers restores the idempotent producers' state: the stored
// snapshot, then the batch headers appended after it. A snapshot that is
// missing, damaged or ahead of the log (recovery cut the log) is dropped and
// the whole log replayed.
func (p *Partition) loadProducers(nowMs int64) error {
	raw, err := p.eng.meta.producers(p.Topic(), p.id)
	if err != nil {
		return err
	}
	end := p.logEnd.Load()
	state, from := newProducerState(), p.logStart.Load()
	p.producersSaved.Store(-1)
	if raw != nil {
		if s, off, err := unmarshalProducerState(raw); err == nil && off <= end {
			state, from = s, max(off, from)
			if off == end {
				p.producersSaved.Store(end)
			}
		} else {
			p.logger.Warn("producer state snapshot unusable; replaying the log", "snapshot_offset", off, "log_end", end, "err", err)
		}
	}
	replayed := 0
	segs := p.segments()
	if from >= end {
		// The snapshot is at the log end (or the log is empty): nothing
		// to replay, and no segment to open for it.
		segs = nil
	}
	for i, seg := range segs {
		// Segments wholly below the snapshot stay closed (lazy).
		if i+1 < len(segs) && segs[i+1].Base() <= from {
			continue
		}
		err := seg.Headers(from, func(h *batch.Header) error {
			if h.ProducerID >= 0 {
				state.update(h, h.BaseOffset, nowMs)
			}
			replayed++
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s-%d: replay producer state: %w", p.Topic(), p.id, err)
		}
		if i+1 < len(segs) {
			// A long replay (no snapshot) must not leave every old segment's
			// files open: give them back until a reader needs them.
			seg.CloseIdle(time.Now().Add(time.Hour))
		}
	}
	if replayed > 0 && p.recovered.resumed {
		// The replay opened the resumed active segment, whose data is all
		// flushed: give its handles back until it is used.
		if _, err := p.active().Park(); err != nil {
			p.logger.Warn("parking the resumed active segment after replay failed", "err", err)
		}
	}
	if replayed > 0 {
		p.logger.Info("replayed producer state", "from_offset", from, "batches", replayed, "producers", len(state.entries))
	}
	p.producers = state
	return nil
}

// recover validates the segments that may hold unflushed data: the one
// holding the recovery point and every later one. When the recovery point
// came with its position, the segment holding it is validated from there
// on only.
func (p *Partition) recover(segs []*segment.Segment, rs recoveryState) (_ []*segment.Segment, err error) {
	rp := rs.offset
	first := sort.Search(len(segs), func(i int) bool { return segs[i].Base() > rp }) - 1
	if first < 0 {
		first = 0
	}
	p.recovered.scanned = true
	scanned, total := len(segs)-first, len(segs)
	p.recovered.segmentsScanned = scanned
	defer func() {
		if err != nil {
			return // the caller reports the failure
		}
		p.logger.Info("recovered log after unclean shutdown", "event", "recovery", "recovery_point", rp,
			"segments_scanned", scanned, "segments", total, "bytes_scanned", p.recovered.bytesScanned,
			"truncated_bytes", p.recovered.truncatedBytes, "segments_deleted", p.recovered.segmentsDeleted)
	}()
	for i := first; i < len(segs); i++ {
		s := segs[i]
		var rec segment.Recovery
		if i == first && rs.hasPos && rs.segBase == s.Base() {
			rec, err = s.RecoverFrom(rp, rs.pos)
		} else {
			rec, err = s.Recover()
		}
		if err != nil {
			return segs, err
		}
		p.recovered.bytesScanned += rec.ScannedBytes
		p.recovered.truncatedBytes += rec.TruncatedBytes
		last := i == len(segs)-1
		if !last {
			if err := s.Seal(); err != nil {
				return segs, err
			}
		}
		overlap := !last && s.NextOffset() > segs[i+1].Base()
		if last || (rec.TruncatedBytes == 0 && !overlap) {
			continue
		}
		// Everything after a damaged segment is unreachable: offsets must
		// run on without a hole.
		for _, later := range segs[i+1:] {
			p.logger.Warn("deleting segment after damaged one", "segment", later.Base(), "damaged", s.Base())
			if err := later.Delete(); err != nil {
				return segs, err
			}
			p.recovered.segmentsDeleted++
		}
		segs = segs[:i+1]
		if err := s.Activate(); err != nil {
			return segs, err
		}
		break
	}
	return segs, nil
}
