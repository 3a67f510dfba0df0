package engine

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// SetHosted makes the engine store exactly the hosted partitions of a
// topic, growing the topic to total partitions if it has fewer (it never
// shrinks). A broker of a cluster stores its replicas alone: partitions it
// starts to host begin empty (replication fills them), and those it stops
// hosting are closed and their data removed. Nothing changes if a newly
// hosted partition cannot be opened.
func (e *Engine) SetHosted(name string, total int32, hosted []int32) error {
	if hosted == nil {
		hosted = []int32{}
	}
	e.mu.Lock()
	t, err := e.topicLocked(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	have := int32(len(t.partitions))
	if total < have {
		total = have
	}
	if total > e.opts.MaxPartitions {
		e.mu.Unlock()
		return fmt.Errorf("%w: topic %s: %d (1 to %d)", ErrInvalidPartitions, name, total, e.opts.MaxPartitions)
	}
	m := *t.meta
	m.Partitions, m.Hosted = total, sortedIDs(hosted)
	next := make([]*Partition, total)
	copy(next, t.partitions)
	var opened, dropped []*Partition
	for id := int32(0); id < total; id++ {
		switch want := m.hosts(id); {
		case want && next[id] == nil:
			// Whatever a folder holds from an earlier stint as a replica
			// is stale: the partition starts again from nothing.
			if err := os.RemoveAll(partitionDir(e.dir, name, id)); err != nil {
				closePartitions(opened)
				e.mu.Unlock()
				return err
			}
			if err := e.meta.clearPartition(name, id); err != nil {
				closePartitions(opened)
				e.mu.Unlock()
				return err
			}
			p, err := e.openPartition(t, id, true)
			if err != nil {
				closePartitions(opened)
				e.mu.Unlock()
				return fmt.Errorf("topic %s partition %d: %w", name, id, err)
			}
			next[id] = p
			opened = append(opened, p)
		case !want && next[id] != nil:
			dropped = append(dropped, next[id])
			next[id] = nil
		}
	}
	if err := e.meta.putTopic(&m); err != nil {
		closePartitions(opened)
		e.mu.Unlock()
		return err
	}
	t.meta, t.partitions = &m, next
	e.mu.Unlock()
	var errs []error
	for _, p := range dropped {
		errs = append(errs, deletePartition(p))
	}
	if len(opened) > 0 || len(dropped) > 0 {
		e.logger.Info("replicas changed", "topic", name, "partitions", total, "added", ids(opened), "removed", ids(dropped))
	}
	return errors.Join(errs...)
}

// Hosted lists the partitions of a topic this engine stores, sorted.
func (e *Engine) Hosted(name string) ([]int32, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, err := e.topicLocked(name)
	if err != nil {
		return nil, err
	}
	var out []int32
	for id, p := range t.partitions {
		if p != nil {
			out = append(out, int32(id))
		}
	}
	return out, nil
}

func ids(ps []*Partition) []int32 {
	out := make([]int32, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.id)
	}
	slices.Sort(out)
	return out
}
