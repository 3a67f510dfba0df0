package engine

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// CleanStats says what one cleaning of a partition did.
type CleanStats struct {
	// FirstDirty and End bound the dirty section the cleaning deduplicated
	// against: [FirstDirty, End). Everything below End was rewritten.
	FirstDirty, End int64
	// DirtyRatio is the dirty section's share of the cleanable bytes
	// when the cleaning began.
	DirtyRatio float64
	// Groups is how many cleaned segments replaced old ones.
	Groups                      int
	BytesRead, BytesWritten     int64
	RecordsKept, RecordsRemoved int64
	Took                        time.Duration
}

// cleanRules are one cleaning's knobs, from the topic's config and the
// engine's options.
type cleanRules struct {
	now time.Time
	// force cleans whatever the dirty ratio (Partition.Clean).
	force bool
	// bufferBytes sizes the offset map when the cleaning makes its own.
	bufferBytes int64
	throttle    *throttle
	stop        <-chan struct{}
	// gone is the partition's: closed when it is deleted.
	gone <-chan struct{}
	// gen is the partition's log generation when the cleaning began.
	gen uint64
}

// errCleanAborted: the partition changed under a cleaning (retention,
// truncation, deletion, closing); nothing was replaced.
var errCleanAborted = errors.New("cleaning aborted: the log changed")

// Clean compacts the partition now, whatever its dirty ratio, if its
// cleanup.policy includes compact; it returns what it did. The background
// cleaner does the same when a partition's dirty ratio passes
// min.cleanable.dirty.ratio.
func (p *Partition) Clean() (CleanStats, error) {
	e := p.eng
	// Close waits for the cleaning, as for the background cleaner's.
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		return CleanStats{}, ErrClosed
	}
	e.bg.Add(1)
	e.mu.RUnlock()
	defer e.bg.Done()
	rules := cleanRules{now: e.now(), force: true, throttle: e.cleanerThrottle, stop: e.stop}
	m := newOffsetMap(e.opts.CleanerDedupeBufferSize)
	defer m.release()
	return p.clean(m, rules)
}

// cleanable finds the part of the log a cleaning may rewrite: whole sealed
// segments below the high watermark (a replica's unreplicated tail may
// still be cut) whose newest record is older than min.compaction.lag.ms.
// It returns how many leading segments that is and their end offset.
func (p *Partition) cleanable(segs []*segment.Segment, cfg *TopicConfig, now time.Time) (int, int64) {
	hw := p.HighWatermark()
	lagBound := now.UnixMilli() - cfg.MinCompactionLagMs
	k := 0
	for k < len(segs)-1 {
		next := segs[k+1].Base()
		if next > hw {
			break
		}
		if cfg.MinCompactionLagMs > 0 {
			ts, err := segs[k].MaxTimestamp()
			if err != nil || ts > lagBound {
				break
			}
		}
		k++
	}
	if k == 0 {
		return 0, 0
	}
	return k, segs[k].Base()
}

// dirtyRatio is the share of bytes of segs[:k] at or past firstDirty.
func dirtyRatio(segs []*segment.Segment, k int, firstDirty int64) float64 {
	var dirty, total int64
	for i, s := range segs[:k] {
		size := s.Size()
		total += size
		if i+1 < len(segs) && segs[i+1].Base() > firstDirty {
			dirty += size
		}
	}
	if total == 0 {
		return 0
	}
	return float64(dirty) / float64(total)
}

