package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func int32p(v int32) *int32 { return &v }

// sampleRecords holds one record of every type, with every field set, and
// a few with the optional or empty shapes the codec must keep apart.
func sampleRecords() []Record {
	return []Record{
		InitCluster{ClusterID: "c1"},
		RegisterBroker{ID: 3, Incarnation: "inc", Listeners: map[string]string{"SLUICE": "h:1", "CONTROLLER": "h:2"}},
		RegisterBroker{ID: 0, Incarnation: "x"},
		FenceBroker{ID: 7},
		UnfenceBroker{ID: 7},
		UnregisterBroker{ID: 2},
		CreateTopic{Name: "t", ID: [16]byte{1, 2, 3, 15: 0xff}, Assignment: [][]int32{{1, 2}, {2, 1}}, Configs: map[string]string{"retention.ms": "1"}},
		DeleteTopic{Name: "t"},
		CreatePartitions{Topic: "t", Assignment: [][]int32{{3}}},
		AlterTopicConfig{Topic: "t", Set: map[string]string{"a": "b"}, Remove: []string{"c"}},
		PartitionChange{Topic: "t", Partition: 1, LeaderEpoch: 4, Leader: int32p(-1), ISR: []int32{1}},
		PartitionChange{Topic: "t", Partition: 1, LeaderEpoch: 4},
		PartitionChange{Topic: "t", ISR: []int32{}},
		AllocateProducerIDs{BrokerID: 1, Count: 1000},
		PartitionChanges{Changes: []PartitionChange{
			{Topic: "t", Partition: 1, LeaderEpoch: 4, PartitionEpoch: int32p(2), ISR: []int32{1, 2}},
			{Topic: "u", Leader: int32p(3)},
		}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	seen := make(map[RecordType]bool)
	for _, rec := range sampleRecords() {
		b, err := Encode(rec)
		if err != nil {
			t.Fatalf("encode %#v: %v", rec, err)
		}
		if RecordType(b[0]) != rec.Type() {
			t.Fatalf("%T: type byte %d, want %d", rec, b[0], rec.Type())
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %T %q: %v", rec, b, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("round trip of %T:\n got %#v\nwant %#v", rec, got, rec)
		}
		again, _ := Encode(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("%T: encoding not deterministic: %q then %q", rec, b, again)
		}
		seen[rec.Type()] = true
	}
	for typ := RecordType(0); typ < 255; typ++ {
		if _, ok := newRecord(typ); ok && !seen[typ] {
			t.Errorf("record type %d has no round-trip sample", typ)
		}
	}
	// A pointer encodes like its value and decodes to the value.
	b, err := Encode(&FenceBroker{ID: 9})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Decode(b); got != (FenceBroker{ID: 9}) {
		t.Fatalf("pointer round trip: %#v", got)
	}
	if _, err := Encode(nil); err == nil {
		t.Fatal("encoding nil succeeded")
	}
	if _, err := Encode((*FenceBroker)(nil)); err == nil {
		t.Fatal("encoding a nil pointer succeeded")
	}
}

func TestDecodeRefusesBadBytes(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{byte(TypeFenceBroker)},
		{0, 1, '{', '}'},
		{byte(TypeFenceBroker), 9, '{', '}'},
		[]byte("\x03\x01{\"id\":1} x"),
		[]byte("\x03\x01{\"id\":1,\"extra\":2}"),
		[]byte("\x03\x01{\"id\":99999999999}"),
		[]byte("\x03\x01[1]"),
	} {
		if rec, err := Decode(b); err == nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%q) = %#v, %v; want ErrCorrupt", b, rec, err)
		}
	}
}

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{
		{},
		{FirstProducerID: 5000},
		{Code: CodeFencedLeaderEpoch, Message: "stale"},
		{Codes: []int16{0, CodeFencedLeaderEpoch}, Message: "stale"},
	} {
		got, err := DecodeResult(EncodeResult(r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("result round trip of %#v: %#v, %v", r, got, err)
		}
	}
	for _, b := range [][]byte{nil, {2}, {1}, []byte("\x01{\"code\":\"x\"}"), []byte("\x01{} {}")} {
		if _, err := DecodeResult(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeResult(%q): %v, want ErrCorrupt", b, err)
		}
	}
}

func TestResultErr(t *testing.T) {
	if err := (Result{FirstProducerID: 1}).Err(); err != nil {
		t.Fatalf("success has error %v", err)
	}
	err := fmtWrap(Result{Code: CodeTopicAlreadyExists, Message: `topic "t" already exists`}.Err())
	var me *Error
	if !errors.As(err, &me) || me.Code != CodeTopicAlreadyExists {
		t.Fatalf("errors.As(%v) = %v", err, me)
	}
	if CodeOf(err) != CodeTopicAlreadyExists || CodeOf(nil) != CodeNone || CodeOf(errors.New("x")) != CodeInvalidRequest {
		t.Fatal("CodeOf")
	}
	if want := `TOPIC_ALREADY_EXISTS: topic "t" already exists`; me.Error() != want {
		t.Fatalf("message %q, want %q", me.Error(), want)
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }

// TestCodesMatchKafka keeps the code table honest against franz-go's.
func TestCodesMatchKafka(t *testing.T) {
	for code, name := range codeNames {
		if code == CodeNone {
			continue
		}
		ke := kerr.ErrorForCode(code)
		var e *kerr.Error
		if !errors.As(ke, &e) || e.Message != name {
			t.Errorf("code %d: we say %s, kerr says %v", code, name, ke)
		}
	}
}
