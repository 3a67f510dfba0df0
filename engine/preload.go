package engine

// Preloading per-partition keys: Open reads each prefix a partition needs
// (recovery/, producers/, logstart/, hw/) in one iterator pass rather than
// with a Get per partition and prefix, which at 100,000 partitions is
// 400,000 point lookups.

import (
	"bytes"

	"github.com/cockroachdb/pebble/v2"
)

// preloadPrefixes are the prefixes whose keys Open reads ahead.
var preloadPrefixes = []string{recoveryPrefix, producersPrefix, logStartPrefix, hwPrefix}

// preload is a snapshot of every key under preloadPrefixes. It is written
// once, before the partitions open, and only read after: partitions open
// from several goroutines.
type preload struct {
	values map[string][]byte
}

// lookup answers for a key under one of the preloaded prefixes: its value,
// or nil when it has none. ok is false for any other key.
func (p *preload) lookup(key []byte) (v []byte, ok bool) {
	for _, prefix := range preloadPrefixes {
		if bytes.HasPrefix(key, []byte(prefix)) {
			return p.values[string(key)], true
		}
	}
	return nil, false
}

// startPreload reads every key under preloadPrefixes and answers from them
// until endPreload. Nothing may write those keys meanwhile: Open calls it
// before any partition can take a write.
func (m *metaStore) startPreload() error {
	p := &preload{values: map[string][]byte{}}
	for _, prefix := range preloadPrefixes {
		upper := []byte(prefix)
		upper[len(upper)-1]++ // '/' + 1
		it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: upper})
		if err != nil {
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			p.values[string(it.Key())] = bytes.Clone(it.Value())
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	m.preloaded.Store(p)
	return nil
}

// endPreload goes back to reading pebble.
func (m *metaStore) endPreload() { m.preloaded.Store(nil) }
