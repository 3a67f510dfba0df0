// Package assign holds the partition assignors of consumer groups: pure
// functions from the members' subscriptions (and, for the sticky ones, the
// partitions they own now) to an assignment. The group leader runs one
// and hands the result to the coordinator.
//
// Invariants every assignor keeps:
//   - a partition goes to at most one member, and only to a member
//     subscribed to its topic;
//   - every partition of a subscribed topic goes to someone, except that
//     CooperativeSticky withholds a partition that must change owner until
//     its current owner has given it up (the next rebalance hands it out);
//   - members with the same subscription get counts that differ by at most
//     one; a member may get nothing when there are more members than
//     partitions.
//
// Sticky and CooperativeSticky also move as few partitions as balance
// allows: a partition stays with its owner unless the owner holds more
// than its share.
package assign

import (
	"cmp"
	"slices"
	"sort"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Member is one member's subscription as the leader sees it.
type Member struct {
	ID string
	// Topics the member subscribes to.
	Topics []string
	// Owned are the partitions it holds now (cooperative members report
	// them), from Generation (-1 for none).
	Owned      []TopicPartition
	Generation int32
}

// Assignor computes an assignment. partitions gives the partition count of
// every topic some member subscribes to; the result maps every member id
// (even one that gets nothing) to its partitions, sorted.
type Assignor interface {
	// Name is the protocol name members announce in JoinGroup.
	Name() string
	// Cooperative reports whether members keep their partitions through a
	// rebalance (revoking only those the assignment takes away) rather
	// than giving everything up before they join.
	Cooperative() bool
	Assign(members []Member, partitions map[string]int32) map[string][]TopicPartition
}

// Range is Kafka's range assignor: per topic, the partitions in order are
// cut into consecutive ranges, one per subscribed member in id order, the
// first members taking one extra when the count does not divide.
func Range() Assignor { return rangeAssignor{} }

// RoundRobin is Kafka's round-robin assignor: every partition in (topic,
// partition) order goes to the next subscribed member in id order.
func RoundRobin() Assignor { return roundRobin{} }

// Sticky balances like RoundRobin but keeps partitions with their current
// owners where balance allows. It is eager: members revoke everything
// before joining, and report what they owned.
func Sticky() Assignor { return sticky{} }

// CooperativeSticky is Sticky for the cooperative protocol: members keep
// their partitions through the rebalance, and a partition whose owner must
// change is withheld from its new owner until the old one has revoked it.
func CooperativeSticky() Assignor { return sticky{cooperative: true} }

// ByName returns the assignor with a protocol name, or nil.
func ByName(name string) Assignor {
	for _, a := range []Assignor{Range(), RoundRobin(), Sticky(), CooperativeSticky()} {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

type rangeAssignor struct{}

func (rangeAssignor) Name() string      { return "range" }
func (rangeAssignor) Cooperative() bool { return false }

func (rangeAssignor) Assign(members []Member, partitions map[string]int32) map[string][]TopicPartition {
	out := emptyResult(members)
	for _, topic := range sortedTopics(partitions) {
		subs := subscribers(members, topic)
		if len(subs) == 0 {
			continue
		}
		n := int(partitions[topic])
		per, extra := n/len(subs), n%len(subs)
		p := 0
		for i, id := range subs {
			take := per
			if i < extra {
				take++
			}
			for j := 0; j < take; j++ {
				out[id] = append(out[id], TopicPartition{topic, int32(p)})
				p++
			}
		}
	}
	return sortResult(out)
}

type roundRobin struct{}

func (roundRobin) Name() string      { return "roundrobin" }
func (roundRobin) Cooperative() bool { return false }

func (roundRobin) Assign(members []Member, partitions map[string]int32) map[string][]TopicPartition {
	out := emptyResult(members)
	ids := memberIDs(members)
	subscribed := subscriptionSets(members)
	next := 0
	for _, p := range allPartitions(partitions) {
		for tries := 0; tries < len(ids); tries++ {
			id := ids[next%len(ids)]
			next++
			if subscribed[id][p.Topic] {
				out[id] = append(out[id], p)
				break
			}
		}
	}
	return sortResult(out)
}

type sticky struct{ cooperative bool }

func (s sticky) Name() string {
	if s.cooperative {
		return "cooperative-sticky"
	}
	return "sticky"
}

func (s sticky) Cooperative() bool { return s.cooperative }

func (s sticky) Assign(members []Member, partitions map[string]int32) map[string][]TopicPartition {
	out := emptyResult(members)
	if len(members) == 0 {
		return out
	}
	subscribed := subscriptionSets(members)
	all := allPartitions(partitions)

	// Who owns what now: a claim of a partition that no longer exists, or
	// of a topic the member dropped, is void; of two claims the one from
	// the later generation wins (the other is a stale memory).
	owner := map[TopicPartition]string{}
	ownerGen := map[TopicPartition]int32{}
	exists := map[TopicPartition]bool{}
	for _, p := range all {
		exists[p] = true
	}
	for _, m := range sortedMembers(members) {
		for _, p := range m.Owned {
			if !exists[p] || !subscribed[m.ID][p.Topic] {
				continue
			}
			if _, ok := owner[p]; ok && ownerGen[p] >= m.Generation {
				continue
			}
			owner[p], ownerGen[p] = m.ID, m.Generation
		}
	}

	// Quotas: with P partitions among M members each gets P/M, and P%M of
	// them one more. Members keep what they own up to their quota; the
	// extra slots go to the members that own the most.
	ids := memberIDs(members)
	lo, extra := len(all)/len(ids), len(all)%len(ids)
	owned := map[string][]TopicPartition{}
	for _, p := range all {
		if id, ok := owner[p]; ok {
			owned[id] = append(owned[id], p)
		}
	}
	byOwned := slices.Clone(ids)
	sort.SliceStable(byOwned, func(i, j int) bool { return len(owned[byOwned[i]]) > len(owned[byOwned[j]]) })
	quota := map[string]int{}
	for _, id := range byOwned {
		quota[id] = lo
		if extra > 0 && len(owned[id]) > lo {
			quota[id]++
			extra--
		}
	}
	for _, id := range byOwned {
		if extra > 0 && quota[id] == lo {
			quota[id]++
			extra--
		}
	}
	taken := map[TopicPartition]bool{}
	for _, id := range ids {
		keep := owned[id]
		if len(keep) > quota[id] {
			keep = keep[:quota[id]]
		}
		for _, p := range keep {
			out[id] = append(out[id], p)
			taken[p] = true
		}
	}
	// Hand out the rest, each to the subscribed member with the most room
	// (then the fewest partitions, then the lowest id).
	for _, p := range all {
		if taken[p] {
			continue
		}
		best := ""
		for _, id := range ids {
			if !subscribed[id][p.Topic] {
				continue
			}
			if best == "" || better(len(out[id]), quota[id], len(out[best]), quota[best]) {
				best = id
			}
		}
		if best != "" {
			out[best] = append(out[best], p)
		}
	}
	if s.cooperative {
		// A partition that changes hands is withheld from its new owner
		// while another member still holds it.
		for id, ps := range out {
			kept := ps[:0]
			for _, p := range ps {
				if o, ok := owner[p]; ok && o != id {
					continue
				}
				kept = append(kept, p)
			}
			out[id] = kept
		}
	}
	return sortResult(out)
}

// better reports whether a member with n partitions of quota q is a
// better home for one more than a member with bn of bq.
func better(n, q, bn, bq int) bool {
	if room, broom := q-n, bq-bn; room != broom {
		return room > broom
	}
	return n < bn
}

func emptyResult(members []Member) map[string][]TopicPartition {
	out := make(map[string][]TopicPartition, len(members))
	for _, m := range members {
		out[m.ID] = nil
	}
	return out
}

func sortResult(out map[string][]TopicPartition) map[string][]TopicPartition {
	for _, ps := range out {
		slices.SortFunc(ps, Compare)
	}
	return out
}

// Compare orders partitions by topic, then partition.
func Compare(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

func sortedTopics(partitions map[string]int32) []string {
	out := make([]string, 0, len(partitions))
	for t := range partitions {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func allPartitions(partitions map[string]int32) []TopicPartition {
	var out []TopicPartition
	for _, t := range sortedTopics(partitions) {
		for p := int32(0); p < partitions[t]; p++ {
			out = append(out, TopicPartition{t, p})
		}
	}
	return out
}

func sortedMembers(members []Member) []Member {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func memberIDs(members []Member) []string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	sort.Strings(ids)
	return ids
}

func subscriptionSets(members []Member) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(members))
	for _, m := range members {
		set := map[string]bool{}
		for _, t := range m.Topics {
			set[t] = true
		}
		out[m.ID] = set
	}
	return out
}

func subscribers(members []Member, topic string) []string {
	var ids []string
	for _, m := range members {
		if slices.Contains(m.Topics, topic) {
			ids = append(ids, m.ID)
		}
	}
	sort.Strings(ids)
	return ids
}
