package fuzz

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicelog/sluice/engine/metadata"
)

func metadataSeeds() [][]byte {
	recs := []metadata.Record{
		metadata.InitCluster{ClusterID: "c"},
		metadata.RegisterBroker{ID: 1, Incarnation: "a", Listeners: map[string]string{"SLUICE": "h:1"}},
		metadata.RegisterBroker{ID: 2, Incarnation: "b"},
		metadata.FenceBroker{ID: 1},
		metadata.UnfenceBroker{ID: 1},
		metadata.UnregisterBroker{ID: 2},
		metadata.CreateTopic{Name: "t", ID: [16]byte{1}, Assignment: [][]int32{{1, 2}, {2, 1}}, Configs: map[string]string{"k": "v"}},
		metadata.CreatePartitions{Topic: "t", Assignment: [][]int32{{2, 1}}},
		metadata.AlterTopicConfig{Topic: "t", Set: map[string]string{"a": "b"}, Remove: []string{"k"}},
		metadata.PartitionChange{Topic: "t", Partition: 0, LeaderEpoch: 0, ISR: []int32{1, 2}},
		metadata.DeleteTopic{Name: "t"},
		metadata.AllocateProducerIDs{BrokerID: 1, Count: 10},
	}
	var out [][]byte
	for _, r := range recs {
		b, err := metadata.Encode(r)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzMetadataRecord feeds arbitrary bytes to the record decoder: nothing
// may panic, failures wrap ErrCorrupt, and what decodes re-encodes to bytes
// that decode to the same record, and re-encode to the same bytes.
func FuzzMetadataRecord(f *testing.F) {
	for _, s := range metadataSeeds() {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{10, 1, 'n', 'u', 'l', 'l'})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := metadata.Decode(data)
		if err != nil {
			if !errors.Is(err, metadata.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		b, err := metadata.Encode(rec)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", rec, err)
		}
		again, err := metadata.Decode(b)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", b, err)
		}
		if !reflect.DeepEqual(again, rec) {
			t.Fatalf("round trip changed the record:\n%#v\n%#v", rec, again)
		}
		if b2, _ := metadata.Encode(again); !bytes.Equal(b2, b) {
			t.Fatalf("encoding not stable: %q then %q", b, b2)
		}
	})
}

// FuzzMetadataSnapshot feeds arbitrary bytes to the snapshot decoder and to
// Restore: nothing may panic, a refused snapshot leaves the state as it
// was, and an accepted one restores to a state whose snapshot decodes to
// the same image.
func FuzzMetadataSnapshot(f *testing.F) {
	s := metadata.New(metadata.Options{})
	for _, b := range metadataSeeds() {
		s.Apply(b)
		snap, err := s.Snapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(snap)
	}
	f.Add([]byte{1, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := metadata.DecodeSnapshot(data)
		st := metadata.New(metadata.Options{})
		rerr := st.Restore(data)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("DecodeSnapshot says %v, Restore says %v", err, rerr)
		}
		if err != nil {
			if !errors.Is(err, metadata.ErrCorrupt) || !errors.Is(rerr, metadata.ErrCorrupt) {
				t.Fatalf("errors %v / %v do not wrap ErrCorrupt", err, rerr)
			}
			if st.Dump() != metadata.New(metadata.Options{}).Dump() {
				t.Fatal("a refused snapshot changed the state")
			}
			return
		}
		b, err := metadata.EncodeSnapshot(im)
		if err != nil {
			t.Fatal(err)
		}
		again, err := metadata.DecodeSnapshot(b)
		if err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
		if !reflect.DeepEqual(again, im) {
			t.Fatalf("round trip changed the image:\n%#v\n%#v", im, again)
		}
		snap, err := st.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		restored, err := metadata.DecodeSnapshot(snap)
		if err != nil {
			t.Fatalf("snapshot of a restored state refused: %v", err)
		}
		if restored.String() != im.String() {
			t.Fatalf("restore changed the image:\n%s\n%s", im.String(), restored.String())
		}
	})
}

// FuzzMetadataApply applies arbitrary entries to a populated state: Apply
// must never panic, and the image must keep its invariants whatever it
// accepts.
func FuzzMetadataApply(f *testing.F) {
	seeds := metadataSeeds()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := metadata.New(metadata.Options{})
		for _, b := range seeds[:7] { // cluster, brokers, topic t
			s.Apply(b)
		}
		before := s.Image()
		r := s.Apply(data)
		im := s.Image()
		if err := im.Check(); err != nil {
			t.Fatalf("invariant broken after %q (result %+v): %v\n%s", data, r, err, im.String())
		}
		if r.Code != metadata.CodeNone {
			// Only the applied index may move on a refusal.
			before.AppliedIndex++
			if !reflect.DeepEqual(im, before) {
				t.Fatalf("refused entry %q (%+v) changed the state:\n%s\n%s", data, r, before.String(), im.String())
			}
		}
		if _, err := metadata.DecodeResult(metadata.EncodeResult(r)); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzMetadataResult feeds arbitrary bytes to the decoder of Apply's
// results, which cross the network when a follower forwards a proposal:
// nothing may panic, and what decodes re-encodes to a result that decodes
// the same.
func FuzzMetadataResult(f *testing.F) {
	f.Add(metadata.EncodeResult(metadata.Result{}))
	f.Add(metadata.EncodeResult(metadata.Result{Code: 36, Message: "exists"}))
	f.Add(metadata.EncodeResult(metadata.Result{FirstProducerID: 1 << 40}))
	f.Add([]byte{1, '{', '}'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := metadata.DecodeResult(b)
		if err != nil {
			return
		}
		again, err := metadata.DecodeResult(metadata.EncodeResult(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("%+v re-decoded as %+v (%v)", r, again, err)
		}
	})
}
