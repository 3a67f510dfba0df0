package engine

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// DeleteOffsets removes the group's committed offsets of the given
// partitions (Kafka's OffsetDelete), durably, in one batch. Partitions
// without a committed offset are no error.
func (e *Engine) DeleteOffsets(group string, partitions []TopicPartition) error {
	if err := ValidateGroupID(group); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	b := e.meta.db.NewBatch()
	defer b.Close()
	for _, tp := range partitions {
		if err := b.Delete(offsetKey(group, tp.Topic, tp.Partition), nil); err != nil {
			return fmt.Errorf("delete offsets of group %q: %w", group, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete offsets of group %q: %w", group, err)
	}
	return nil
}