// clean is one cleaning of the partition with the offset map m.
func (p *Partition) clean(m *offsetMap, rules cleanRules) (st CleanStats, err error) {
	p.cleanMu.Lock()
	defer p.cleanMu.Unlock()
	start := time.Now()
	defer func() {
		if err == nil && st.Groups > 0 {
			p.eng.cleaned.add(&st)
			p.logger.Info("log cleaned", "event", "log_cleaned", "first_dirty", st.FirstDirty, "end", st.End,
				"dirty_ratio", st.DirtyRatio, "segments", st.Groups, "bytes_read", st.BytesRead, "bytes_written", st.BytesWritten,
				"records_kept", st.RecordsKept, "records_removed", st.RecordsRemoved, "took", st.Took)
		}
	}()
	cfg := p.config()
	if !cfg.Compact {
		return st, nil
	}
	if err := p.checkOnline(); err != nil {
		return st, err
	}
	if p.deleted.Load() {
		return st, errCleanAborted
	}
	// A truncation from here on voids the cleaning: its offset map may
	// hold records the log no longer has.
	gen := p.logGen.Load()
	rules.gen, rules.gone = gen, p.gone
	segs := p.segments()
	k, end := p.cleanable(segs, cfg, rules.now)
	if k == 0 {
		return st, nil
	}
	firstDirty, err := p.eng.meta.cleanerCheckpoint(p.Topic(), p.id)
	if err != nil {
		return st, err
	}
	firstDirty = max(firstDirty, p.LogStartOffset())
	if firstDirty >= end {
		return st, nil
	}
	st.DirtyRatio = dirtyRatio(segs, k, firstDirty)
	p.dirty.Store(math.Float64bits(st.DirtyRatio))
	if !rules.force && st.DirtyRatio < cfg.MinCleanableDirtyRatio {
		return st, nil
	}

	p.eng.cleanerStep("started")

	// The offset map: each key's newest offset in [firstDirty, end). A
	// map that fills up ends the section at the first record it could
	// not take, as Kafka's does: the records from there on are kept as
	// they are, and the next cleaning starts at them.
	m.reset()
	var rd batch.Reader
	var bufs cleanBuffers
	mapped := end
	for i := 0; i < k && mapped == end; i++ {
		s := segs[i]
		if i+1 < len(segs) && segs[i+1].Base() <= firstDirty {
			continue
		}
		err := p.eachBatch(s, max(firstDirty, s.Base()), &bufs.read, rules, &st, func(b []byte) error {
			h, err := rd.Reset(b)
			if err != nil {
				return err
			}
			if h.Control() {
				return nil
			}
			// The batch's keys are hashed first and put together (see
			// offsetMap.touch).
			bufs.hashes, bufs.offsets = bufs.hashes[:0], bufs.offsets[:0]
			for {
				r, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				if r.Offset < firstDirty || r.Offset >= end || r.Key == nil {
					continue
				}
				bufs.hashes = append(bufs.hashes, m.hash(r.Key))
				bufs.offsets = append(bufs.offsets, r.Offset)
			}
			m.touch(bufs.hashes)
			for i, kh := range bufs.hashes {
				if !m.putHash(kh, bufs.offsets[i]) {
					mapped = bufs.offsets[i]
					return errMapFull
				}
			}
			return nil
		})
		if errors.Is(err, errMapFull) {
			break
		}
		if err != nil {
			return st, err
		}
	}
	if mapped <= firstDirty {
		return st, fmt.Errorf("%s-%d: log.cleaner.dedupe.buffer.size (%d bytes, %d keys) holds no key", p.Topic(), p.id, p.eng.opts.CleanerDedupeBufferSize, m.max)
	}
	end = mapped
	for k > 0 && segs[k-1].Base() >= end {
		k--
	}
	st.FirstDirty, st.End = firstDirty, end

	// Each idempotent producer's newest batch stays, even emptied, so
	// that its sequence survives a replay of the log.
	lastBatch := map[int64]int64{}
	p.mu.Lock()
	for pid, e := range p.producers.entries {
		if b := e.last(); b != nil {
			lastBatch[pid] = b.lastOffset
		}
	}
	p.mu.Unlock()

	// Filter shows the cleaner each batch's records twice: first to Peek,
	// which hashes their keys, and then to keep, which looks the hashes
	// up after one touch of them all (see offsetMap.touch).
	// cleanGroup empties bufs.hashes before each batch.
	peek := func(r *batch.Record) {
		var kh keyHash
		if r.Key != nil {
			kh = m.hash(r.Key)
		}
		bufs.hashes = append(bufs.hashes, kh)
	}
	history, err := p.eng.meta.cleanHistory(p.Topic(), p.id)
	if err != nil {
		return st, err
	}
	// Tombstones below horizon were first cleaned more than
	// delete.retention.ms ago; those past it stay, whatever their
	// timestamps say.
	horizon := history.horizon(rules.now.UnixMilli(), cfg.DeleteRetentionMs)
	keep := func(r *batch.Record) bool {
		if bufs.next == 0 {
			m.touch(bufs.hashes)
		}
		kh := bufs.hashes[bufs.next]
		bufs.next++
		switch {
		case r.Offset >= end:
			return true // past what the map holds (it filled up)
		case r.Key == nil:
			return false // as Kafka's cleaner: a compacted log has no use for it
		}
		if newest, ok := m.getHash(kh); ok && newest > r.Offset {
			return false
		}
		return r.Value != nil || r.Offset >= horizon
	}
	for _, g := range cleaningGroups(segs[:k+1], k, cfg.SegmentBytes) {
		if err := p.cleanGroup(g, cfg, peek, keep, lastBatch, rules, &st, &bufs); err != nil {
			return st, err
		}
		st.Groups++
	}
	// The checkpoint and history go in unless the log was truncated
	// meanwhile (which moved them back itself).
	p.mu.Lock()
	if p.closed || p.deleted.Load() || p.logGen.Load() != gen {
		p.mu.Unlock()
		return st, errCleanAborted
	}
	history = history.add(end, rules.now.UnixMilli(), cfg.DeleteRetentionMs)
	err = p.eng.meta.putCleaned(p.Topic(), p.id, end, history)
	p.mu.Unlock()
	if err != nil {
		return st, err
	}
	// What is still dirty: past a full map's end, or appended since.
	segs = p.segments()
	k, _ = p.cleanable(segs, cfg, rules.now)
	p.dirty.Store(math.Float64bits(dirtyRatio(segs, k, end)))
	st.Took = time.Since(start)
	return st, nil
}

