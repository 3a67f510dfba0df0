package engine

import (
	"errors"
	"fmt"

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
// files (a full segment refusing a batch, a closed partition).
func (p *Partition) fail(err error) error {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, segment.ErrClosed) || errors.Is(err, ErrStorage) {
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
