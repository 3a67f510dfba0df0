package longpoll

import (
	"testing"
	"time"
)

func closed() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Each way out, with one partition (the select) and with several (the
// reflection path).
func TestWait(t *testing.T) {
	far := time.Now().Add(time.Hour)
	for _, n := range []int{1, 3} {
		open := func() []<-chan struct{} {
			out := make([]<-chan struct{}, n)
			for i := range out {
				out[i] = make(chan struct{})
			}
			return out
		}
		changed := open()
		changed[n-1] = closed()
		if !Wait(changed, far, nil, make(chan struct{})) {
			t.Errorf("%d partitions: a change did not end the wait with true", n)
		}
		if Wait(open(), time.Now().Add(time.Millisecond), nil) {
			t.Errorf("%d partitions: the deadline ended the wait with true", n)
		}
		for i := range 3 {
			stops := []<-chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
			stops[i] = closed()
			if Wait(open(), far, stops...) {
				t.Errorf("%d partitions: stop %d ended the wait with true", n, i)
			}
		}
	}
}
