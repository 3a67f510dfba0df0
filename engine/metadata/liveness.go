package metadata

import (
	"slices"
	"sync"
	"time"
)

// Liveness tracks broker heartbeats for the active controller. It is not
// part of the replicated image (heartbeats are not logged, as in KRaft):
// the controller fences the brokers it finds expired by proposing
// FenceBroker records. Time is injected, so tests drive it.
type Liveness struct {
	timeout time.Duration

	mu    sync.Mutex
	beats map[int32]beat
}

type beat struct {
	incarnation string
	last        time.Time
}

// NewLiveness tracks heartbeats with a session timeout: a broker whose last
// heartbeat is older than that has expired.
func NewLiveness(sessionTimeout time.Duration) *Liveness {
	return &Liveness{timeout: sessionTimeout, beats: make(map[int32]beat)}
}

// Heartbeat records that a broker process was alive at now.
func (l *Liveness) Heartbeat(id int32, incarnation string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beats[id] = beat{incarnation: incarnation, last: now}
}

// Expired are the brokers whose last heartbeat is older than the session
// timeout at now, sorted. They stay tracked (and expired) until Forget or a
// new Heartbeat.
func (l *Liveness) Expired(now time.Time) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int32
	for id, b := range l.beats {
		if now.Sub(b.last) > l.timeout {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Forget stops tracking a broker (fenced or unregistered).
func (l *Liveness) Forget(id int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.beats, id)
}

// Reset is what a newly elected controller does: it tracks exactly ids,
// each with a fresh grace period from now, since it cannot know when they
// last reached the old controller. A broker already tracked keeps its
// incarnation; one that is not gets "" until its first heartbeat. A
// controller that knows the incarnations (from the image) may call
// Heartbeat for each broker instead.
func (l *Liveness) Reset(ids []int32, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	beats := make(map[int32]beat, len(ids))
	for _, id := range ids {
		beats[id] = beat{incarnation: l.beats[id].incarnation, last: now}
	}
	l.beats = beats
}

// Live reports whether a broker's session is alive at now, and under which
// incarnation. The controller refuses a RegisterBroker for a live id with
// another incarnation (CodeDuplicateBrokerRegistration): two processes
// must not share an id.
func (l *Liveness) Live(id int32, now time.Time) (incarnation string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, tracked := l.beats[id]
	if !tracked || now.Sub(b.last) > l.timeout {
		return "", false
	}
	return b.incarnation, true
}

// Incarnation is the incarnation of a broker's last heartbeat, "" when
// untracked or not known.
func (l *Liveness) Incarnation(id int32) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.beats[id].incarnation
}
