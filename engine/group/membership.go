package group

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// JoinRequest is a member's JoinGroup.
type JoinRequest struct {
	Group string
	// MemberID is empty on a member's first join.
	MemberID string
	// InstanceID is group.instance.id: non-empty makes the member static.
	InstanceID           string
	ClientID, ClientHost string
	// Family is the wire protocol the request came in by (FamilyNative).
	Family       string
	ProtocolType string
	Protocols    []Protocol
	// SessionTimeout must lie in the broker's range; RebalanceTimeout
	// (max.poll.interval.ms) bounds a rebalance, the session timeout when 0.
	SessionTimeout, RebalanceTimeout time.Duration
}

// JoinResult is what a member learns when the join phase completes.
type JoinResult struct {
	Generation   int32
	ProtocolType string
	Protocol     string
	Leader       string
	MemberID     string
	// Members is for the leader only: every member and its metadata for
	// the chosen protocol, in join order.
	Members []MemberMetadata
}

// MemberMetadata is one member's subscription, for the leader.
type MemberMetadata struct {
	MemberID, InstanceID string
	Metadata             []byte
}

// JoinGroup adds or refreshes a member and waits for the join phase to
// complete. A dynamic member's first join (empty MemberID) returns at once
// with ErrMemberIDRequired and the id to join with.
func (c *Coordinator) JoinGroup(ctx context.Context, req JoinRequest) (JoinResult, error) {
	if err := c.check(req.Group); err != nil {
		return JoinResult{}, err
	}
	if req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout {
		return JoinResult{}, fmt.Errorf("%w: %v is not within [%v, %v] (group.min/max.session.timeout.ms)",
			ErrInvalidSessionTimeout, req.SessionTimeout, c.cfg.MinSessionTimeout, c.cfg.MaxSessionTimeout)
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout
	}
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return JoinResult{}, fmt.Errorf("%w: a join needs a protocol type and at least one protocol", ErrInconsistentGroupProtocol)
	}
	if req.Family == "" {
		req.Family = FamilyNative
	}
	c.mu.Lock()
	ch, res, err := c.join(req)
	c.mu.Unlock()
	if ch == nil {
		return res, err
	}
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		return JoinResult{}, fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, ctx.Err())
	}
}

