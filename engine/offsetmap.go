package engine

import (
	"github.com/cespare/xxhash/v2"
)

// offsetMapEntryBytes is one entry of the cleaner's offset map: a 64-bit
// and a 32-bit hash of the key (96 bits, so that two keys of a partition
// are taken for one about once in 2^96/n² cleanings of n keys) and the
// offset of the key's newest record.
const offsetMapEntryBytes = 24

// offsetMapLoad is how full the map may get (open addressing slows down
// past it), as Kafka's log.cleaner.io.buffer.load.factor.
const offsetMapLoad = 0.9

// offsetMap maps a key's hash to the offset of its newest record in the
// part of the log being cleaned: the log cleaner's dedupe buffer, sized by
// log.cleaner.dedupe.buffer.size. It is open addressing with linear
// probing over a fixed array, so it allocates only when made.
type offsetMap struct {
	slots []mapSlot
	used  int
	max   int
	seed  *xxhash.Digest // for the second hash
}

type mapSlot struct {
	h1     uint64 // 0: empty (a key hashing to 0 is stored as 1)
	h2     uint32
	offset int64
}

// newOffsetMap returns a map of bytes/offsetMapEntryBytes slots (at least
// 64).
func newOffsetMap(bytes int64) *offsetMap {
	n := max(int(bytes/offsetMapEntryBytes), 64)
	return &offsetMap{slots: make([]mapSlot, n), max: int(float64(n) * offsetMapLoad), seed: xxhash.NewWithSeed(0x5a17ce)}
}

// reset empties the map for the next partition.
func (m *offsetMap) reset() {
	clear(m.slots)
	m.used = 0
}

// full reports whether another new key would pass the load factor.
func (m *offsetMap) full() bool { return m.used >= m.max }

func (m *offsetMap) hash(key []byte) (uint64, uint32) {
	h1 := xxhash.Sum64(key)
	if h1 == 0 {
		h1 = 1
	}
	m.seed.ResetWithSeed(0x5a17ce)
	m.seed.Write(key)
	return h1, uint32(m.seed.Sum64())
}

// put records offset as key's newest; it returns false when the key is
// new and the map is full (nothing is stored then).
func (m *offsetMap) put(key []byte, offset int64) bool {
	h1, h2 := m.hash(key)
	i := int(h1 % uint64(len(m.slots)))
	for {
		s := &m.slots[i]
		switch {
		case s.h1 == 0:
			if m.full() {
				return false
			}
			*s = mapSlot{h1: h1, h2: h2, offset: offset}
			m.used++
			return true
		case s.h1 == h1 && s.h2 == h2:
			s.offset = max(s.offset, offset)
			return true
		}
		if i++; i == len(m.slots) {
			i = 0
		}
	}
}

// get returns the offset of key's newest record, if the map has the key.
func (m *offsetMap) get(key []byte) (int64, bool) {
	h1, h2 := m.hash(key)
	i := int(h1 % uint64(len(m.slots)))
	for {
		s := &m.slots[i]
		switch {
		case s.h1 == 0:
			return 0, false
		case s.h1 == h1 && s.h2 == h2:
			return s.offset, true
		}
		if i++; i == len(m.slots) {
			i = 0
		}
	}
}
