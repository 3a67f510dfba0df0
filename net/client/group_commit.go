package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

// Committing and reading a group member's positions.

// asyncCommit is one CommitAsync waiting for the commit goroutine.
type asyncCommit struct {
	offsets map[TopicPartition]int64
	cb      func(map[TopicPartition]int64, error)
}

// CommitSync commits the positions of every partition the member owns: the
// offsets after the records Poll has returned. It fails, wrapping
// protocol.ErrIllegalGeneration or protocol.ErrUnknownMemberID, when the
// member's generation is over (its partitions may belong to others now),
// and with protocol.ErrRebalanceInProgress while the group waits for the
// leader's assignment.
func (g *GroupConsumer) CommitSync(ctx context.Context) error {
	return g.CommitOffsets(ctx, g.currentPositions())
}

func (g *GroupConsumer) currentPositions() map[TopicPartition]int64 {
	g.mu.Lock()
	owned := g.ownedSnap
	g.mu.Unlock()
	offs := make(map[TopicPartition]int64, len(owned))
	for _, p := range owned {
		if pos := g.k.Position(p.Topic, p.Partition); pos >= 0 {
			offs[p] = pos
		}
	}
	return offs
}

// CommitAsync commits offsets (the current positions when nil) on a
// background goroutine, in the order of the calls, and calls cb (if not
// nil) with the outcome, on that goroutine.
func (g *GroupConsumer) CommitAsync(offsets map[TopicPartition]int64, cb func(map[TopicPartition]int64, error)) {
	if offsets == nil {
		offsets = g.currentPositions()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.asyncClosed {
		if cb != nil {
			go cb(offsets, ErrClosed)
		}
		return
	}
	select {
	case g.async <- asyncCommit{offsets, cb}:
	default:
		// A full queue means the coordinator is slow: later commits
		// supersede this one.
		if cb != nil {
			go cb(offsets, fmt.Errorf("group %s: commit queue full; commit skipped", g.cfg.GroupID))
		}
	}
}

func (g *GroupConsumer) asyncLoop() {
	defer g.asyncW.Done()
	for c := range g.async {
		err := g.CommitOffsets(g.ctx, c.offsets)
		if err != nil {
			g.cl.logger.Debug("async commit failed", "group", g.cfg.GroupID, "err", err)
		}
		if c.cb != nil {
			c.cb(c.offsets, err)
		}
	}
}

func (g *GroupConsumer) stopAsync() {
	g.mu.Lock()
	if !g.asyncClosed {
		g.asyncClosed = true
		close(g.async)
	}
	g.mu.Unlock()
	g.asyncW.Wait()
}

// CommitOffsets commits the given offsets (each the offset of the next
// record to read) with the member's generation. Nothing to commit is
// success.
func (g *GroupConsumer) CommitOffsets(ctx context.Context, offsets map[TopicPartition]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	g.mu.Lock()
	memberID, gen := g.memberID, g.generation
	g.mu.Unlock()
	if gen < 0 {
		return fmt.Errorf("group %s: commit: %w", g.cfg.GroupID, ErrNotMember)
	}
	var instance *string
	if g.cfg.InstanceID != "" {
		instance = &g.cfg.InstanceID
	}
	req := &protocol.OffsetCommitRequest{GroupID: g.cfg.GroupID, GenerationID: gen, MemberID: memberID, GroupInstanceID: instance,
		Topics: commitTopics(offsets)}
	return g.cl.commit(ctx, req)
}

// commitTopics groups offsets by topic, in order.
func commitTopics(offsets map[TopicPartition]int64) []protocol.OffsetCommitRequestTopic {
	ps := make([]TopicPartition, 0, len(offsets))
	for p := range offsets {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, assign.Compare)
	var out []protocol.OffsetCommitRequestTopic
	for _, p := range ps {
		if n := len(out); n == 0 || out[n-1].Name != p.Topic {
			out = append(out, protocol.OffsetCommitRequestTopic{Name: p.Topic})
		}
		t := &out[len(out)-1]
		t.Partitions = append(t.Partitions, protocol.OffsetCommitRequestPartition{Partition: p.Partition, Offset: offsets[p], LeaderEpoch: -1})
	}
	return out
}

// commit sends an OffsetCommit to the group's coordinator and gathers its
// errors. Repeating a commit of the same offsets changes nothing, so
// connection failures are retried.
func (cl *Client) commit(ctx context.Context, req *protocol.OffsetCommitRequest) error {
	var resp protocol.OffsetCommitResponse
	if err := cl.groupCall(ctx, req.GroupID, req, &resp, true, resp.TopError); err != nil {
		return fmt.Errorf("commit offsets of group %s: %w", req.GroupID, err)
	}
	if err := brokerErr(protocol.OffsetCommit, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
		return fmt.Errorf("commit offsets of group %s: %w", req.GroupID, err)
	}
	var errs []error
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := brokerErr(protocol.OffsetCommit, p.ErrorCode, t.Name, p.Partition, nil); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("commit offsets of group %s: %w", req.GroupID, errors.Join(errs...))
	}
	return nil
}

