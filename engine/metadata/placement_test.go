package metadata

import (
	"errors"
	"slices"
	"testing"
)

// TestAssignBalanced checks the property the algorithm exists for: over
// many partitions, every broker leads within one of the average, every
// replica list is duplicate-free, and every broker holds about as many
// replicas as the others.
func TestAssignBalanced(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 7} {
		brokers := make([]int32, n)
		for i := range brokers {
			brokers[i] = int32(10 + i)
		}
		for rf := 1; rf <= min(n, 3); rf++ {
			for start := range n + 2 {
				for _, partitions := range []int{1, n, 3*n + 1, 100} {
					asg, err := Assign(brokers, partitions, rf, start, 0)
					if err != nil {
						t.Fatal(err)
					}
					leads := make(map[int32]int)
					holds := make(map[int32]int)
					for p, replicas := range asg {
						if len(replicas) != rf {
							t.Fatalf("n=%d rf=%d p=%d: %v", n, rf, p, replicas)
						}
						if err := distinct(replicas); err != nil {
							t.Fatalf("n=%d rf=%d start=%d p=%d: %v", n, rf, start, p, err)
						}
						leads[replicas[0]]++
						for _, r := range replicas {
							holds[r]++
						}
					}
					avg := float64(partitions) / float64(n)
					for _, b := range brokers {
						if d := float64(leads[b]) - avg; d > 1 || d < -1 {
							t.Errorf("n=%d rf=%d start=%d partitions=%d: broker %d leads %d, average %.2f", n, rf, start, partitions, b, leads[b], avg)
						}
					}
					if partitions == 100 && rf > 1 {
						lo, hi := partitions*rf, 0
						for _, b := range brokers {
							lo, hi = min(lo, holds[b]), max(hi, holds[b])
						}
						if hi-lo > rf {
							t.Errorf("n=%d rf=%d start=%d: replicas per broker from %d to %d", n, rf, start, lo, hi)
						}
					}
				}
			}
		}
	}
}

func TestAssignDeterministic(t *testing.T) {
	a, _ := Assign([]int32{5, 1, 3}, 9, 2, 4, 3)
	b, _ := Assign([]int32{1, 3, 5}, 9, 2, 4, 3)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatalf("%v != %v", a, b)
	}
}

func TestAssignErrorCodes(t *testing.T) {
	_, err := Assign([]int32{1, 2}, 1, 3, 0, 0)
	var me *Error
	if !errors.As(err, &me) || me.Code != CodeInvalidReplicationFactor {
		t.Fatalf("got %v", err)
	}
	if want := "INVALID_REPLICATION_FACTOR: replication factor 3 is larger than the 2 available brokers"; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
