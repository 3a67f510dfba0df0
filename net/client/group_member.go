package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

// The membership half of GroupConsumer: join rounds (JoinGroup, the
// leader's assignment, SyncGroup) on their own goroutine, heartbeats on
// another, all on the coordinator connection.

// joinRound is the outcome of one JoinGroup + SyncGroup.
type joinRound struct {
	assignment protocol.ConsumerAssignment
	generation int32
	memberID   string
	err        error
}

// coordAddress finds the group's coordinator (and remembers it).
func (g *GroupConsumer) coordAddress(ctx context.Context) (string, error) {
	g.mu.Lock()
	addr := g.coordAddr
	g.mu.Unlock()
	if addr != "" {
		return addr, nil
	}
	var resp protocol.FindCoordinatorResponse
	req := &protocol.FindCoordinatorRequest{CoordinatorKey: g.cfg.GroupID, KeyType: protocol.CoordinatorKeyGroup}
	if err := g.cl.call(ctx, "", req, &resp, true); err != nil {
		return "", err
	}
	if err := brokerErr(protocol.FindCoordinator, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
		return "", err
	}
	addr = net.JoinHostPort(resp.Host, strconv.Itoa(int(resp.Port)))
	g.mu.Lock()
	g.coordAddr = addr
	g.mu.Unlock()
	return addr, nil
}

// coordCall sends a membership request on the coordinator connection. A
// broken connection or a coordinator that moved makes the next call look
// the coordinator up again.
func (g *GroupConsumer) coordCall(ctx context.Context, req protocol.Request, resp protocol.Response, timeout time.Duration) error {
	addr, err := g.coordAddress(ctx)
	if err != nil {
		return err
	}
	c, err := g.coord.get(ctx, addr)
	if err == nil {
		err = c.roundTrip(ctx, req, resp, timeout)
	}
	if err == nil {
		switch resp.TopError() {
		case protocol.ErrNotCoordinator, protocol.ErrCoordinatorNotAvailable, protocol.ErrCoordinatorLoadInProgress:
		default:
			return nil
		}
	}
	g.mu.Lock()
	g.coordAddr = ""
	g.mu.Unlock()
	return err
}

// joinRound runs one round and hands its outcome to Poll.
func (g *GroupConsumer) joinRound(sub protocol.ConsumerSubscription) {
	r := g.join(sub)
	g.mu.Lock()
	g.inJoin = false
	g.mu.Unlock()
	if r.err != nil && !errors.Is(r.err, ErrClosed) && g.ctx.Err() == nil {
		g.cl.logger.Debug("join round failed", "group", g.cfg.GroupID, "err", r.err)
		if !rejoinAtOnce(r.err) {
			sleep(g.ctx, 200*time.Millisecond) // a broker that is down or busy: do not spin
		}
	}
	if g.ctx.Err() != nil && r.err == nil {
		r.err = ErrClosed
	}
	g.results <- r // cap 1, one round at a time
}

// rejoinAtOnce reports whether a failed round is the group's way of
// saying "join again now".
func rejoinAtOnce(err error) bool {
	return errors.Is(err, protocol.ErrRebalanceInProgress) || errors.Is(err, protocol.ErrUnknownMemberID) ||
		errors.Is(err, protocol.ErrIllegalGeneration)
}

