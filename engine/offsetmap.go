package engine

import (
	"hash/maphash"
	"math/bits"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cespare/xxhash/v2"
)

// offsetMapEntryBytes is one entry of the cleaner's offset map: two
// independent hashes of the key, 64 and 32 bits (96 bits, so that two keys
// of a partition are taken for one about once in 2^96/n² cleanings of n
// keys), and the offset of the key's newest record.
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
	// mapped is the slots' memory when it is a mapping of its own
	// (release unmaps it).
	mapped []byte
	seed   maphash.Seed
	sink   uint64 // see touch // for the second hash: per process, so a collision is never repeatable
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
	m := &offsetMap{max: int(float64(n) * offsetMapLoad), seed: maphash.MakeSeed()}
	m.slots, m.mapped = allocSlots(n)
	return m
}

// allocSlots returns n zeroed slots. Each key costs the cleaner a random
// access into the map, and with 4 KiB pages nearly each one also misses
// the TLB (far dearer under a hypervisor's nested paging), so the slots
// are an anonymous mapping the kernel is asked to back with huge pages.
// It falls back to the Go heap where that fails.
func allocSlots(n int) ([]mapSlot, []byte) {
	size := n * int(unsafe.Sizeof(mapSlot{}))
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]mapSlot, n), nil
	}
	unix.Madvise(mem, unix.MADV_HUGEPAGE) // advice: no huge pages is only slower
	return unsafe.Slice((*mapSlot)(unsafe.Pointer(&mem[0])), n), mem
}

// release gives the map's memory back; the map is not used after.
func (m *offsetMap) release() {
	if m.mapped != nil {
		unix.Munmap(m.mapped)
	}
	m.slots, m.mapped = nil, nil
}

// reset empties the map for the next partition.
func (m *offsetMap) reset() {
	if m.used > 0 { // a new map is zeroed already, and may be untouched pages
		clear(m.slots)
	}
	m.used = 0
}

// full reports whether another new key would pass the load factor.
func (m *offsetMap) full() bool { return m.used >= m.max }

// keyHash is a key as the map knows it.
type keyHash struct {
	h1 uint64 // never 0: 0 marks an empty slot
	h2 uint32
}

func (m *offsetMap) hash(key []byte) keyHash {
	h1 := xxhash.Sum64(key)
	if h1 == 0 {
		h1 = 1
	}
	return keyHash{h1: h1, h2: uint32(maphash.Bytes(m.seed, key))}
}

// slot maps h1 onto the slots by multiplication rather than a modulo,
// which costs a division per key.
func (m *offsetMap) slot(h1 uint64) int {
	hi, _ := bits.Mul64(h1, uint64(len(m.slots)))
	return int(hi)
}

// touch loads the first slot of each of hs. A map much larger than the
// CPU's caches costs a memory access per key, and a probe at a time
// waits out each one in turn; these loads are independent of each other,
// so the CPU overlaps them, and the probes that follow find their slots
// in cache.
func (m *offsetMap) touch(hs []keyHash) {
	var sum uint64
	for _, h := range hs {
		sum += m.slots[m.slot(h.h1)].h1
	}
	m.sink = sum // so that the loads are not optimised away
}

// put records offset as key's newest; it returns false when the key is
// new and the map is full (nothing is stored then).
func (m *offsetMap) put(key []byte, offset int64) bool { return m.putHash(m.hash(key), offset) }

func (m *offsetMap) putHash(h keyHash, offset int64) bool {
	i := m.slot(h.h1)
	for {
		s := &m.slots[i]
		switch {
		case s.h1 == 0:
			if m.full() {
				return false
			}
			*s = mapSlot{h1: h.h1, h2: h.h2, offset: offset}
			m.used++
			return true
		case s.h1 == h.h1 && s.h2 == h.h2:
			s.offset = max(s.offset, offset)
			return true
		}
		if i++; i == len(m.slots) {
			i = 0
		}
	}
}

// get returns the offset of key's newest record, if the map has the key.
func (m *offsetMap) get(key []byte) (int64, bool) { return m.getHash(m.hash(key)) }

func (m *offsetMap) getHash(h keyHash) (int64, bool) {
	i := m.slot(h.h1)
	for {
		s := &m.slots[i]
		switch {
		case s.h1 == 0:
			return 0, false
		case s.h1 == h.h1 && s.h2 == h.h2:
			return s.offset, true
		}
		if i++; i == len(m.slots) {
			i = 0
		}
	}
}
