package quorum

import (
	"context"
	"testing"
)

// BenchmarkPropose measures one proposal's round trip on a loopback cluster
// of three: on the leader (raft.Apply and a majority's fsync), and on a
// follower (one pooled leader-call round trip more, then the wait for the
// entry to apply locally).
func BenchmarkPropose(b *testing.B) {
	for _, on := range []string{"leader", "follower"} {
		b.Run(on, func(b *testing.B) {
			c := newCluster(b, 3, nil)
			l := c.leader()
			n := c.nodes[l]
			if on == "follower" {
				n = c.nodes[c.follower(l)]
			}
			cmd := make([]byte, 100)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Propose(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLeaderCall measures a follower's LeaderCall round trip.
func BenchmarkLeaderCall(b *testing.B) {
	c := newCluster(b, 3, nil)
	n := c.nodes[c.follower(c.leader())]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.LeaderCall(ctx, 1, []byte("heartbeat")); err != nil {
			b.Fatal(err)
		}
	}
}
