package protocol

import "fmt"

// ConsumerProtocolType is JoinGroupRequest.ProtocolType for consumer
// groups. Their protocol metadata is a ConsumerSubscription and their
// assignments ConsumerAssignments; the broker stores both without reading
// them, and tools decode them to show who owns what.
const ConsumerProtocolType = "consumer"

// ConsumerSubscription is a consumer's JoinGroup protocol metadata:
//
//	version int16 (=0) | topics [string] | owned [ConsumerTopicPartitions]
//	generation int32 | userData bytes
//
// Owned lists the partitions the member holds now (cooperative protocols
// keep them through a rebalance; eager members list what they held before
// giving it up to join), and Generation the generation it got them in (-1
// for none), so a leader can tell a stale claim from a fresh one.
type ConsumerSubscription struct {
	Version    int16
	Topics     []string
	Owned      []ConsumerTopicPartitions
	Generation int32
	UserData   []byte
}

// ConsumerAssignment is a member's SyncGroup assignment:
//
//	version int16 (=0) | partitions [ConsumerTopicPartitions] | userData bytes
type ConsumerAssignment struct {
	Version    int16
	Partitions []ConsumerTopicPartitions
	UserData   []byte
}

// ConsumerTopicPartitions is partitions of one topic.
type ConsumerTopicPartitions struct {
	Topic      string
	Partitions []int32
}

const consumerTopicPartitionsMin = 2 + 4

// AppendTo appends the encoded subscription to dst.
func (s *ConsumerSubscription) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, s.Version)
	dst = appendStrings(dst, s.Topics, false)
	dst = appendArray(dst, s.Owned, false, (*ConsumerTopicPartitions).appendTo)
	dst = appendInt32(dst, s.Generation)
	return appendBytes(dst, s.UserData)
}

// DecodeFrom replaces s with the subscription in b, which must be exactly
// one encoding of version 0; the error wraps ErrMalformed.
func (s *ConsumerSubscription) DecodeFrom(b []byte) error {
	*s = ConsumerSubscription{}
	d := decoder{b: b}
	if s.Version = d.int16(); d.err == nil && s.Version != 0 {
		d.fail("consumer subscription version %d, want 0", s.Version)
	}
	s.Topics = d.strings(false)
	s.Owned = makeArray[ConsumerTopicPartitions](&d, consumerTopicPartitionsMin, false)
	for i := range s.Owned {
		s.Owned[i].decode(&d)
	}
	s.Generation = d.int32()
	s.UserData = d.bytes()
	return consumerFinish(&d, "subscription")
}

// AppendTo appends the encoded assignment to dst.
func (a *ConsumerAssignment) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, a.Version)
	dst = appendArray(dst, a.Partitions, false, (*ConsumerTopicPartitions).appendTo)
	return appendBytes(dst, a.UserData)
}

// DecodeFrom replaces a with the assignment in b, with DecodeFrom's rules.
// An empty b is an empty assignment (a member the leader gave nothing).
func (a *ConsumerAssignment) DecodeFrom(b []byte) error {
	*a = ConsumerAssignment{}
	if len(b) == 0 {
		return nil
	}
	d := decoder{b: b}
	if a.Version = d.int16(); d.err == nil && a.Version != 0 {
		d.fail("consumer assignment version %d, want 0", a.Version)
	}
	a.Partitions = makeArray[ConsumerTopicPartitions](&d, consumerTopicPartitionsMin, false)
	for i := range a.Partitions {
		a.Partitions[i].decode(&d)
	}
	a.UserData = d.bytes()
	return consumerFinish(&d, "assignment")
}

func (t *ConsumerTopicPartitions) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Topic)
	return appendInt32s(dst, t.Partitions)
}

func (t *ConsumerTopicPartitions) decode(d *decoder) {
	t.Topic = d.string()
	t.Partitions = d.int32s()
}

func consumerFinish(d *decoder, what string) error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d bytes left after the last field", len(d.b)-d.off)
	}
	if d.err != nil {
		return fmt.Errorf("%w: consumer %s: %v", ErrMalformed, what, d.err)
	}
	return nil
}
