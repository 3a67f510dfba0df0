package engine

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Group coordinator state lives in the meta store too, one value per
// group:
//
//	groups/<group>
//
// The value is the coordinator's (engine/group encodes and decodes it);
// the engine only keeps it, synced, so that a group's members and their
// assignments outlive a broker restart as its offsets do.
const groupStatePrefix = "groups/"

func groupStateKey(group string) []byte {
	return append([]byte(groupStatePrefix), group...)
}

// PutGroupState stores a group's state, replacing what was there, and
// syncs it.
func (e *Engine) PutGroupState(group string, state []byte) error {
	if err := ValidateGroupID(group); err != nil {
		return err
	}
	if err := e.meta.db.Set(groupStateKey(group), state, pebble.Sync); err != nil {
		return fmt.Errorf("store state of group %q: %w", group, err)
	}
	return nil
}

// DeleteGroupState removes a group's state; a group without one is fine.
func (e *Engine) DeleteGroupState(group string) error {
	if err := ValidateGroupID(group); err != nil {
		return err
	}
	if err := e.meta.db.Delete(groupStateKey(group), pebble.Sync); err != nil {
		return fmt.Errorf("delete state of group %q: %w", group, err)
	}
	return nil
}

// GroupStates returns every stored group state by group id.
func (e *Engine) GroupStates() (map[string][]byte, error) {
	lo := []byte(groupStatePrefix)
	it, err := e.meta.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[string][]byte{}
	for it.First(); it.Valid(); it.Next() {
		out[string(it.Key()[len(lo):])] = append([]byte(nil), it.Value()...)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read group states: %w", err)
	}
	return out, nil
}
