package cluster

import (
	"fmt"
	"sync"
	"time"
)

// Registered reports whether this broker has registered with the active
// controller in this process's life: from then on it is in the image and
// serves clients. A controller-only node never registers.
func (m *Member) Registered() bool { return m.registered.Load() }

// heartbeatStatus is the broker's session as its heartbeats see it.
type heartbeatStatus struct {
	mu      sync.Mutex
	lastOK  time.Time
	lastErr error // the last failure after lastOK; nil when the last beat was acknowledged
}

func (h *heartbeatStatus) ok() {
	h.mu.Lock()
	h.lastOK, h.lastErr = time.Now(), nil
	h.mu.Unlock()
}

func (h *heartbeatStatus) failed(err error) {
	h.mu.Lock()
	h.lastErr = err
	h.mu.Unlock()
}

// NotReady says why this node should not be counted on, or "" when it
// may: a broker must be registered and its session alive (a heartbeat
// acknowledged within the session timeout); every node with a quorum seat
// must know a quorum leader. It is cheap and safe from any goroutine
// (/readyz calls it on every request).
func (m *Member) NotReady() string {
	if m.cfg.Engine != nil {
		if !m.Registered() {
			return "not registered with the active controller yet"
		}
		m.beats.mu.Lock()
		last, err := m.beats.lastOK, m.beats.lastErr
		m.beats.mu.Unlock()
		if since := time.Since(last); err != nil && since > m.cfg.SessionTimeout {
			return fmt.Sprintf("no heartbeat acknowledged by the active controller for %s (broker.session.timeout.ms is %s): %v",
				since.Round(time.Millisecond), m.cfg.SessionTimeout, err)
		}
	}
	if m.node != nil {
		if _, _, ok := m.node.Leader(); !ok {
			st := m.node.Stats()
			if st.LastContact.IsZero() {
				return "no quorum leader known (raft " + st.State + ")"
			}
			return fmt.Sprintf("no quorum leader known (raft %s, last contact with a leader %s ago)",
				st.State, time.Since(st.LastContact).Round(time.Millisecond))
		}
	}
	return ""
}