// join does JoinGroup's work under c.mu: it returns a channel to wait on,
// or the immediate answer.
func (c *Coordinator) join(req JoinRequest) (chan joinOutcome, JoinResult, error) {
	now := c.now()
	g := c.groups[req.Group]
	if g == nil {
		g = newGroup(req.Group, now)
		c.groups[req.Group] = g
	}
	if len(g.members) > 0 && g.family != req.Family {
		return nil, JoinResult{}, fmt.Errorf("%w: group %q is in use by %s clients, this request came by the %s protocol",
			ErrInconsistentGroupProtocol, g.id, g.family, req.Family)
	}
	if len(g.members) > 0 && (g.protocolType != "" && g.protocolType != req.ProtocolType || len(g.candidates(req.Protocols)) == 0) {
		return nil, JoinResult{}, fmt.Errorf("%w: group %q uses protocol type %q with protocols the request does not share",
			ErrInconsistentGroupProtocol, g.id, g.protocolType)
	}
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	g.family = req.Family

	var m *member
	switch {
	case req.MemberID == "" && req.InstanceID != "":
		if oldID, ok := g.statics[req.InstanceID]; ok {
			// A static member restarting: it takes over its old slot under
			// a new id, and the old id is fenced.
			old := g.members[oldID]
			old.answerJoin(joinOutcome{err: ErrFencedInstanceID})
			old.answerSync(syncOutcome{err: ErrFencedInstanceID})
			newID := newMemberID(req.ClientID)
			delete(g.members, oldID)
			old.id = newID
			g.members[newID] = old
			for i, id := range g.order {
				if id == oldID {
					g.order[i] = newID
				}
			}
			g.statics[req.InstanceID] = newID
			if g.leader == oldID {
				g.leader = newID
			}
			m = old
			c.logger.Debug("static member rejoined", "group", g.id, "instance", req.InstanceID, "old", oldID, "new", newID)
			if g.state == Stable && g.leader != newID && sameProtocols(m.protocols, req.Protocols) {
				// Nothing changed: the member gets its assignment back at
				// SyncGroup, without a rebalance.
				m.lastHeard = now
				m.session, m.rebalance = req.SessionTimeout, req.RebalanceTimeout
				c.persist(g) // the new member id
				return nil, JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol,
					Leader: g.leader, MemberID: newID}, nil
			}
		} else {
			m = &member{id: newMemberID(req.ClientID), instanceID: req.InstanceID}
			g.members[m.id] = m
			g.order = append(g.order, m.id)
			g.statics[req.InstanceID] = m.id
		}
	case req.MemberID == "":
		id := newMemberID(req.ClientID)
		g.pending[id] = now.Add(req.SessionTimeout)
		return nil, JoinResult{MemberID: id}, ErrMemberIDRequired
	default:
		m = g.members[req.MemberID]
		if m == nil {
			if _, ok := g.pending[req.MemberID]; !ok || req.InstanceID != "" {
				return nil, JoinResult{}, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, req.MemberID, g.id)
			}
			delete(g.pending, req.MemberID)
			m = &member{id: req.MemberID}
			g.members[m.id] = m
			g.order = append(g.order, m.id)
		} else if m.instanceID != req.InstanceID {
			return nil, JoinResult{}, fmt.Errorf("%w: member %q has instance id %q, not %q", ErrFencedInstanceID, m.id, m.instanceID, req.InstanceID)
		}
	}
	m.clientID, m.clientHost = req.ClientID, req.ClientHost
	m.protocolType, m.protocols = req.ProtocolType, cloneProtocols(req.Protocols)
	m.session, m.rebalance = req.SessionTimeout, req.RebalanceTimeout
	m.lastHeard = now
	m.answerJoin(joinOutcome{err: ErrRebalanceInProgress}) // a duplicate join replaces the first
	m.joinCh = make(chan joinOutcome, 1)
	ch := m.joinCh
	switch g.state {
	case Empty, Stable, CompletingRebalance:
		c.prepareRebalance(g, reasonMemberJoined, m.id)
	case PreparingRebalance:
		if g.initialDelay {
			g.joinDeadline = minTime(now.Add(c.cfg.InitialRebalanceDelay), g.joinMax)
		}
	}
	c.maybeCompleteJoin(g)
	return ch, JoinResult{}, nil
}

func sameProtocols(a, b []Protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Metadata, b[i].Metadata) {
			return false
		}
	}
	return true
}

// SyncRequest is a member's SyncGroup; only the leader's carries
// assignments.
type SyncRequest struct {
	Group                string
	Generation           int32
	MemberID, InstanceID string
	Assignments          []MemberAssignment
}

// MemberAssignment is the leader's assignment for one member.
type MemberAssignment struct {
	MemberID   string
	Assignment []byte
}

// SyncGroup waits for the leader's assignments and returns the member's.
func (c *Coordinator) SyncGroup(ctx context.Context, req SyncRequest) ([]byte, error) {
	if err := c.check(req.Group); err != nil {
		return nil, err
	}
	c.mu.Lock()
	g, m, err := c.checkMember(req.Group, req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	switch g.state {
	case PreparingRebalance:
		c.mu.Unlock()
		return nil, ErrRebalanceInProgress
	case Stable:
		a := m.assignment
		c.mu.Unlock()
		return a, nil
	}
	// CompletingRebalance.
	m.answerSync(syncOutcome{err: ErrRebalanceInProgress})
	m.syncCh = make(chan syncOutcome, 1)
	ch := m.syncCh
	m.lastHeard = c.now()
	if m.id == g.leader {
		given := map[string][]byte{}
		for _, a := range req.Assignments {
			// Copied: the request's bytes belong to the caller (a
			// server's recycled frame buffer), the group keeps these.
			given[a.MemberID] = bytes.Clone(a.Assignment)
		}
		for _, mm := range g.members {
			mm.assignment = given[mm.id]
		}
		g.state = Stable
		c.persist(g)
		for _, mm := range g.members {
			mm.answerSync(syncOutcome{assignment: mm.assignment})
		}
		c.logger.Info("group stable", append([]any{"event", "group_stable", "group", g.id, "generation", g.generation,
			"members", len(g.members), "protocol_type", g.protocolType, "protocol", g.protocol, "leader", g.leader}, removedArg(g)...)...)
	}
	c.mu.Unlock()
	select {
	case o := <-ch:
		return o.assignment, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, ctx.Err())
	}
}