var errMapFull = errors.New("offset map full")

// cleanBuffers are one cleaning's reusable buffers: what segments are read
// into, the batch filter and the batch it writes.
type cleanBuffers struct {
	read, out []byte
	filter    batch.Filterer
	hashes    []keyHash // a batch's keys, hashed
	offsets   []int64   // and their offsets, while the map is built
	next      int       // the index in hashes of keep's next record
}

// cleaningGroup is consecutive segments cleaned into one: [segs[0].Base(),
// end).
type cleaningGroup struct {
	segs []*segment.Segment
	end  int64
}

// cleaningGroups splits segs[:k] (segs[k] bounds the last) into runs
// whose total size fits segment.bytes and whose offsets fit a segment's
// 32-bit relative offsets, as Kafka groups segments for cleaning.
func cleaningGroups(segs []*segment.Segment, k int, segmentBytes int64) []cleaningGroup {
	var out []cleaningGroup
	for i := 0; i < k; {
		j, size := i, int64(0)
		for j < k && (j == i || (size+segs[j].Size() <= segmentBytes && segs[j+1].Base()-segs[i].Base() <= 1<<31-1)) {
			size += segs[j].Size()
			j++
		}
		out = append(out, cleaningGroup{segs: segs[i:j], end: segs[j].Base()})
		i = j
	}
	return out
}

// eachBatch calls fn with each stored batch of s from offset on, reading
// through buf; it counts and throttles what it reads.
func (p *Partition) eachBatch(s *segment.Segment, offset int64, buf *[]byte, rules cleanRules, st *CleanStats, fn func(b []byte) error) error {
	const chunk = 1 << 20
	for {
		select {
		case <-rules.stop:
			return ErrClosed
		case <-rules.gone:
			return errCleanAborted
		default:
		}
		b, err := s.ReadBytes((*buf)[:0], offset, chunk)
		*buf = b
		if err != nil {
			return fmt.Errorf("%s-%d: segment %d: %w", p.Topic(), p.id, s.Base(), err)
		}
		if len(b) == 0 {
			return nil
		}
		st.BytesRead += int64(len(b))
		if err := rules.throttle.wait(int64(len(b)), rules.stop, rules.gone); err != nil {
			return err
		}
		for rest := b; len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				return fmt.Errorf("%s-%d: segment %d: %w", p.Topic(), p.id, s.Base(), err)
			}
			h, err := batch.ParseHeader(first)
			if err != nil {
				return err
			}
			if err := fn(first); err != nil {
				return err
			}
			offset = h.NextOffset()
			rest = tail
		}
	}
}

