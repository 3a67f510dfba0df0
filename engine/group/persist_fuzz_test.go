package group

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeState feeds arbitrary bytes to the decoder of stored group
// states: it never panics or allocates beyond the input's worth, and what
// it accepts encodes back to bytes it decodes the same way.
func FuzzDecodeState(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	g := newGroup("g", now)
	g.state, g.family, g.protocolType, g.protocol, g.generation = Stable, "native", "consumer", "range", 7
	for i, id := range []string{"m-1", "m-2"} {
		m := &member{id: id, clientID: "c", clientHost: "127.0.0.1", protocolType: "consumer",
			session: 10 * time.Second, rebalance: time.Minute, assignment: []byte{byte(i), 1, 2},
			protocols: []Protocol{{Name: "range", Metadata: []byte("sub")}, {Name: "sticky"}}}
		if i == 1 {
			m.instanceID = "static-1"
		}
		g.members[id] = m
		g.order = append(g.order, id)
	}
	g.leader = "m-1"
	good := encodeState(g)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{stateVersion})
	f.Add([]byte{stateVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeState("g", b, now)
		if err != nil {
			return
		}
		once := encodeState(g)
		g2, err := decodeState("g", once, now)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if twice := encodeState(g2); !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable:\n%x\n%x", once, twice)
		}
	})
}
