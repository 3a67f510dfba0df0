package engine

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/sluicelog/sluice/segment"
)

// A partition whose files fail goes offline, as a Kafka log directory
// does: Append, AppendReplica, TruncateTo and reads answer ErrStorage from
// then on, so nothing written after a failed write or sync can be
// acknowledged or served, and Options.OnStorageError tells the broker
// once, which moves leadership away. The other partitions carry on.

// Offline reports whether the partition went offline after a storage error.
func (p *Partition) Offline() bool { return p.offline.Load() }

// fail takes the partition offline for err unless err is not about its
// files (a full segment refusing a batch, a closed partition) or is a
// shortage of descriptors, mappings or disk that wrote nothing (see
// transient): the call fails, the partition stays online, and the closer
// is woken to give idle segments' handles back.
func (p *Partition) fail(err error) error {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, segment.ErrClosed) || errors.Is(err, ErrStorage) {
		return err
	}
	if transient(err) {
		p.logger.Warn("storage call failed for want of a resource; the partition stays online", "err", err)
		p.eng.segmentHandles().Nudge()
		return err
	}
	if p.offline.CompareAndSwap(false, true) {
		p.logger.Error("partition offline after storage error", "err", err)
		if cb := p.eng.opts.OnStorageError; cb != nil {
			cb(p.Topic(), p.id, err)
		}
		p.wake()
		p.wakeEnd()
	}
	return fmt.Errorf("%w: %w", ErrStorage, err)
}

// checkOnline is the error an offline partition answers with.
func (p *Partition) checkOnline() error {
	if p.offline.Load() {
		return fmt.Errorf("%s-%d: %w", p.Topic(), p.id, ErrStorage)
	}
	return nil
}

// transient reports whether err is a resource shortage that left the log
// as it was: a segment that could not open, reopen or grow its files
// (segment.ErrUnavailable: descriptors, mappings, memory or disk space),
// or a descriptor limit met elsewhere (EMFILE, ENFILE; an fdatasync never
// reports them). A failed write or sync is never transient: the kernel may
// have dropped what it could not write.
func transient(err error) bool {
	return errors.Is(err, segment.ErrUnavailable) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
