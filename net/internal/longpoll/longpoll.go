// Package longpoll is the wait of a fetch that found too little data: it
// blocks until one of the partitions it reads has news, its deadline
// passes, or any stop channel closes (the server stopping, the client's
// connection gone). Both listeners' fetches use it.
package longpoll

import (
	"reflect"
	"time"
)

// Wait blocks until a channel of changes fires (true), or the deadline
// passes or a channel of stops fires (false). A nil stop channel never
// fires.
func Wait(changes []<-chan struct{}, deadline time.Time, stops ...<-chan struct{}) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if len(changes) == 1 && len(stops) <= 2 {
		// The common case, a fetch of one partition, without reflection.
		var s0, s1 <-chan struct{}
		if len(stops) > 0 {
			s0 = stops[0]
		}
		if len(stops) > 1 {
			s1 = stops[1]
		}
		select {
		case <-changes[0]:
			return true
		case <-timer.C:
		case <-s0:
		case <-s1:
		}
		return false
	}
	fixed := 1 + len(stops)
	cases := make([]reflect.SelectCase, 0, fixed+len(changes))
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)})
	for _, ch := range stops {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	for _, ch := range changes {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= fixed
}
