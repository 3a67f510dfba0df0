package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
)

// message is what requests and responses have in common.
type message interface {
	Key() APIKey
	AppendTo([]byte) []byte
	DecodeFrom([]byte) error
}

func newMessage(t testing.TB, key APIKey, response bool) message {
	t.Helper()
	var m message
	var ok bool
	if response {
		m, ok = NewResponse(key)
	} else {
		m, ok = NewRequest(key)
	}
	if !ok {
		t.Fatalf("no message for %v", key)
	}
	return m
}

type sample struct {
	name     string
	msg      message
	response bool
}

func samples() []sample {
	var out []sample
	for _, r := range sampleRequests() {
		out = append(out, sample{name: r.Key().String() + "Request", msg: r})
	}
	for _, r := range sampleResponses() {
		out = append(out, sample{name: r.Key().String() + "Response", msg: r, response: true})
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	seen := map[APIKey][2]bool{}
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			body := s.msg.AppendTo(nil)
			got := newMessage(t, s.msg.Key(), s.response)
			if err := got.DecodeFrom(body); err != nil {
				t.Fatalf("decode: %v\nbody %x", err, body)
			}
			if !reflect.DeepEqual(got, s.msg) {
				t.Fatalf("round trip changed the message:\nwant %+v\ngot  %+v", s.msg, got)
			}
			if again := got.AppendTo(nil); !bytes.Equal(again, body) {
				t.Fatalf("re-encoding differs:\nfirst  %x\nsecond %x", body, again)
			}
			// AppendTo appends: a prefix in dst survives.
			prefixed := s.msg.AppendTo([]byte("prefix"))
			if !bytes.Equal(prefixed, append([]byte("prefix"), body...)) {
				t.Fatalf("AppendTo does not append to dst")
			}
			// DecodeFrom replaces: decoding into a used value gives the same.
			if err := got.DecodeFrom(body); err != nil || !reflect.DeepEqual(got, s.msg) {
				t.Fatalf("decoding into a used value: %v", err)
			}
		})
		k := seen[s.msg.Key()]
		if s.response {
			k[1] = true
		} else {
			k[0] = true
		}
		seen[s.msg.Key()] = k
	}
	for _, a := range SupportedAPIs() {
		if seen[a.APIKey] != [2]bool{true, true} {
			t.Errorf("%v: no sample request and response", a.APIKey)
		}
	}
}

func TestRoundTripFrames(t *testing.T) {
	var frames []byte
	reqs := sampleRequests()
	for i, r := range reqs {
		frames = AppendRequestFrame(frames, int32(i*1000-1), r)
	}
	rd := bytes.NewReader(frames)
	var buf []byte
	for i, want := range reqs {
		frame, err := ReadFrame(rd, buf, 1<<20)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		buf = frame
		h, body, err := ParseRequestHeader(frame)
		if err != nil {
			t.Fatal(err)
		}
		if h != (RequestHeader{APIKey: want.Key(), Version: 0, CorrelationID: int32(i*1000 - 1)}) {
			t.Fatalf("frame %d: header %+v", i, h)
		}
		got, ok := NewRequest(h.APIKey)
		if !ok {
			t.Fatalf("frame %d: NewRequest(%v) refused", i, h.APIKey)
		}
		if err := got.DecodeFrom(body); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: %v\nwant %+v\ngot  %+v", i, err, want, got)
		}
	}
	if _, err := ReadFrame(rd, buf, 1<<20); err == nil || err.Error() != "EOF" {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}

	frames = frames[:0]
	resps := sampleResponses()
	for i, r := range resps {
		frames = AppendResponseFrame(frames, int32(i), r)
	}
	rd = bytes.NewReader(frames)
	for i, want := range resps {
		frame, err := ReadFrame(rd, buf, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		buf = frame
		id, body, err := ParseResponseHeader(frame)
		if err != nil || id != int32(i) {
			t.Fatalf("frame %d: id %d, %v", i, id, err)
		}
		got, _ := NewResponse(want.Key())
		if err := got.DecodeFrom(body); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: %v\nwant %+v\ngot  %+v", i, err, want, got)
		}
		if got.TopError() != want.TopError() {
			t.Fatalf("TopError %v, want %v", got.TopError(), want.TopError())
		}
	}
}