// CommittedOffset is a group's committed position of a partition.
type CommittedOffset struct {
	Offset   int64
	Metadata string
	// CommitTimestamp is when it was committed, in ms since the epoch.
	CommitTimestamp int64
}

// FetchGroupOffsets returns a group's committed offsets, as its
// coordinator has them: of the partitions named, or of all it committed
// when partitions is nil. Partitions without a committed offset are left
// out.
func (cl *Client) FetchGroupOffsets(ctx context.Context, group string, partitions []TopicPartition) (map[TopicPartition]CommittedOffset, error) {
	req := &protocol.OffsetFetchRequest{GroupID: group}
	if partitions != nil {
		req.Topics = []protocol.OffsetFetchRequestTopic{}
		sorted := slices.Clone(partitions)
		slices.SortFunc(sorted, assign.Compare)
		for _, p := range sorted {
			if n := len(req.Topics); n == 0 || req.Topics[n-1].Name != p.Topic {
				req.Topics = append(req.Topics, protocol.OffsetFetchRequestTopic{Name: p.Topic})
			}
			t := &req.Topics[len(req.Topics)-1]
			t.Partitions = append(t.Partitions, p.Partition)
		}
	}
	var resp protocol.OffsetFetchResponse
	if err := cl.groupCall(ctx, group, req, &resp, true, resp.TopError); err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	if err := brokerErr(protocol.OffsetFetch, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	out := map[TopicPartition]CommittedOffset{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != protocol.NoError || p.Offset < 0 {
				continue
			}
			c := CommittedOffset{Offset: p.Offset, CommitTimestamp: p.CommitTimestamp}
			if p.Metadata != nil {
				c.Metadata = *p.Metadata
			}
			out[TopicPartition{Topic: t.Name, Partition: p.Partition}] = c
		}
	}
	return out, nil
}

// setPositions starts newly assigned partitions at their committed offsets,
// or where auto.offset.reset says.
func (g *GroupConsumer) setPositions(ctx context.Context, ps []TopicPartition) error {
	if len(ps) == 0 {
		return nil
	}
	committed, err := g.cl.FetchGroupOffsets(ctx, g.cfg.GroupID, ps)
	if err != nil {
		return err
	}
	var rest []TopicPartition
	for _, p := range ps {
		if c, ok := committed[p]; ok {
			g.k.Seek(p.Topic, p.Partition, c.Offset)
		} else {
			rest = append(rest, p)
		}
	}
	return g.reset(ctx, rest)
}

// reset applies auto.offset.reset to partitions.
func (g *GroupConsumer) reset(ctx context.Context, ps []TopicPartition) error {
	if len(ps) == 0 {
		return nil
	}
	if g.cfg.AutoOffsetReset == "none" {
		g.mu.Lock()
		if g.noOffset == nil {
			g.noOffset = map[TopicPartition]bool{}
		}
		for _, p := range ps {
			g.noOffset[p] = true
		}
		g.mu.Unlock()
		return fmt.Errorf("group %s: %v: %w", g.cfg.GroupID, ps, ErrNoOffset)
	}
	byTopic := map[string][]int32{}
	for _, p := range ps {
		byTopic[p.Topic] = append(byTopic[p.Topic], p.Partition)
	}
	for _, t := range sortedStrings(byTopic) {
		var err error
		if g.cfg.AutoOffsetReset == "earliest" {
			err = g.k.SeekToBeginning(ctx, t, byTopic[t]...)
		} else {
			err = g.k.SeekToEnd(ctx, t, byTopic[t]...)
		}
		if err != nil {
			return fmt.Errorf("group %s: auto.offset.reset=%s for %s: %w", g.cfg.GroupID, g.cfg.AutoOffsetReset, t, err)
		}
	}
	return nil
}