// cleanGroup writes g's kept records into one segment under .cleaning/
// and puts it in g's place.
func (p *Partition) cleanGroup(g cleaningGroup, cfg *TopicConfig, peek func(*batch.Record), keep func(*batch.Record) bool,
	lastBatch map[int64]int64, rules cleanRules, st *CleanStats, bufs *cleanBuffers) error {
	base := g.segs[0].Base()
	tmp := filepath.Join(p.dir, cleaningDirName)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	// The indexes are sized for the group, not for segment.bytes: a group
	// is at least one segment, and a segment may be larger than
	// segment.bytes (written before the config shrank, or by a follower's
	// replica appends), so its cleaned copy may need more entries.
	opts := p.segmentOptions(cfg)
	var groupBytes int64
	for _, s := range g.segs {
		groupBytes += s.Size()
	}
	need := groupBytes/int64(max(opts.IndexIntervalBytes, batch.HeaderSize)) + 2
	opts.MaxIndexBytes = max(opts.MaxIndexBytes, int(need*8))
	out, err := segment.Create(tmp, base, opts)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		out.Close()
		os.RemoveAll(tmp)
		return err
	}
	for _, s := range g.segs {
		err := p.eachBatch(s, s.Base(), &bufs.read, rules, st, func(b []byte) error {
			h, err := batch.ParseHeader(b)
			if err != nil {
				return err
			}
			last, ok := lastBatch[h.ProducerID]
			keepEmpty := h.ProducerID >= 0 && ok && last == h.LastOffset()
			bufs.hashes, bufs.next = bufs.hashes[:0], 0
			var kept int
			bufs.out, kept, err = bufs.filter.Filter(bufs.out[:0], b, keep, batch.FilterOptions{KeepEmpty: keepEmpty, Peek: peek})
			if err != nil {
				return err
			}
			st.RecordsKept += int64(kept)
			st.RecordsRemoved += int64(h.RecordCount) - int64(kept)
			if len(bufs.out) == 0 {
				return nil
			}
			st.BytesWritten += int64(len(bufs.out))
			if err := rules.throttle.wait(int64(len(bufs.out)), rules.stop, rules.gone); err != nil {
				return err
			}
			return out.Append(bufs.out)
		})
		if err != nil {
			return fail(err)
		}
	}
	if err := out.Seal(); err != nil {
		return fail(err)
	}
	if err := out.Flush(); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		return fail(err)
	}
	if err := syncDir(tmp); err != nil {
		return fail(err)
	}
	p.eng.cleanerStep("written")
	return p.replaceGroup(g, cfg, rules.gen)
}

// replaceGroup puts the cleaned segment in .cleaning/ in place of g's
// segments (the protocol in cleanswap.go), unless the log changed since
// the cleaning began.
func (p *Partition) replaceGroup(g cleaningGroup, cfg *TopicConfig, gen uint64) error {
	base := g.segs[0].Base()
	tmp := filepath.Join(p.dir, cleaningDirName)
	p.mu.Lock()
	defer p.mu.Unlock()
	segs := p.segments()
	i := 0
	for i < len(segs) && segs[i] != g.segs[0] {
		i++
	}
	same := !p.closed && !p.deleted.Load() && p.logGen.Load() == gen && i+len(g.segs) < len(segs)
	for j := 0; same && j < len(g.segs); j++ {
		same = segs[i+j] == g.segs[j]
	}
	if !same {
		os.RemoveAll(tmp)
		return errCleanAborted
	}
	swap := filepath.Join(p.dir, swapName(base, g.end))
	if err := os.Rename(filepath.Join(tmp, segment.FileName(base, ".log")), swap); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	// Committed: from here a failure takes the partition offline, and the
	// next start finishes the replacement.
	if err := syncDir(p.dir); err != nil {
		return p.fail(err)
	}
	p.eng.cleanerStep("committed")
	for i, s := range g.segs {
		if err := s.Delete(); err != nil {
			return p.fail(err)
		}
		if i == 0 {
			p.eng.cleanerStep("deleting")
		}
	}
	p.eng.cleanerStep("deleted")
	if err := os.Rename(swap, filepath.Join(p.dir, segment.FileName(base, ".log"))); err != nil {
		return p.fail(err)
	}
	p.eng.cleanerStep("renamed")
	for _, suffix := range []string{".index", ".timeindex"} {
		// A missing index is rebuilt from the log on first use.
		os.Rename(filepath.Join(tmp, segment.FileName(base, suffix)), filepath.Join(p.dir, segment.FileName(base, suffix)))
	}
	if err := syncDir(p.dir); err != nil {
		return p.fail(err)
	}
	os.RemoveAll(tmp)
	ns, err := segment.Open(p.dir, base, p.segmentOptions(cfg))
	if err != nil {
		return p.fail(err)
	}
	next := make([]*segment.Segment, 0, len(segs)-len(g.segs)+1)
	next = append(next, segs[:i]...)
	next = append(next, ns)
	next = append(next, segs[i+len(g.segs):]...)
	p.segs.Store(&next)
	p.eng.cleanerStep("replaced")
	return nil
}

// cleanerStep tells a test's hook which step of a replacement was just
// done (crash tests copy the data directory there).
func (e *Engine) cleanerStep(step string) {
	if h := e.cleanerHook; h != nil {
		h(step)
	}
}