func (g *GroupConsumer) join(sub protocol.ConsumerSubscription) joinRound {
	meta := sub.AppendTo(nil)
	var protocols []protocol.JoinGroupRequestProtocol
	for _, a := range g.cfg.Assignors {
		protocols = append(protocols, protocol.JoinGroupRequestProtocol{Name: a.Name(), Metadata: meta})
	}
	var instance *string
	if g.cfg.InstanceID != "" {
		instance = &g.cfg.InstanceID
	}
	wait := g.cfg.MaxPollInterval + g.cl.cfg.RequestTimeout
	var resp protocol.JoinGroupResponse
	for attempt := 0; ; attempt++ {
		g.mu.Lock()
		memberID := g.memberID
		g.mu.Unlock()
		req := &protocol.JoinGroupRequest{
			GroupID: g.cfg.GroupID, SessionTimeoutMs: ms32(g.cfg.SessionTimeout), RebalanceTimeoutMs: ms32(g.cfg.MaxPollInterval),
			MemberID: memberID, GroupInstanceID: instance, ProtocolType: protocol.ConsumerProtocolType,
			Protocols: protocols, ClientID: g.cfg.ClientID,
		}
		if err := g.coordCall(g.ctx, req, &resp, wait); err != nil {
			return joinRound{err: fmt.Errorf("join group %s: %w", g.cfg.GroupID, err)}
		}
		if resp.ErrorCode == protocol.ErrMemberIDRequired && attempt == 0 {
			g.mu.Lock()
			g.memberID = resp.MemberID
			g.mu.Unlock()
			continue
		}
		if err := brokerErr(protocol.JoinGroup, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
			return joinRound{err: err}
		}
		break
	}
	g.mu.Lock()
	g.memberID, g.generation = resp.MemberID, resp.GenerationID
	g.mu.Unlock()
	var assignments []protocol.SyncGroupRequestAssignment
	if resp.Leader == resp.MemberID && len(resp.Members) > 0 {
		var err error
		if assignments, err = g.lead(&resp); err != nil {
			return joinRound{err: err}
		}
	} else {
		g.mu.Lock()
		g.assigned = nil
		g.mu.Unlock()
	}
	req := &protocol.SyncGroupRequest{GroupID: g.cfg.GroupID, GenerationID: resp.GenerationID, MemberID: resp.MemberID,
		GroupInstanceID: instance, Assignments: assignments}
	var sresp protocol.SyncGroupResponse
	if err := g.coordCall(g.ctx, req, &sresp, wait); err != nil {
		return joinRound{err: fmt.Errorf("sync group %s: %w", g.cfg.GroupID, err)}
	}
	if err := brokerErr(protocol.SyncGroup, sresp.ErrorCode, "", -1, sresp.ErrorMessage); err != nil {
		return joinRound{err: err}
	}
	r := joinRound{generation: resp.GenerationID, memberID: resp.MemberID}
	if err := r.assignment.DecodeFrom(sresp.Assignment); err != nil {
		return joinRound{err: fmt.Errorf("group %s: the leader's assignment: %w", g.cfg.GroupID, err)}
	}
	return r
}

func ms32(d time.Duration) int32 { return int32(min(d.Milliseconds(), 1<<31-1)) }

// lead computes the group's assignment: the member is the leader.
func (g *GroupConsumer) lead(resp *protocol.JoinGroupResponse) ([]protocol.SyncGroupRequestAssignment, error) {
	var a assign.Assignor
	for _, c := range g.cfg.Assignors {
		if c.Name() == resp.ProtocolName {
			a = c
		}
	}
	if a == nil {
		return nil, fmt.Errorf("group %s: the coordinator chose assignor %q, which this member does not have", g.cfg.GroupID, resp.ProtocolName)
	}
	members := make([]assign.Member, 0, len(resp.Members))
	topicSet := map[string]bool{}
	for _, m := range resp.Members {
		var sub protocol.ConsumerSubscription
		if err := sub.DecodeFrom(m.Metadata); err != nil {
			g.cl.logger.Warn("unreadable subscription: the member gets nothing", "group", g.cfg.GroupID, "member", m.MemberID, "err", err)
		}
		am := assign.Member{ID: m.MemberID, Topics: sub.Topics, Generation: sub.Generation}
		for _, o := range sub.Owned {
			for _, p := range o.Partitions {
				am.Owned = append(am.Owned, assign.TopicPartition{Topic: o.Topic, Partition: p})
			}
		}
		for _, t := range sub.Topics {
			topicSet[t] = true
		}
		members = append(members, am)
	}
	topics := sortedStrings(topicSet)
	md, err := g.cl.refreshMetadata(g.ctx, topics, false)
	if err != nil {
		return nil, fmt.Errorf("group %s: metadata for the assignment: %w", g.cfg.GroupID, err)
	}
	partitions := partitionCounts(md, topics)
	g.mu.Lock()
	g.assigned = partitions
	g.mu.Unlock()
	out := a.Assign(members, partitions)
	assignments := make([]protocol.SyncGroupRequestAssignment, 0, len(members))
	for _, m := range members {
		var ca protocol.ConsumerAssignment
		for _, p := range out[m.ID] {
			if n := len(ca.Partitions); n == 0 || ca.Partitions[n-1].Topic != p.Topic {
				ca.Partitions = append(ca.Partitions, protocol.ConsumerTopicPartitions{Topic: p.Topic})
			}
			last := &ca.Partitions[len(ca.Partitions)-1]
			last.Partitions = append(last.Partitions, p.Partition)
		}
		assignments = append(assignments, protocol.SyncGroupRequestAssignment{MemberID: m.ID, Assignment: ca.AppendTo(nil)})
	}
	return assignments, nil
}

// partitionCounts is each topic's partition count in md, 0 for a topic
// that does not exist (or failed).
func partitionCounts(md *protocol.MetadataResponse, topics []string) map[string]int32 {
	counts := make(map[string]int32, len(topics))
	for _, t := range topics {
		counts[t] = 0
	}
	for _, t := range md.Topics {
		if _, ok := counts[t.Name]; ok && t.ErrorCode == protocol.NoError {
			counts[t.Name] = int32(len(t.Partitions))
		}
	}
	return counts
}

