package fuzz

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/grouplog"
)

// FuzzGroupLogRecord feeds arbitrary keys and values to the decoder of
// the __consumer_offsets records a coordinator replays when it takes a
// partition over (net/grouplog): nothing may panic, every failure wraps
// ErrCorrupt, and what decodes encodes back to the same bytes.
func FuzzGroupLogRecord(f *testing.F) {
	offset := grouplog.Record{Kind: grouplog.KindOffset, Group: "billing", Partition: engine.TopicPartition{Topic: "orders", Partition: 3},
		TopicID: [16]byte{7}, Offset: engine.CommittedOffset{Offset: 42, LeaderEpoch: 2, Metadata: "m", CommitTime: time.UnixMilli(1_700_000_000_000)}}
	member := grouplog.Record{Kind: grouplog.KindGroup, Group: "billing", State: []byte{1, 0, 0}}
	for _, r := range []grouplog.Record{offset, member} {
		f.Add(r.AppendKey(nil), r.AppendValue(nil), false)
		f.Add(r.AppendKey(nil), []byte(nil), true)
	}
	f.Add([]byte{}, []byte{}, false)
	f.Add([]byte{0, 1}, []byte{0, 1}, false)
	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		} else if value == nil {
			value = []byte{}
		}
		r, err := grouplog.Decode(key, value)
		if err != nil {
			if !errors.Is(err, grouplog.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if k := r.AppendKey(nil); !bytes.Equal(k, key) {
			t.Fatalf("key re-encodes differently:\n%x\n%x", key, k)
		}
		if v := r.AppendValue(nil); !bytes.Equal(v, value) || (v == nil) != tombstone {
			t.Fatalf("value re-encodes differently:\n%x\n%x", value, v)
		}
	})
}
