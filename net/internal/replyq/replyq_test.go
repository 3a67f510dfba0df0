package replyq

import (
	"errors"
	"testing"
)

// Requests are served in the order added; Drain returns only after all
// before it; after a failed write the rest are still served, broken.
func TestWriterOrderDrainAndFailure(t *testing.T) {
	var got []int
	var broken []bool
	w := New(4, func(v int, b bool) error {
		got = append(got, v)
		broken = append(broken, b)
		if v == 7 {
			return errors.New("write failed")
		}
		return nil
	})
	if err := w.Drain(); err != nil || w.Busy() {
		t.Fatalf("drain of an unused writer: %v, busy %v", err, w.Busy())
	}
	for i := 0; i < 5; i++ {
		if err := w.Add(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Drain(); err != nil {
		t.Fatal(err)
	}
	if w.Busy() || len(got) != 5 {
		t.Fatalf("after drain: busy %v, served %v", w.Busy(), got)
	}
	for i := 5; i < 10; i++ {
		w.Add(i)
	}
	if err := w.Drain(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("drain after a failed write: %v", err)
	}
	if err := w.Add(10); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("add after a failed write: %v", err)
	}
	w.Close()
	for i, v := range got {
		if v != i {
			t.Fatalf("served %v, want 0..10 in order", got)
		}
		if broken[i] != (i > 7) {
			t.Fatalf("request %d served with broken=%v", i, broken[i])
		}
	}
	if len(got) != 11 {
		t.Fatalf("served %v", got)
	}
}
