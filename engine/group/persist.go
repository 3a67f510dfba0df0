package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A group's membership is stored each time the group becomes Stable, and
// removed when it becomes Empty or is deleted, as Kafka keeps its group
// metadata beside the offsets. After a broker restart Restore brings every
// stored group back as Stable, at the same generation, with the same
// members and assignments: members that keep heartbeating within their
// session timeout carry on without a rebalance. A group caught in the
// middle of a rebalance comes back as its last stable generation; its
// members' next calls sort that out (ILLEGAL_GENERATION, rejoin).
//
// The encoding, version 1, all integers big-endian, strings and byte
// strings as a uvarint length then the bytes:
//
//	version uint8 | family | protocolType | protocol | leader
//	generation int32 | members uvarint
//	per member, in join order:
//	  id | instanceID | clientID | clientHost | protocolType
//	  session ms uint32 | rebalance ms uint32 | assignment
//	  protocols uvarint | per protocol: name | metadata
const stateVersion = 1

// errCorruptState: a stored group state does not decode.
var errCorruptState = errors.New("corrupt stored group state")

// persist stores g's membership; c.mu is held. A failure is logged, not
// returned: the group goes on in memory and a restart costs it one
// rebalance, as it did before groups were stored.
func (c *Coordinator) persist(g *group) {
	if err := c.cfg.Store.PutGroupState(g.id, encodeState(g)); err != nil {
		c.logger.Warn("group state not stored", "group", g.id, "err", err)
	}
}

// forget removes g's stored membership; c.mu is held.
func (c *Coordinator) forget(id string) {
	if err := c.cfg.Store.DeleteGroupState(id); err != nil {
		c.logger.Warn("group state not removed", "group", id, "err", err)
	}
}

// Restore loads the groups stored before a restart; call it once, before
// serving. Members' sessions start again from now. A state that does not
// decode is logged and dropped: its members rejoin, as after a restart
// without stored groups.
func (c *Coordinator) Restore() (int, error) {
	states, err := c.cfg.Store.GroupStates()
	if err != nil {
		return 0, fmt.Errorf("restore groups: %w", err)
	}
	n := c.LoadGroups(states)
	if n > 0 {
		c.logger.Info("groups restored", "event", "groups_restored", "groups", n)
	}
	return n, nil
}

// LoadGroups brings back stored group states (group id to the encoding
// persist stores) as Restore does, replacing any group of the same id in
// memory: a broker that has just become the coordinator of some groups
// loads theirs. It returns how many it loaded.
func (c *Coordinator) LoadGroups(states map[string][]byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	n := 0
	for id, b := range states {
		g, err := decodeState(id, b, now)
		if err != nil {
			c.logger.Warn("stored group state dropped", "group", id, "err", err)
			c.forget(id)
			continue
		}
		if old := c.groups[id]; old != nil {
			c.dropLocked(old, ErrNotCoordinator)
		}
		c.groups[id] = g
		n++
		// One line per group at debug: a broker may load thousands; the
		// caller's line counts them (Restore's, net/grouplog's).
		c.logger.Debug("group restored", "group", id, "generation", g.generation, "members", len(g.members))
	}
	return n
}

// UnloadGroups forgets, in memory only, every group match selects: this
// broker no longer coordinates them. Members waiting in JoinGroup or
// SyncGroup are answered with ErrNotCoordinator, so that they find the new
// coordinator; nothing is written to the Store. It returns how many groups
// it dropped.
func (c *Coordinator) UnloadGroups(match func(group string) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, g := range c.groups {
		if match(id) {
			c.dropLocked(g, ErrNotCoordinator)
			n++
		}
	}
	if n > 0 {
		c.logger.Debug("groups unloaded: another broker coordinates them now", "groups", n)
	}
	return n
}

// dropLocked removes g from memory, answering its waiting members with
// err; c.mu is held.
func (c *Coordinator) dropLocked(g *group, err error) {
	for _, m := range g.members {
		m.answerJoin(joinOutcome{err: err})
		m.answerSync(syncOutcome{err: err})
	}
	g.state = Dead
	delete(c.groups, g.id)
}

