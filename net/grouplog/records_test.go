package grouplog_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/grouplog"
)

// TestRecordRoundTrip: every kind of record, tombstones included, decodes
// to what was encoded, and the bytes are the documented layout.
func TestRecordRoundTrip(t *testing.T) {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tp := engine.TopicPartition{Topic: "orders", Partition: 2}
	for _, r := range []grouplog.Record{
		{Kind: grouplog.KindOffset, Group: "g", Partition: tp, TopicID: id,
			Offset: engine.CommittedOffset{Offset: 42, LeaderEpoch: 3, Metadata: "meta", CommitTime: time.UnixMilli(1_700_000_000_123)}},
		{Kind: grouplog.KindOffset, Group: "g", Partition: tp,
			Offset: engine.CommittedOffset{LeaderEpoch: -1, CommitTime: time.UnixMilli(0)}},
		{Kind: grouplog.KindOffset, Group: "g/with/slashes", Partition: tp, Tombstone: true},
		{Kind: grouplog.KindGroup, Group: "g", State: []byte{1, 2, 3}},
		{Kind: grouplog.KindGroup, Group: "g", State: []byte{}},
		{Kind: grouplog.KindGroup, Group: "g", Tombstone: true},
	} {
		key, val := r.AppendKey(nil), r.AppendValue(nil)
		if r.Tombstone != (val == nil) {
			t.Fatalf("%+v: value %x", r, val)
		}
		got, err := grouplog.Decode(key, val)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("decoded %+v, want %+v", got, r)
		}
	}
}

// TestRecordLayout pins the bytes of one offset record, as the package
// doc and records.go describe them.
func TestRecordLayout(t *testing.T) {
	r := grouplog.Record{Kind: grouplog.KindOffset, Group: "g", Partition: engine.TopicPartition{Topic: "t", Partition: 1},
		TopicID: [16]byte{0xaa}, Offset: engine.CommittedOffset{Offset: 5, LeaderEpoch: -1, Metadata: "m", CommitTime: time.UnixMilli(258)}}
	wantKey := "0001" + "0001" + "67" + "0001" + "74" + "00000001"
	wantVal := "0001" + "0000000000000005" + "ffffffff" + "0000000000000102" + "aa" + "000000000000000000000000000000" + "0001" + "6d"
	if k := hex.EncodeToString(r.AppendKey(nil)); k != wantKey {
		t.Fatalf("key %s, want %s", k, wantKey)
	}
	if v := hex.EncodeToString(r.AppendValue(nil)); v != wantVal {
		t.Fatalf("value %s, want %s", v, wantVal)
	}
	g := grouplog.Record{Kind: grouplog.KindGroup, Group: "g", State: []byte{9}}
	if k, v := hex.EncodeToString(g.AppendKey(nil)), hex.EncodeToString(g.AppendValue(nil)); k != "0002000167" || v != "000109" {
		t.Fatalf("group record %s / %s", k, v)
	}
}

// TestDecodeRefuses: what the encoder cannot have written fails with
// ErrCorrupt.
func TestDecodeRefuses(t *testing.T) {
	good := grouplog.Record{Kind: grouplog.KindOffset, Group: "g", Partition: engine.TopicPartition{Topic: "t"},
		Offset: engine.CommittedOffset{Offset: 1, CommitTime: time.UnixMilli(1)}}
	key, val := good.AppendKey(nil), good.AppendValue(nil)
	neg := good
	neg.Offset.Offset = -1
	for name, kv := range map[string][2][]byte{
		"empty key":        {{}, val},
		"unknown kind":     {{0, 9, 0, 1, 'g'}, nil},
		"short key":        {key[:len(key)-1], val},
		"long key":         {append(bytes.Clone(key), 0), val},
		"empty value":      {key, {}},
		"unknown version":  {key, append([]byte{0, 2}, val[2:]...)},
		"short value":      {key, val[:len(val)-1]},
		"long value":       {key, append(bytes.Clone(val), 0)},
		"negative offset":  {key, neg.AppendValue(nil)},
		"group short":      {{0, 2, 0, 5, 'g'}, nil},
		"group no version": {{0, 2, 0, 1, 'g'}, {1}},
	} {
		if _, err := grouplog.Decode(kv[0], kv[1]); !errors.Is(err, grouplog.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestPartitionForIsKafkas: Java's String.hashCode, Kafka's abs (the sign
// bit cleared, so Integer.MIN_VALUE gives 0), modulo the partitions.
func TestPartitionForIsKafkas(t *testing.T) {
	for _, c := range []struct {
		group string
		n     int
		want  int32
	}{
		{"", 50, 0},
		{"a", 50, 97 % 50},
		{"hello", 50, 99162322 % 50},       // "hello".hashCode() == 99162322
		{"Aa", 1000, 2112 % 1000},          // "Aa" and "BB" collide in Java
		{"BB", 1000, 2112 % 1000},          //
		{"polygenelubricants", 50, 0},      // hashCode() == Integer.MIN_VALUE
		{"\U0001F600", 1 << 30, 1772899},   // a surrogate pair: 0xD83D*31 + 0xDE00
		{"group-\u00e9", 7, 293427483 % 7}, // é is one UTF-16 unit
		{"anything", 1, 0},
	} {
		if got := grouplog.PartitionFor(c.group, c.n); got != c.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", c.group, c.n, got, c.want)
		}
	}
}
