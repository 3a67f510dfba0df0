package protocol

import (
	"errors"
	"reflect"
	"testing"
)

func TestConsumerProtocolRoundTrip(t *testing.T) {
	subs := []ConsumerSubscription{
		{Topics: []string{"a", "b"}, Owned: []ConsumerTopicPartitions{{Topic: "a", Partitions: []int32{0, 2}}}, Generation: 7, UserData: []byte{1}},
		{Generation: -1},
	}
	for _, s := range subs {
		var got ConsumerSubscription
		if err := got.DecodeFrom(s.AppendTo(nil)); err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("subscription %+v came back %+v, %v", s, got, err)
		}
	}
	as := []ConsumerAssignment{{Partitions: []ConsumerTopicPartitions{{Topic: "a", Partitions: []int32{1}}}, UserData: []byte{}}, {}}
	for _, a := range as {
		var got ConsumerAssignment
		if err := got.DecodeFrom(a.AppendTo(nil)); err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("assignment %+v came back %+v, %v", a, got, err)
		}
	}
	var empty ConsumerAssignment
	if err := empty.DecodeFrom(nil); err != nil || len(empty.Partitions) != 0 {
		t.Fatalf("empty assignment: %+v %v", empty, err)
	}
	var bad ConsumerSubscription
	if err := bad.DecodeFrom([]byte{0, 1, 0, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 1 subscription: %v", err)
	}
	if err := bad.DecodeFrom([]byte{0, 0, 0x7f, 0xff, 0xff, 0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge count: %v", err)
	}
}
