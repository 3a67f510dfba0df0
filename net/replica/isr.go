package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicelog/sluice/engine/metadata"
)

// ISR changes go to the quorum in batches: a leader whose followers all
// fall behind, or all catch up (a broker back from a restart, the leader
// of 30,000 partitions), proposes one PartitionChanges entry for what is
// waiting, not one entry per partition. While a batch is in flight the
// next one gathers, so under load the batches grow by themselves and idle
// changes go out alone. A partition has at most one change in flight
// (partState.proposing).

// isrProposal is one led partition's wanted ISR, at the partition epoch
// its leader saw.
type isrProposal struct {
	ps             *partState
	partitionEpoch int32
	isr            []int32
}

// isrQueue holds the proposals not yet sent.
type isrQueue struct {
	mu      sync.Mutex
	pending []isrProposal
	wake    chan struct{}
}

// proposeISR queues a new ISR for a led partition whose proposing flag
// the caller set; it never blocks.
func (m *Manager) proposeISR(ps *partState, partitionEpoch int32, isr []int32) {
	m.isr.mu.Lock()
	m.isr.pending = append(m.isr.pending, isrProposal{ps, partitionEpoch, isr})
	m.isr.mu.Unlock()
	select {
	case m.isr.wake <- struct{}{}:
	default:
	}
}

// takeISR is the next batch, at most metadata.MaxPartitionChanges.
func (m *Manager) takeISR() []isrProposal {
	m.isr.mu.Lock()
	defer m.isr.mu.Unlock()
	n := min(len(m.isr.pending), metadata.MaxPartitionChanges)
	batch := m.isr.pending[:n:n]
	m.isr.pending = m.isr.pending[n:]
	if len(m.isr.pending) == 0 {
		m.isr.pending = nil
	}
	return batch
}

// isrLoop proposes what is queued, one batch at a time.
func (m *Manager) isrLoop() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.isr.wake:
		}
		for batch := m.takeISR(); len(batch) > 0 && m.ctx.Err() == nil; batch = m.takeISR() {
			m.proposeISRBatch(batch)
		}
	}
}

// proposeISRBatch proposes a batch as one record (a lone change as a
// PartitionChange of its own) and settles each partition's proposal.
func (m *Manager) proposeISRBatch(batch []isrProposal) {
	changes := make([]metadata.PartitionChange, len(batch))
	for i, p := range batch {
		pe := p.partitionEpoch
		changes[i] = metadata.PartitionChange{Topic: p.ps.key.topic, Partition: p.ps.key.partition,
			LeaderEpoch: p.ps.epoch, PartitionEpoch: &pe, ISR: p.isr}
	}
	var rec metadata.Record = metadata.PartitionChanges{Changes: changes}
	if len(changes) == 1 {
		rec = changes[0]
	}
	ctx, cancel := context.WithTimeout(m.ctx, proposeTimeout)
	res, err := m.cfg.Propose(ctx, rec)
	cancel()
	if len(batch) > 1 {
		m.logger.Debug("proposed ISR changes", "partitions", len(batch), "err", err)
	}
	for i, p := range batch {
		perr := err
		if err == nil && i < len(res.Codes) && res.Codes[i] != metadata.CodeNone {
			perr = &metadata.Error{Code: res.Codes[i], Message: fmt.Sprintf("%s-%d: ISR change refused: %s",
				p.ps.key.topic, p.ps.key.partition, metadata.CodeName(res.Codes[i]))}
		}
		m.settleISR(p, perr)
	}
	m.ImageChanged()
}

// settleISR ends one partition's proposal with its outcome.
func (m *Manager) settleISR(p isrProposal, err error) {
	ps := p.ps
	var me *metadata.Error
	refused := errors.As(err, &me)
	switch {
	case err == nil:
	case refused && me.Code == metadata.CodeFencedLeaderEpoch:
		// The leader_change line that follows says what happened.
		m.logger.Debug("ISR change refused: no longer the leader at this epoch", "topic", ps.key.topic, "partition", ps.key.partition, "leader_epoch", ps.epoch)
	default:
		m.logger.Warn("ISR change failed", "topic", ps.key.topic, "partition", ps.key.partition, "isr", p.isr, "err", err)
	}
	ps.mu.Lock()
	ps.proposing = false
	if refused {
		// The quorum said no: the proposal will never be its ISR. (A
		// timeout may still commit: then the image clears it.)
		ps.proposed = nil
		ps.isrWant, ps.isrReason = nil, ""
	}
	ps.mu.Unlock()
}
