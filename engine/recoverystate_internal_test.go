package engine

import (
	"bytes"
	"testing"

	"github.com/sluicelog/sluice/segment"
)

// FuzzDecodeRecovery: any stored recovery value decodes without a panic;
// 8 bytes are a bare offset, 24 an offset with its position and 48 a
// resumable state, each encoding back to the same bytes; anything else is
// no recovery point at all.
func FuzzDecodeRecovery(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 7})
	f.Add(encodeRecovery(120, 100, segment.State{Size: 4096, NextOffset: 120, MaxTimestamp: 17, OffsetOfMaxTimestamp: 119, SinceIndex: 300}))
	f.Add([]byte{})
	f.Add(encodeRecoveryPos(120, 100, 4096))
	f.Fuzz(func(t *testing.T, v []byte) {
		rs := decodeRecovery(v)
		switch len(v) {
		case 8:
			if rs.resume {
				t.Fatal("a bare offset decoded as resumable")
			}
		case recoveryPosLen:
			if rs.resume || !rs.hasPos {
				t.Fatalf("a position decoded as %+v", rs)
			}
			if got := encodeRecoveryPos(rs.offset, rs.segBase, rs.pos); !bytes.Equal(got, v) {
				t.Fatalf("re-encoded %x, stored %x", got, v)
			}
		case recoveryStateLen:
			if !rs.resume || rs.seg.NextOffset != rs.offset {
				t.Fatalf("state decoded as %+v", rs)
			}
			if got := encodeRecovery(rs.offset, rs.segBase, rs.seg); !bytes.Equal(got, v) {
				t.Fatalf("re-encoded %x, stored %x", got, v)
			}
		default:
			if rs != (recoveryState{}) {
				t.Fatalf("%d bytes decoded as %+v", len(v), rs)
			}
		}
	})
}
