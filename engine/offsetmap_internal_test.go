package engine

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestOffsetMap: the map agrees with a Go map until it is full, keeps the
// newest offset of each key, and refuses new keys once full.
func TestOffsetMap(t *testing.T) {
	m := newOffsetMap(1000 * offsetMapEntryBytes)
	want := map[string]int64{}
	rng := rand.New(rand.NewSource(1))
	for off := int64(0); off < 5000; off++ {
		k := fmt.Sprintf("key-%d", rng.Intn(800))
		if !m.put([]byte(k), off) {
			t.Fatalf("full after %d keys", len(want))
		}
		want[k] = off
	}
	for k, off := range want {
		if got, ok := m.get([]byte(k)); !ok || got != off {
			t.Fatalf("%s: %d %v, want %d", k, got, ok, off)
		}
	}
	if _, ok := m.get([]byte("absent")); ok {
		t.Fatal("absent key found")
	}
	// Fill it: new keys are refused once past the load factor, known
	// keys still update.
	n := len(want)
	for i := 0; ; i++ {
		if !m.put([]byte(fmt.Sprintf("new-%d", i)), 1) {
			break
		}
		n++
	}
	if n != m.max {
		t.Fatalf("map took %d keys, its limit is %d", n, m.max)
	}
	if !m.put([]byte("key-1"), 9999) {
		t.Fatal("a known key refused in a full map")
	}
	m.reset()
	if _, ok := m.get([]byte("key-1")); ok || m.used != 0 {
		t.Fatal("reset left entries")
	}
}

func BenchmarkOffsetMapPut(b *testing.B) {
	m := newOffsetMap(64 << 20)
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("user-%08d", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.put(keys[i&(len(keys)-1)], int64(i))
		i++
	}
}

// BenchmarkOffsetMapCleaning is the map as the log cleaner uses it on the
// bench partition (bench/cleanbench): the default 128 MiB map, 880,286
// distinct 12-byte keys read in sequence from one buffer (as from a
// segment), in random order, each operation a put and then a get of one,
// as the two passes of a cleaning do per record.
func BenchmarkOffsetMapCleaning(b *testing.B) {
	m := newOffsetMap(128 << 20)
	defer m.release()
	const distinct, keyLen = 880286, 12
	keys := make([]byte, 0, distinct*keyLen)
	for _, k := range rand.New(rand.NewSource(1)).Perm(distinct) {
		keys = fmt.Appendf(keys, "key-%08d", k)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := (i % distinct) * keyLen
		k := keys[at : at+keyLen]
		m.put(k, int64(i))
		m.get(k)
		i++
	}
}

// BenchmarkOffsetMapCleaningTouched is BenchmarkOffsetMapCleaning with
// the keys hashed and touched a batch of 128 at a time before their puts
// and gets, as the cleaner does.
func BenchmarkOffsetMapCleaningTouched(b *testing.B) {
	m := newOffsetMap(128 << 20)
	defer m.release()
	const distinct, keyLen, batch = 880286, 12, 128
	keys := make([]byte, 0, distinct*keyLen)
	for _, k := range rand.New(rand.NewSource(1)).Perm(distinct) {
		keys = fmt.Appendf(keys, "key-%08d", k)
	}
	hs := make([]keyHash, 0, batch)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := (i % distinct) * keyLen
		hs = append(hs, m.hash(keys[at:at+keyLen]))
		i++
		if len(hs) == batch {
			m.touch(hs)
			for j, h := range hs {
				m.putHash(h, int64(i+j))
			}
			m.touch(hs)
			for _, h := range hs {
				m.getHash(h)
			}
			hs = hs[:0]
		}
	}
}