// Non-nullable arrays: nil and empty encode alike and decode as nil.
// Nullable ones keep null and empty apart.
func TestEmptyArrays(t *testing.T) {
	empty := &ProduceRequest{Topics: []ProduceRequestTopic{}}
	var got ProduceRequest
	if err := got.DecodeFrom(empty.AppendTo(nil)); err != nil || got.Topics != nil {
		t.Fatalf("empty Topics decoded as %#v, %v; want nil", got.Topics, err)
	}
	if !bytes.Equal(empty.AppendTo(nil), (&ProduceRequest{}).AppendTo(nil)) {
		t.Fatal("nil and empty non-nullable arrays encode differently")
	}
	var m MetadataRequest
	for _, topics := range [][]string{nil, {}} {
		if err := m.DecodeFrom((&MetadataRequest{Topics: topics}).AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		if (m.Topics == nil) != (topics == nil) || len(m.Topics) != 0 {
			t.Fatalf("Metadata topics %#v came back as %#v", topics, m.Topics)
		}
	}
}

func TestTruncatedBodies(t *testing.T) {
	for _, s := range samples() {
		body := s.msg.AppendTo(nil)
		for i := range len(body) {
			m := newMessage(t, s.msg.Key(), s.response)
			err := m.DecodeFrom(body[:i])
			if s.response && i == 2 {
				if err != nil {
					t.Errorf("%s: error-only prefix: %v", s.name, err)
				}
				continue
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %d of %d bytes: err %v, want ErrMalformed", s.name, i, len(body), err)
			}
		}
		m := newMessage(t, s.msg.Key(), s.response)
		if err := m.DecodeFrom(append(body, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: trailing byte: err %v, want ErrMalformed", s.name, err)
		}
	}
}

func TestErrorOnlyResponse(t *testing.T) {
	for _, a := range SupportedAPIs() {
		resp, _ := NewResponse(a.APIKey)
		// Fill it first: DecodeFrom must clear what was there.
		for _, s := range sampleResponses() {
			if s.Key() == a.APIKey {
				if err := resp.DecodeFrom(s.AppendTo(nil)); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		if err := resp.DecodeFrom([]byte{0, 42}); err != nil {
			t.Fatalf("%v: %v", a.APIKey, err)
		}
		if resp.TopError() != ErrInvalidRequest {
			t.Fatalf("%v: TopError %v", a.APIKey, resp.TopError())
		}
		want, _ := NewResponse(a.APIKey)
		reflect.ValueOf(want).Elem().FieldByName("ErrorCode").SetInt(42)
		if !reflect.DeepEqual(resp, want) {
			t.Fatalf("%v: error-only body decoded as %+v", a.APIKey, resp)
		}
		frame := AppendErrorResponseFrame(nil, 5, ErrUnsupportedVersion)
		id, body, err := ParseResponseHeader(frame[LengthSize:])
		if err != nil || id != 5 || resp.DecodeFrom(body) != nil || resp.TopError() != ErrUnsupportedVersion {
			t.Fatalf("%v: error frame %x: %v", a.APIKey, frame, err)
		}
	}
	// The bodies of requests are not error-prefixed: an empty body is
	// valid only for the requests without fields.
	for _, a := range SupportedAPIs() {
		req, _ := NewRequest(a.APIKey)
		if err := req.DecodeFrom(nil); (err == nil) != (a.APIKey == APIVersions || a.APIKey == ListGroups || a.APIKey == DescribeCluster) {
			t.Errorf("%v request from no bytes: %v", a.APIKey, err)
		}
	}
}

func TestMalformedPrimitives(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  message
		body []byte
	}{
		{"bool 2", &MetadataRequest{}, []byte{0xff, 0xff, 0xff, 0xff, 2}},
		{"bool 0xff", &MetadataRequest{}, []byte{0xff, 0xff, 0xff, 0xff, 0xff}},
		{"null in non-nullable array", &DeleteTopicsRequest{}, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
		{"array count -2", &MetadataRequest{}, []byte{0xff, 0xff, 0xff, 0xfe, 0}},
		{"null non-nullable string", &DeleteTopicsRequest{}, []byte{0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0}},
		{"string length -2", &InitProducerIDRequest{}, append([]byte{0xff, 0xfe}, make([]byte, 14)...)},
		{"bytes length -2", &ProduceRequest{}, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}},
		{"string past the end", &DeleteTopicsRequest{}, []byte{0, 0, 0, 1, 0, 9, 'a', 0, 0, 0, 0}},
	} {
		if err := tc.msg.DecodeFrom(tc.body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tc.name, err)
		}
	}
}

// allocated reports the bytes fn allocates on the heap: the least of three
// runs, so that the runtime's own occasional allocations do not count.
func allocated(fn func()) uint64 {
	least := uint64(1<<64 - 1)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// A huge count or length anywhere must fail (or, where it happens to fit,
// succeed) without allocating more than a small multiple of the input.
func TestHugeCountsFailFast(t *testing.T) {
	// The brief's case: 2^31-1 topics, ten bytes left.
	body := []byte{0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}
	body = append(body, make([]byte, 10)...)
	var p ProduceRequest
	if n := allocated(func() {
		if err := p.DecodeFrom(body); !errors.Is(err, ErrMalformed) {
			t.Errorf("err %v", err)
		}
	}); n > 4096 {
		t.Errorf("refusing 2^31-1 topics allocated %d bytes", n)
	}

	for _, s := range samples() {
		orig := s.msg.AppendTo(nil)
		for _, pattern := range [][]byte{{0x7f, 0xff, 0xff, 0xff}, {0x7f, 0xff}, {0x40, 0, 0, 0}} {
			for i := 0; i+len(pattern) <= len(orig); i++ {
				b := bytes.Clone(orig)
				copy(b[i:], pattern)
				m := newMessage(t, s.msg.Key(), s.response)
				if n := allocated(func() { _ = m.DecodeFrom(b) }); n > uint64(16*len(b)+4096) {
					t.Errorf("%s: %x at byte %d: decoding %d bytes allocated %d", s.name, pattern, i, len(b), n)
				}
			}
		}
	}
}

// The smallest encoding of each element type, which bounds what a claimed
// array count may allocate, must be what the decoders assume: larger would
// refuse valid messages, smaller would weaken the bound.
func TestElementMinimumSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  []byte
		min  int
	}{
		{"APIVersionsResponseKey", new(APIVersionsResponseKey).appendTo(nil), apiVersionsResponseKeyMin},
		{"MetadataResponseBroker", new(MetadataResponseBroker).appendTo(nil), metadataResponseBrokerMin},
		{"MetadataResponseTopic", new(MetadataResponseTopic).appendTo(nil), metadataResponseTopicMin},
		{"MetadataResponsePartition", new(MetadataResponsePartition).appendTo(nil), metadataResponsePartitionMin},
		{"CreateTopicsRequestTopic", new(CreateTopicsRequestTopic).appendTo(nil), createTopicsRequestTopicMin},
		{"CreateTopicsRequestConfig", new(CreateTopicsRequestConfig).appendTo(nil), createTopicsRequestConfigMin},
		{"CreateTopicsResponseTopic", new(CreateTopicsResponseTopic).appendTo(nil), createTopicsResponseTopicMin},
		{"DeleteTopicsResponseTopic", new(DeleteTopicsResponseTopic).appendTo(nil), deleteTopicsResponseTopicMin},
		{"CreatePartitionsRequestTopic", new(CreatePartitionsRequestTopic).appendTo(nil), createPartitionsRequestTopicMin},
		{"CreatePartitionsResponseTopic", new(CreatePartitionsResponseTopic).appendTo(nil), createPartitionsResponseTopicMin},
		{"DeleteRecordsRequestTopic", new(DeleteRecordsRequestTopic).appendTo(nil), deleteRecordsRequestTopicMin},
		{"DeleteRecordsRequestPartition", new(DeleteRecordsRequestPartition).appendTo(nil), deleteRecordsRequestPartitionMin},
		{"DeleteRecordsResponseTopic", new(DeleteRecordsResponseTopic).appendTo(nil), deleteRecordsResponseTopicMin},
		{"DeleteRecordsResponsePartition", new(DeleteRecordsResponsePartition).appendTo(nil), deleteRecordsResponsePartitionMin},
		{"DescribeConfigsRequestResource", new(DescribeConfigsRequestResource).appendTo(nil), describeConfigsRequestResourceMin},
		{"DescribeConfigsResponseResult", new(DescribeConfigsResponseResult).appendTo(nil), describeConfigsResponseResultMin},
		{"DescribeConfigsResponseConfig", new(DescribeConfigsResponseConfig).appendTo(nil), describeConfigsResponseConfigMin},
		{"AlterConfigsRequestResource", new(AlterConfigsRequestResource).appendTo(nil), alterConfigsRequestResourceMin},
		{"AlterConfigsRequestConfig", new(AlterConfigsRequestConfig).appendTo(nil), alterConfigsRequestConfigMin},
		{"AlterConfigsResponseResult", new(AlterConfigsResponseResult).appendTo(nil), alterConfigsResponseResultMin},
		{"ProduceRequestTopic", new(ProduceRequestTopic).appendTo(nil), produceRequestTopicMin},
		{"ProduceRequestPartition", new(ProduceRequestPartition).appendTo(nil), produceRequestPartitionMin},
		{"ProduceResponseTopic", new(ProduceResponseTopic).appendTo(nil), produceResponseTopicMin},
		{"ProduceResponsePartition", new(ProduceResponsePartition).appendTo(nil), produceResponsePartitionMin},
		{"FetchRequestTopic", new(FetchRequestTopic).appendTo(nil), fetchRequestTopicMin},
		{"FetchRequestPartition", new(FetchRequestPartition).appendTo(nil), fetchRequestPartitionMin},
		{"FetchResponseTopic", elementBytes(&FetchResponse{Topics: []FetchResponseTopic{{}}}), fetchResponseTopicMin},
		{"FetchResponsePartition", elementBytes(&FetchResponse{Topics: []FetchResponseTopic{{Partitions: []FetchResponsePartition{{}}}}}), fetchResponseTopicMin + fetchResponsePartitionMin},
		{"ListOffsetsRequestTopic", new(ListOffsetsRequestTopic).appendTo(nil), listOffsetsRequestTopicMin},
		{"ListOffsetsRequestPartition", new(ListOffsetsRequestPartition).appendTo(nil), listOffsetsRequestPartitionMin},
		{"ListOffsetsResponseTopic", new(ListOffsetsResponseTopic).appendTo(nil), listOffsetsResponseTopicMin},
		{"ListOffsetsResponsePartition", new(ListOffsetsResponsePartition).appendTo(nil), listOffsetsResponsePartitionMin},
		{"OffsetForLeaderEpochRequestTopic", new(OffsetForLeaderEpochRequestTopic).appendTo(nil), offsetForLeaderEpochRequestTopicMin},
		{"OffsetForLeaderEpochRequestPartition", new(OffsetForLeaderEpochRequestPartition).appendTo(nil), offsetForLeaderEpochRequestPartitionMin},
		{"OffsetForLeaderEpochResponseTopic", new(OffsetForLeaderEpochResponseTopic).appendTo(nil), offsetForLeaderEpochResponseTopicMin},
		{"OffsetForLeaderEpochResponsePartition", new(OffsetForLeaderEpochResponsePartition).appendTo(nil), offsetForLeaderEpochResponsePartitionMin},
		{"JoinGroupRequestProtocol", new(JoinGroupRequestProtocol).appendTo(nil), joinGroupRequestProtocolMin},
		{"JoinGroupResponseMember", new(JoinGroupResponseMember).appendTo(nil), joinGroupResponseMemberMin},
		{"SyncGroupRequestAssignment", new(SyncGroupRequestAssignment).appendTo(nil), syncGroupRequestAssignmentMin},
		{"LeaveGroupRequestMember", new(LeaveGroupRequestMember).appendTo(nil), leaveGroupRequestMemberMin},
		{"LeaveGroupResponseMember", new(LeaveGroupResponseMember).appendTo(nil), leaveGroupResponseMemberMin},
		{"OffsetCommitRequestTopic", new(OffsetCommitRequestTopic).appendTo(nil), offsetCommitRequestTopicMin},
		{"OffsetCommitRequestPartition", new(OffsetCommitRequestPartition).appendTo(nil), offsetCommitRequestPartitionMin},
		{"OffsetCommitResponseTopic", new(OffsetCommitResponseTopic).appendTo(nil), offsetCommitResponseTopicMin},
		{"OffsetCommitResponsePartition", new(OffsetCommitResponsePartition).appendTo(nil), offsetCommitResponsePartitionMin},
		{"OffsetFetchRequestTopic", new(OffsetFetchRequestTopic).appendTo(nil), offsetFetchRequestTopicMin},
		{"OffsetFetchResponseTopic", new(OffsetFetchResponseTopic).appendTo(nil), offsetFetchResponseTopicMin},
		{"OffsetFetchResponsePartition", new(OffsetFetchResponsePartition).appendTo(nil), offsetFetchResponsePartitionMin},
		{"ListGroupsResponseGroup", new(ListGroupsResponseGroup).appendTo(nil), listGroupsResponseGroupMin},
		{"DescribeGroupsResponseGroup", new(DescribeGroupsResponseGroup).appendTo(nil), describeGroupsResponseGroupMin},
		{"DescribeGroupsResponseMember", new(DescribeGroupsResponseMember).appendTo(nil), describeGroupsResponseMemberMin},
		{"DeleteGroupsResponseResult", new(DeleteGroupsResponseResult).appendTo(nil), deleteGroupsResponseResultMin},
		{"ConsumerTopicPartitions", new(ConsumerTopicPartitions).appendTo(nil), consumerTopicPartitionsMin},
	} {
		// The zero value has empty strings, null nullable fields (the
		// shortest) and empty arrays: the smallest encoding.
		if len(tc.enc) != tc.min {
			t.Errorf("%s: smallest encoding is %d bytes, decoder assumes %d", tc.name, len(tc.enc), tc.min)
		}
	}
}

// elementBytes is a Fetch response body minus its fixed part (error code,
// throttle time, topic count), for the Fetch element sizes.
func elementBytes(r *FetchResponse) []byte {
	b := r.AppendTo(nil)
	// Null Records encode as -1 (4 bytes), as short as empty.
	if binary.BigEndian.Uint32(b[2+4:]) != uint32(len(r.Topics)) {
		panic("unexpected layout")
	}
	return b[2+4+4:]
}

func TestLongStringsAreCut(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), MaxStringLen+10))
	var got DeleteTopicsRequest
	if err := got.DecodeFrom((&DeleteTopicsRequest{Names: []string{long}}).AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if len(got.Names[0]) != MaxStringLen {
		t.Fatalf("long string came back with %d bytes", len(got.Names[0]))
	}
}

