package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// The active controller's elections beyond fencing (which the image does
// itself when it applies FenceBroker): unclean elections for partitions
// left without a leader, and preferred-leader elections that bring
// leadership back to each partition's first replica.

// uncleanEnabled is a topic's unclean.leader.election.enable: its override,
// else the broker default.
func (m *Member) uncleanEnabled(t metadata.Topic) bool {
	if v, ok := t.Configs["unclean.leader.election.enable"]; ok {
		return v == "true"
	}
	return m.cfg.UncleanLeaderElection
}

// electUnclean gives every leaderless partition of a topic that allows it
// a live replica from outside the ISR as leader, alone in a new ISR. What
// only the lost ISR held is lost: that is the setting's bargain. The
// elections of a round are batched (proposeChanges).
func (c *controller) electUnclean(ctx context.Context) {
	im := c.m.state.Image()
	live := map[int32]bool{}
	for _, id := range c.m.state.LiveBrokerIDs() {
		live[id] = true
	}
	var changes []metadata.PartitionChange
	var oldISR [][]int32
	for _, t := range im.Topics {
		if !c.m.uncleanEnabled(t) {
			continue
		}
		for i, p := range t.Partitions {
			if p.Leader != metadata.NoLeader {
				continue
			}
			if slices.ContainsFunc(p.ISR, func(r int32) bool { return live[r] }) {
				continue // a clean election will happen when it is unfenced
			}
			for _, r := range p.Replicas {
				if !live[r] {
					continue
				}
				leader, pe := r, p.PartitionEpoch
				changes = append(changes, metadata.PartitionChange{Topic: t.Name, Partition: int32(i),
					LeaderEpoch: p.LeaderEpoch, PartitionEpoch: &pe, Leader: &leader, ISR: []int32{r}})
				oldISR = append(oldISR, p.ISR)
				break
			}
		}
	}
	c.m.proposeChanges(ctx, changes, func(i int, err error) {
		ch := changes[i]
		if err != nil {
			c.m.logger.Warn("unclean leader election failed", "topic", ch.Topic, "partition", ch.Partition, "err", err)
		} else {
			c.m.logger.Warn("unclean leader election: records only the old ISR had are lost", "event", "unclean_leader_election",
				"topic", ch.Topic, "partition", ch.Partition, "leader", *ch.Leader, "isr", ch.ISR, "old_isr", oldISR[i])
		}
	})
}

// proposeChanges proposes partition changes in PartitionChanges records of
// at most metadata.MaxPartitionChanges (a lone change as a PartitionChange
// of its own), so a round of elections over thousands of partitions is a
// few raft entries, and tells done each change's outcome, by index.
func (m *Member) proposeChanges(ctx context.Context, changes []metadata.PartitionChange, done func(i int, err error)) {
	for start := 0; start < len(changes) && ctx.Err() == nil; start += metadata.MaxPartitionChanges {
		batch := changes[start:min(start+metadata.MaxPartitionChanges, len(changes))]
		var rec metadata.Record = metadata.PartitionChanges{Changes: batch}
		if len(batch) == 1 {
			rec = batch[0]
		}
		res, err := m.propose(ctx, rec)
		for i, ch := range batch {
			perr := err
			if err == nil && i < len(res.Codes) && res.Codes[i] != metadata.CodeNone {
				perr = &metadata.Error{Code: res.Codes[i], Message: fmt.Sprintf("%s-%d: %s", ch.Topic, ch.Partition, metadata.CodeName(res.Codes[i]))}
			}
			done(start+i, perr)
		}
	}
}

// rebalanceLeaders moves leadership back to preferred replicas (the first
// of each replica list) that are live and in the ISR, for every broker
// whose share of preferred partitions led elsewhere passes
// leader.imbalance.per.broker.percentage (Kafka's auto leader rebalance).
// The moves of a round are batched (proposeChanges).
func (c *controller) rebalanceLeaders(ctx context.Context) {
	im := c.m.state.Image()
	live := map[int32]bool{}
	for _, id := range c.m.state.LiveBrokerIDs() {
		live[id] = true
	}
	type move struct {
		topic     string
		partition int32
		p         metadata.Partition
	}
	preferred := map[int32]int{}
	moves := map[int32][]move{}
	for _, t := range im.Topics {
		for i, p := range t.Partitions {
			if len(p.Replicas) == 0 {
				continue
			}
			pref := p.Replicas[0]
			preferred[pref]++
			if p.Leader != pref && live[pref] && slices.Contains(p.ISR, pref) {
				moves[pref] = append(moves[pref], move{t.Name, int32(i), p})
			}
		}
	}
	var changes []metadata.PartitionChange
	var was []int32
	for b, list := range moves {
		if len(list)*100 <= preferred[b]*c.m.cfg.LeaderImbalancePerBrokerPercentage {
			continue
		}
		for _, mv := range list {
			leader, pe := b, mv.p.PartitionEpoch
			changes = append(changes, metadata.PartitionChange{Topic: mv.topic, Partition: mv.partition,
				LeaderEpoch: mv.p.LeaderEpoch, PartitionEpoch: &pe, Leader: &leader})
			was = append(was, mv.p.Leader)
		}
	}
	var elected []string
	c.m.proposeChanges(ctx, changes, func(i int, err error) {
		ch := changes[i]
		if err != nil {
			// The partition moved meanwhile: the next round sees it.
			c.m.logger.Debug("preferred leader election failed", "topic", ch.Topic, "partition", ch.Partition, "err", err)
			return
		}
		elected = append(elected, fmt.Sprintf("%s-%d", ch.Topic, ch.Partition))
		c.m.logger.Debug("preferred leader elected", "topic", ch.Topic, "partition", ch.Partition, "leader", *ch.Leader, "was", was[i])
	})
	if len(elected) > 0 {
		// One line per round: a broker back from a restart takes back
		// its share of leaderships, possibly thousands at once.
		c.m.logger.Info("preferred leaders elected", "event", "preferred_leader_election",
			"partitions", len(elected), "examples", examples(elected))
	}
}

// examples is a few of names, for a summary line.
func examples(names []string) string {
	const few = 5
	if len(names) <= few {
		return strings.Join(names, " ")
	}
	return strings.Join(names[:few], " ") + fmt.Sprintf(" (and %d more)", len(names)-few)
}

// electionsDue tells the duties loop when to run the periodic elections.
type electionsDue struct {
	lastRebalance time.Time
}

func (c *controller) runElections(ctx context.Context, due *electionsDue, now time.Time) {
	if !c.m.node.IsLeader() {
		return
	}
	c.electUnclean(ctx)
	if iv := c.m.cfg.LeaderImbalanceCheckInterval; iv > 0 && now.Sub(due.lastRebalance) >= iv {
		due.lastRebalance = now
		c.rebalanceLeaders(ctx)
	}
}
