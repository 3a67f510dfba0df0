package group

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// CommitRequest is an OffsetCommit. A member commits with its generation
// and member id; an administrator (or a consumer outside any group)
// commits with Generation -1 and no member id, which only an empty group
// accepts.
type CommitRequest struct {
	Group                string
	Generation           int32
	MemberID, InstanceID string
	Offsets              []engine.OffsetCommit
}

// CommitOffsets checks the committer against the group's current
// generation and has the Store write the offsets (synced before it
// returns). The slice has one error per offset, nil for those written.
//
// The generation is checked under the coordinator's lock and the write
// happens after it is released, so that one group's disk sync holds up no
// other group; a rebalance that starts in that window lets the commit of
// the just-ended generation through, as Kafka does for commits in
// PreparingRebalance.
func (c *Coordinator) CommitOffsets(req CommitRequest) ([]error, error) {
	if err := c.check(req.Group); err != nil {
		return nil, err
	}
	c.mu.Lock()
	g := c.groups[req.Group]
	switch {
	case req.Generation < 0 && req.MemberID == "":
		if g != nil && len(g.members) > 0 {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: group %q has active members; only they may commit", ErrUnknownMemberID, req.Group)
		}
	default:
		var err error
		if g, _, err = c.checkMember(req.Group, req.MemberID, req.InstanceID, req.Generation); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if g.state == CompletingRebalance {
			c.mu.Unlock()
			return nil, ErrRebalanceInProgress
		}
	}
	c.mu.Unlock()
	errs, err := c.cfg.Store.CommitOffsets(req.Group, req.Offsets)
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// FetchOffsets returns the group's committed offsets.
func (c *Coordinator) FetchOffsets(groupID string) (map[engine.TopicPartition]engine.CommittedOffset, error) {
	if err := c.check(groupID); err != nil {
		return nil, err
	}
	return c.cfg.Store.FetchOffsets(groupID)
}

// Listing is one group in ListGroups.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// ListGroups lists every group the coordinator knows: those with members
// and those with only committed offsets (Empty).
func (c *Coordinator) ListGroups() ([]Listing, error) {
	stored, err := c.cfg.Store.GroupsWithOffsets()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	seen := map[string]bool{}
	var out []Listing
	for _, g := range c.groups {
		if g.state == Dead {
			continue
		}
		seen[g.id] = true
		out = append(out, Listing{Group: g.id, ProtocolType: g.protocolType, State: g.state})
	}
	c.mu.Unlock()
	for _, s := range stored {
		if !seen[s.Group] {
			out = append(out, Listing{Group: s.Group, State: Empty})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}

// Description is a group's state and members, for DescribeGroups.
type Description struct {
	Group        string
	State        State
	ProtocolType string
	Protocol     string
	Generation   int32
	Leader       string
	Members      []MemberDescription
}

// MemberDescription is one member: its subscription metadata for the
// chosen protocol and its current assignment, both opaque here.
type MemberDescription struct {
	MemberID, InstanceID string
	ClientID, ClientHost string
	Metadata             []byte
	Assignment           []byte
}

// DescribeGroup describes a group. An unknown group is Dead with no
// members, as in Kafka; one with only offsets is Empty.
func (c *Coordinator) DescribeGroup(groupID string) (Description, error) {
	if err := c.check(groupID); err != nil {
		return Description{}, err
	}
	c.mu.Lock()
	g := c.groups[groupID]
	if g != nil && g.state != Dead {
		d := Description{Group: g.id, State: g.state, ProtocolType: g.protocolType, Protocol: g.protocol,
			Generation: g.generation, Leader: g.leader}
		for _, id := range g.order {
			m := g.members[id]
			d.Members = append(d.Members, MemberDescription{MemberID: id, InstanceID: m.instanceID,
				ClientID: m.clientID, ClientHost: m.clientHost, Metadata: m.metadataFor(g.protocol), Assignment: m.assignment})
		}
		c.mu.Unlock()
		return d, nil
	}
	c.mu.Unlock()
	offs, err := c.cfg.Store.FetchOffsets(groupID)
	if err != nil {
		return Description{}, err
	}
	if len(offs) > 0 {
		return Description{Group: groupID, State: Empty}, nil
	}
	return Description{Group: groupID, State: Dead}, nil
}

// DeleteGroups deletes empty groups and their offsets; the slice has one
// error per group (ErrGroupIDNotFound, ErrNonEmptyGroup, or nil).
func (c *Coordinator) DeleteGroups(ids []string) []error {
	errs := make([]error, len(ids))
	for i, id := range ids {
		errs[i] = c.deleteGroup(id)
	}
	return errs
}

func (c *Coordinator) deleteGroup(id string) error {
	if err := c.check(id); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock() // held across the delete so no member joins meanwhile
	g := c.groups[id]
	if g != nil && len(g.members) > 0 {
		return fmt.Errorf("%w: group %q has %d members", ErrNonEmptyGroup, id, len(g.members))
	}
	if g == nil || g.state == Dead {
		offs, err := c.cfg.Store.FetchOffsets(id)
		if err != nil {
			return err
		}
		if len(offs) == 0 {
			return fmt.Errorf("%w: %q", ErrGroupIDNotFound, id)
		}
	}
	if err := c.cfg.Store.DeleteGroupOffsets(id); err != nil {
		return err
	}
	c.forget(id)
	if g != nil {
		g.state = Dead
		delete(c.groups, id)
	}
	c.logger.Info("group deleted", "event", "group_deleted", "group", id)
	return nil
}

// ExpireOffsets deletes the offsets of every group that has had no members
// for OffsetsRetention (counted from the later of its last commit and the
// time it became empty), and returns the groups it expired.
func (c *Coordinator) ExpireOffsets() ([]string, error) {
	stored, err := c.cfg.Store.GroupsWithOffsets()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// An empty group with no offsets is nothing but memory: forget it.
	hasOffsets := map[string]bool{}
	for _, s := range stored {
		hasOffsets[s.Group] = true
	}
	for id, g := range c.groups {
		if g.state == Empty && len(g.members) == 0 && len(g.pending) == 0 && !hasOffsets[id] {
			delete(c.groups, id)
		}
	}
	var expired []string
	var errs []error
	for _, s := range stored {
		since := s.LastCommit
		if g := c.groups[s.Group]; g != nil {
			if len(g.members) > 0 || g.state != Empty {
				continue
			}
			if g.emptySince.After(since) {
				since = g.emptySince
			}
		}
		if now.Sub(since) < c.cfg.OffsetsRetention {
			continue
		}
		if err := c.cfg.Store.DeleteGroupOffsets(s.Group); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(c.groups, s.Group)
		expired = append(expired, s.Group)
		c.logger.Info("group offsets expired", "event", "offsets_expired", "group", s.Group, "empty_for", now.Sub(since).Round(time.Second))
	}
	return expired, errors.Join(errs...)
}