// metadataLoop is the leader's watch on the subscribed topics: every
// MetadataMaxAge it compares their partition counts with those of its last
// assignment and asks for a rebalance when they differ.
func (g *GroupConsumer) metadataLoop() {
	defer close(g.mdDone)
	t := time.NewTicker(g.cfg.MetadataMaxAge)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		assigned, busy := g.assigned, g.inJoin || g.rejoin
		g.mu.Unlock()
		if assigned == nil || busy {
			continue
		}
		topics := sortedStrings(assigned)
		ctx, cancel := context.WithTimeout(g.ctx, g.cl.cfg.RequestTimeout)
		md, err := g.cl.refreshMetadata(ctx, topics, false)
		cancel()
		if err != nil {
			continue // tried again at the next tick
		}
		now := partitionCounts(md, topics)
		if maps.Equal(now, assigned) {
			continue
		}
		g.mu.Lock()
		if maps.Equal(g.assigned, assigned) { // still the same assignment
			g.rejoin = true
		}
		g.mu.Unlock()
		g.cl.logger.Info("subscribed topics changed: rebalancing", "group", g.cfg.GroupID, "assigned_with", assigned, "now", now)
	}
}

// heartbeatLoop keeps the session alive between join rounds, and leaves
// the group when Poll has not been called for MaxPollInterval.
func (g *GroupConsumer) heartbeatLoop() {
	defer close(g.hbDone)
	t := time.NewTicker(g.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		memberID, gen, inJoin, lastPoll := g.memberID, g.generation, g.inJoin, g.lastPoll
		g.mu.Unlock()
		if memberID == "" || gen < 0 || inJoin {
			continue // a member waiting in JoinGroup or SyncGroup needs no heartbeat
		}
		if time.Since(lastPoll) > g.cfg.MaxPollInterval {
			g.cl.logger.Warn("no Poll within max.poll.interval: leaving the group", "group", g.cfg.GroupID,
				"max_poll_interval", g.cfg.MaxPollInterval)
			ctx, cancel := context.WithTimeout(g.ctx, g.cl.cfg.RequestTimeout)
			if err := g.leave(ctx, memberID); err != nil {
				g.cl.logger.Debug("leave failed", "err", err)
			}
			cancel()
			g.mu.Lock()
			if g.memberID == memberID {
				g.memberID, g.generation, g.lost, g.rejoin = "", -1, true, true
			}
			g.mu.Unlock()
			continue
		}
		var instance *string
		if g.cfg.InstanceID != "" {
			instance = &g.cfg.InstanceID
		}
		var resp protocol.HeartbeatResponse
		err := g.coordCall(g.ctx, &protocol.HeartbeatRequest{GroupID: g.cfg.GroupID, GenerationID: gen, MemberID: memberID, GroupInstanceID: instance},
			&resp, g.cl.cfg.RequestTimeout)
		if err != nil {
			continue // retried at the next tick
		}
		g.mu.Lock()
		if g.memberID != memberID || g.generation != gen || g.inJoin {
			g.mu.Unlock()
			continue // the answer is about a generation that is over
		}
		switch resp.ErrorCode {
		case protocol.NoError:
		case protocol.ErrRebalanceInProgress:
			g.rejoin = true
		case protocol.ErrIllegalGeneration:
			g.generation, g.lost, g.rejoin = -1, true, true
		case protocol.ErrUnknownMemberID:
			g.memberID, g.generation, g.lost, g.rejoin = "", -1, true, true
		case protocol.ErrFencedInstanceID:
			g.fatal = fmt.Errorf("group %s: %w", g.cfg.GroupID, brokerErr(protocol.Heartbeat, resp.ErrorCode, "", -1, resp.ErrorMessage))
		default:
			g.cl.logger.Debug("heartbeat error", "group", g.cfg.GroupID, "code", resp.ErrorCode.String())
		}
		g.mu.Unlock()
	}
}

// leave sends LeaveGroup for the member.
func (g *GroupConsumer) leave(ctx context.Context, memberID string) error {
	var instance *string
	if g.cfg.InstanceID != "" {
		instance = &g.cfg.InstanceID
	}
	var resp protocol.LeaveGroupResponse
	req := &protocol.LeaveGroupRequest{GroupID: g.cfg.GroupID, Members: []protocol.LeaveGroupRequestMember{{MemberID: memberID, GroupInstanceID: instance}}}
	if err := g.coordCall(ctx, req, &resp, g.cl.cfg.RequestTimeout); err != nil {
		return fmt.Errorf("leave group %s: %w", g.cfg.GroupID, err)
	}
	if err := brokerErr(protocol.LeaveGroup, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
		return err
	}
	for _, m := range resp.Members {
		if err := brokerErr(protocol.LeaveGroup, m.ErrorCode, "", -1, nil); err != nil {
			return err
		}
	}
	return nil
}