// checkMember finds a live member of a group at a generation (any
// generation when gen is negative), with the errors Kafka gives.
func (c *Coordinator) checkMember(groupID, memberID, instanceID string, gen int32) (*group, *member, error) {
	g := c.groups[groupID]
	if g == nil || g.state == Dead {
		return nil, nil, fmt.Errorf("%w: group %q has no members", ErrUnknownMemberID, groupID)
	}
	if instanceID != "" {
		if id, ok := g.statics[instanceID]; ok && id != memberID {
			return nil, nil, fmt.Errorf("%w: instance %q is now member %q", ErrFencedInstanceID, instanceID, id)
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, nil, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, memberID, groupID)
	}
	if gen >= 0 && gen != g.generation {
		return nil, nil, fmt.Errorf("%w: %d, the group is at generation %d", ErrIllegalGeneration, gen, g.generation)
	}
	return g, m, nil
}

// Heartbeat keeps a member's session alive and tells it whether to rejoin
// (ErrRebalanceInProgress).
func (c *Coordinator) Heartbeat(groupID string, gen int32, memberID, instanceID string) error {
	if err := c.check(groupID); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g, m, err := c.checkMember(groupID, memberID, instanceID, -1)
	if err != nil {
		return err
	}
	m.lastHeard = c.now()
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	if gen != g.generation {
		return fmt.Errorf("%w: %d, the group is at generation %d", ErrIllegalGeneration, gen, g.generation)
	}
	return nil
}

// LeaveMember names a member leaving: by member id, or by instance id
// alone (an administrator removing a static member).
type LeaveMember struct {
	MemberID, InstanceID string
}

// LeaveGroup removes members; the group rebalances without them. The
// result has one error per member (nil for those removed).
func (c *Coordinator) LeaveGroup(groupID string, members []LeaveMember) ([]error, error) {
	if err := c.check(groupID); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[groupID]
	if g == nil || g.state == Dead {
		return nil, fmt.Errorf("%w: group %q has no members", ErrUnknownMemberID, groupID)
	}
	errs := make([]error, len(members))
	var left []string
	for i, lm := range members {
		id := lm.MemberID
		if lm.InstanceID != "" {
			sid, ok := g.statics[lm.InstanceID]
			switch {
			case !ok:
				errs[i] = fmt.Errorf("%w: no member has instance id %q", ErrUnknownMemberID, lm.InstanceID)
				continue
			case id != "" && sid != id:
				errs[i] = fmt.Errorf("%w: instance %q is member %q", ErrFencedInstanceID, lm.InstanceID, sid)
				continue
			}
			id = sid
		}
		m := g.members[id]
		if m == nil {
			errs[i] = fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, id, groupID)
			continue
		}
		c.logger.Debug("member left", "group", g.id, "member", id)
		g.removeMember(m)
		left = append(left, id)
	}
	if len(left) > 0 {
		switch g.state {
		case Stable, CompletingRebalance:
			c.prepareRebalance(g, reasonMemberLeft, left...)
		}
		c.maybeCompleteJoin(g)
	}
	return errs, nil
}

// cloneProtocols copies a join's protocols, metadata included: a member's
// subscription outlives the request it came in (a server reuses its frame
// buffers), and DescribeGroups and later joins read it.
func cloneProtocols(ps []Protocol) []Protocol {
	out := make([]Protocol, len(ps))
	for i, p := range ps {
		out[i] = Protocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	return out
}