func encodeState(g *group) []byte {
	b := []byte{stateVersion}
	b = appendString(b, g.family)
	b = appendString(b, g.protocolType)
	b = appendString(b, g.protocol)
	b = appendString(b, g.leader)
	b = binary.BigEndian.AppendUint32(b, uint32(g.generation))
	b = binary.AppendUvarint(b, uint64(len(g.order)))
	for _, id := range g.order {
		m := g.members[id]
		b = appendString(b, m.id)
		b = appendString(b, m.instanceID)
		b = appendString(b, m.clientID)
		b = appendString(b, m.clientHost)
		b = appendString(b, m.protocolType)
		b = binary.BigEndian.AppendUint32(b, uint32(m.session.Milliseconds()))
		b = binary.BigEndian.AppendUint32(b, uint32(m.rebalance.Milliseconds()))
		b = appendString(b, string(m.assignment))
		b = binary.AppendUvarint(b, uint64(len(m.protocols)))
		for _, p := range m.protocols {
			b = appendString(b, p.Name)
			b = appendString(b, string(p.Metadata))
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// stateReader reads the encoding; the first error sticks.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errCorruptState, what)
	}
}

func (r *stateReader) bytes(what string) []byte {
	n, k := binary.Uvarint(r.b)
	if r.err != nil || k <= 0 || n > uint64(len(r.b)-k) {
		r.fail(what)
		return nil
	}
	v := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return v
}

func (r *stateReader) string(what string) string { return string(r.bytes(what)) }

func (r *stateReader) uint32(what string) uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// count reads an element count, bounded by the bytes left (every element
// takes at least min bytes), so that a lying count cannot allocate much.
func (r *stateReader) count(what string, min int) int {
	n, k := binary.Uvarint(r.b)
	if r.err != nil || k <= 0 || n > uint64(len(r.b)-k)/uint64(min) {
		r.fail(what)
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func decodeState(id string, b []byte, now time.Time) (*group, error) {
	if len(b) == 0 || b[0] != stateVersion {
		return nil, fmt.Errorf("%w: version %v", errCorruptState, b[:min(len(b), 1)])
	}
	r := &stateReader{b: b[1:]}
	g := newGroup(id, now)
	g.state = Stable
	g.family = r.string("family")
	g.protocolType = r.string("protocol type")
	g.protocol = r.string("protocol")
	g.leader = r.string("leader")
	g.generation = int32(r.uint32("generation"))
	// A member takes at least 5 one-byte lengths, two uint32s, two more
	// lengths and a count.
	members := r.count("member count", 5+8+2+1)
	for range members {
		m := &member{lastHeard: now}
		m.id = r.string("member id")
		m.instanceID = r.string("instance id")
		m.clientID = r.string("client id")
		m.clientHost = r.string("client host")
		m.protocolType = r.string("member protocol type")
		m.session = time.Duration(r.uint32("session")) * time.Millisecond
		m.rebalance = time.Duration(r.uint32("rebalance")) * time.Millisecond
		if a := r.bytes("assignment"); a != nil {
			m.assignment = append([]byte{}, a...)
		}
		for range r.count("protocol count", 2) {
			p := Protocol{Name: r.string("protocol name")}
			if md := r.bytes("protocol metadata"); md != nil {
				p.Metadata = append([]byte{}, md...)
			}
			m.protocols = append(m.protocols, p)
		}
		if r.err != nil {
			return nil, r.err
		}
		if m.id == "" || g.members[m.id] != nil {
			return nil, fmt.Errorf("%w: member id %q empty or repeated", errCorruptState, m.id)
		}
		g.members[m.id] = m
		g.order = append(g.order, m.id)
		if m.instanceID != "" {
			g.statics[m.instanceID] = m.id
		}
	}
	switch {
	case r.err != nil:
		return nil, r.err
	case len(r.b) != 0:
		return nil, fmt.Errorf("%w: %d bytes after the last member", errCorruptState, len(r.b))
	case len(g.members) == 0 || g.members[g.leader] == nil:
		return nil, fmt.Errorf("%w: no members, or the leader %q is not one", errCorruptState, g.leader)
	}
	return g, nil
}
