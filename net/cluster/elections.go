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
// only the lost ISR held is lost: that is the setting's bargain.
func (c *controller) electUnclean(ctx context.Context) {
	im := c.m.state.Image()
	live := map[int32]bool{}
	for _, id := range c.m.state.LiveBrokerIDs() {
		live[id] = true
	}
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
				leader := r
				_, err := c.m.propose(ctx, metadata.PartitionChange{Topic: t.Name, Partition: int32(i),
					LeaderEpoch: p.LeaderEpoch, PartitionEpoch: &p.PartitionEpoch, Leader: &leader, ISR: []int32{r}})
				if err != nil {
					c.m.logger.Warn("unclean leader election failed", "topic", t.Name, "partition", i, "err", err)
				} else {
					c.m.logger.Warn("unclean leader election: records only the old ISR had are lost", "event", "unclean_leader_election",
						"topic", t.Name, "partition", i, "leader", r, "isr", []int32{r}, "old_isr", p.ISR)
				}
				break
			}
		}
	}
}

// rebalanceLeaders moves leadership back to preferred replicas (the first
// of each replica list) that are live and in the ISR, for every broker
// whose share of preferred partitions led elsewhere passes
// leader.imbalance.per.broker.percentage (Kafka's auto leader rebalance).
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
	var elected []string
	for b, list := range moves {
		if len(list)*100 <= preferred[b]*c.m.cfg.LeaderImbalancePerBrokerPercentage {
			continue
		}
		for _, mv := range list {
			if ctx.Err() != nil {
				break
			}
			leader := b
			_, err := c.m.propose(ctx, metadata.PartitionChange{Topic: mv.topic, Partition: mv.partition,
				LeaderEpoch: mv.p.LeaderEpoch, PartitionEpoch: &mv.p.PartitionEpoch, Leader: &leader})
			if err != nil {
				// The partition moved meanwhile: the next round sees it.
				c.m.logger.Debug("preferred leader election failed", "topic", mv.topic, "partition", mv.partition, "err", err)
				continue
			}
			elected = append(elected, fmt.Sprintf("%s-%d", mv.topic, mv.partition))
			c.m.logger.Debug("preferred leader elected", "topic", mv.topic, "partition", mv.partition, "leader", b, "was", mv.p.Leader)
		}
	}
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
