package assign

import (
	"fmt"
	"math/rand"
	"testing"
)

// check asserts the invariants of the package comment and returns, per
// partition, its owner.
func check(t *testing.T, a Assignor, members []Member, partitions map[string]int32, out map[string][]TopicPartition) map[TopicPartition]string {
	t.Helper()
	owner := map[TopicPartition]string{}
	subs := subscriptionSets(members)
	for id, ps := range out {
		for _, p := range ps {
			if o, ok := owner[p]; ok {
				t.Fatalf("%s: %v given to %s and %s", a.Name(), p, o, id)
			}
			if !subs[id][p.Topic] {
				t.Fatalf("%s: %v given to %s, which does not subscribe to it", a.Name(), p, id)
			}
			owner[p] = id
		}
	}
	if len(out) != len(members) {
		t.Fatalf("%s: %d members in the result, want %d", a.Name(), len(out), len(members))
	}
	if !a.Cooperative() {
		for _, p := range allPartitions(partitions) {
			if _, ok := owner[p]; !ok && len(subscribers(members, p.Topic)) > 0 {
				t.Fatalf("%s: %v given to nobody", a.Name(), p)
			}
		}
	}
	return owner
}

func spread(out map[string][]TopicPartition) (lo, hi int) {
	lo = 1 << 30
	for _, ps := range out {
		lo, hi = min(lo, len(ps)), max(hi, len(ps))
	}
	return lo, hi
}

func TestAssignorsProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		topics := map[string]int32{}
		for i := 0; i < 1+rng.Intn(3); i++ {
			topics[fmt.Sprintf("t%d", i)] = int32(1 + rng.Intn(12))
		}
		var names []string
		for tname := range topics {
			names = append(names, tname)
		}
		n := 1 + rng.Intn(8)
		var members []Member
		for i := 0; i < n; i++ {
			members = append(members, Member{ID: fmt.Sprintf("m%02d", i), Topics: names, Generation: 1})
		}
		// Random (possibly conflicting, possibly stale) ownership claims.
		for _, p := range allPartitions(topics) {
			if rng.Intn(3) > 0 {
				m := &members[rng.Intn(n)]
				m.Owned = append(m.Owned, p)
			}
		}
		for _, a := range []Assignor{Range(), RoundRobin(), Sticky(), CooperativeSticky()} {
			out := a.Assign(members, topics)
			check(t, a, members, topics, out)
			if a.Name() == "range" {
				continue // range balances per topic, not overall
			}
			full := out
			if a.Cooperative() {
				full = Sticky().Assign(members, topics)
				// Nothing is given to a member while another owns it.
				claims := map[TopicPartition]string{}
				for _, m := range sortedMembers(members) {
					for _, p := range m.Owned {
						if _, ok := claims[p]; !ok {
							claims[p] = m.ID
						}
					}
				}
				for id, ps := range out {
					for _, p := range ps {
						if c, ok := claims[p]; ok && c != id {
							t.Fatalf("cooperative: %v given to %s while %s owns it", p, id, c)
						}
					}
				}
			}
			if lo, hi := spread(full); hi-lo > 1 {
				t.Fatalf("%s: unbalanced %d..%d: %v", a.Name(), lo, hi, full)
			}
		}
	}
}

func TestStickyMovesOnlyWhatMust(t *testing.T) {
	topics := map[string]int32{"orders": 12}
	var members []Member
	for _, id := range []string{"a", "b", "c"} {
		members = append(members, Member{ID: id, Topics: []string{"orders"}, Generation: 3})
	}
	first := Sticky().Assign(members, topics)
	for i := range members {
		members[i].Owned = first[members[i].ID]
	}
	members = append(members, Member{ID: "d", Topics: []string{"orders"}, Generation: -1})
	for _, a := range []Assignor{Sticky(), CooperativeSticky()} {
		out := a.Assign(members, topics)
		moved := 0
		for _, m := range members[:3] {
			kept := map[TopicPartition]bool{}
			for _, p := range out[m.ID] {
				kept[p] = true
			}
			for _, p := range m.Owned {
				if !kept[p] {
					moved++
				}
			}
		}
		if moved != 3 {
			t.Fatalf("%s: %d partitions moved when a 4th member joined 3 with 4 each, want 3", a.Name(), moved)
		}
		wantD := 3
		if a.Cooperative() {
			wantD = 0 // withheld until revoked
		}
		if len(out["d"]) != wantD {
			t.Fatalf("%s: new member got %v", a.Name(), out["d"])
		}
	}
	// More members than partitions: the extra ones get nothing.
	out := RoundRobin().Assign([]Member{{ID: "a", Topics: []string{"x"}}, {ID: "b", Topics: []string{"x"}}}, map[string]int32{"x": 1})
	if len(out["a"])+len(out["b"]) != 1 {
		t.Fatalf("one partition, two members: %v", out)
	}
	if got := Range().Assign([]Member{{ID: "a", Topics: []string{"x"}}, {ID: "b", Topics: []string{"x"}}}, map[string]int32{"x": 3}); len(got["a"]) != 2 || len(got["b"]) != 1 {
		t.Fatalf("range: %v", got)
	}
}
