package engine

import (
	"bytes"
	"testing"
)

// TestCleanHistory: a tombstone's horizon comes delete.retention.ms after
// the first cleaning that covered it, never before; cleanings in one bucket
// share an entry; expired entries collapse; truncation forgets what it cut.
func TestCleanHistory(t *testing.T) {
	const r = 64_000 // delete.retention.ms: buckets of 1 s
	var h cleanHistory
	h = h.add(100, 10_000, r) // offsets [0, 100) first cleaned at 10 s
	h = h.add(150, 10_500, r) // same bucket: one entry, now to 150
	h = h.add(300, 40_000, r) // [150, 300) at 40 s
	h = h.add(250, 41_000, r) // nothing new below 300
	if len(h) != 2 || h[0].end != 150 || h[1].end != 300 {
		t.Fatalf("history %+v", h)
	}
	for _, c := range []struct{ now, want int64 }{
		{10_000 + r, 0},       // not past: the bucket ends at 11 s
		{11_000 + r + 1, 150}, // [0, 150) past
		{40_000 + r, 150},
		{41_000 + r + 1, 300},
	} {
		if got := h.horizon(c.now, r); got != c.want {
			t.Errorf("horizon at %d: %d, want %d", c.now, got, c.want)
		}
	}
	// Far later, the expired entries collapse into one that says as much.
	h2 := append(cleanHistory(nil), h...).add(400, 1_000_000, r)
	if len(h2) != 2 || h2[0].end != 300 || h2.horizon(1_000_000, r) != 300 {
		t.Fatalf("after expiry: %+v", h2)
	}
	// A truncation to 120 forgets [120, 300): what comes there is dirty.
	h3 := append(cleanHistory(nil), h...).truncate(120)
	if len(h3) != 1 || h3[0].end != 120 || h3[0].at != h[0].at {
		t.Fatalf("after truncating to 120: %+v", h3)
	}
	if h4 := append(cleanHistory(nil), h...).truncate(0); len(h4) != 0 {
		t.Fatalf("after truncating to 0: %+v", h4)
	}
	// It survives a round trip, and rejects what it did not write.
	back, err := unmarshalCleanHistory(h.marshal())
	if err != nil || len(back) != len(h) || back[0] != h[0] || back[1] != h[1] {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, bad := range [][]byte{{1, 2, 3}, append(h.marshal()[16:], h.marshal()[:16]...), make([]byte, 16)} {
		if _, err := unmarshalCleanHistory(bad); err == nil {
			t.Errorf("decoded % x", bad)
		}
	}
}

// FuzzCleanHistory: any stored bytes decode to a well-formed history or
// an error, never a panic, and a decoded history encodes back to the same
// bytes.
func FuzzCleanHistory(f *testing.F) {
	f.Add(cleanHistory{{100, 5}, {200, 9}}.marshal())
	f.Add([]byte{})
	f.Add(make([]byte, 17))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := unmarshalCleanHistory(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.marshal(), b) {
			t.Fatalf("% x decoded to %+v, which encodes differently", b, h)
		}
		_ = h.horizon(1<<40, 1<<20)
		_ = h.truncate(150)
	})
}