func TestProduceDecodeDoesNotCopyRecords(t *testing.T) {
	req := benchProduceRequest()
	body := req.AppendTo(nil)
	var got ProduceRequest
	if err := got.DecodeFrom(body); err != nil {
		t.Fatal(err)
	}
	for _, p := range got.Topics[0].Partitions {
		if !within(p.Records, body) {
			t.Fatalf("partition %d records were copied", p.Partition)
		}
		if cap(p.Records) != len(p.Records) {
			t.Fatalf("records capacity %d runs past their %d bytes", cap(p.Records), len(p.Records))
		}
	}
	if n := testing.AllocsPerRun(20, func() { _ = got.DecodeFrom(body) }); n > 3 {
		t.Fatalf("decoding a produce request allocates %v times, want at most 3 (topics, name, partitions)", n)
	}

	resp := benchFetchResponse()
	body = resp.AppendTo(nil)
	var fr FetchResponse
	if err := fr.DecodeFrom(body); err != nil {
		t.Fatal(err)
	}
	if !within(fr.Topics[0].Partitions[3].Records, body) {
		t.Fatal("fetch records were copied")
	}
}

func within(sub, whole []byte) bool {
	if len(sub) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(&sub[0]))
	start := uintptr(unsafe.Pointer(&whole[0]))
	return p >= start && p+uintptr(len(sub)) <= start+uintptr(len(whole))
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	req := benchProduceRequest()
	buf := make([]byte, 0, 2<<20)
	if n := testing.AllocsPerRun(20, func() { buf = AppendRequestFrame(buf[:0], 1, req) }); n != 0 {
		t.Fatalf("encoding a produce request into a big enough buffer allocates %v times", n)
	}
}
