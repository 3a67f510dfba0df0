package protocol

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

func TestFetchSpliceRoundTrip(t *testing.T) {
	records := func(seed, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(seed*31 + i)
		}
		return b
	}
	// Partitions mix spliced records, inline records, null and empty
	// records, across two topics.
	full := &FetchResponse{ThrottleTimeMs: 3, Topics: []FetchResponseTopic{
		{Name: "orders", Partitions: []FetchResponsePartition{
			{Partition: 0, HighWatermark: 10, LastStableOffset: 10, Records: records(1, 1000)},
			{Partition: 1, ErrorCode: ErrOffsetOutOfRange, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1},
			{Partition: 2, HighWatermark: 7, Records: records(2, 17)},
			{Partition: 3, HighWatermark: 7, Records: []byte{}},
		}},
		{Name: "payments", Partitions: []FetchResponsePartition{
			{Partition: 0, Records: records(3, 1)},
			{Partition: 1, Records: records(4, 70000)},
		}},
	}}
	spliceThese := map[[2]int]bool{{0, 0}: true, {0, 2}: true, {1, 0}: true, {1, 1}: true}

	sendfile := &FetchResponse{}
	*sendfile = *full
	sendfile.Topics = make([]FetchResponseTopic, len(full.Topics))
	for ti, t := range full.Topics {
		sendfile.Topics[ti] = FetchResponseTopic{Name: t.Name, Partitions: append([]FetchResponsePartition(nil), t.Partitions...)}
		for pi := range t.Partitions {
			if spliceThese[[2]int{ti, pi}] {
				p := &sendfile.Topics[ti].Partitions[pi]
				p.RecordsLen = int32(len(p.Records))
				p.Records = nil
			}
		}
	}

	prefix := []byte("earlier responses")
	frame, splices := AppendFetchResponseFrame(bytes.Clone(prefix), 77, sendfile)
	if !bytes.HasPrefix(frame, prefix) {
		t.Fatal("dst was overwritten")
	}
	if len(splices) != len(spliceThese) {
		t.Fatalf("%d splices, want %d", len(splices), len(spliceThese))
	}
	// Write the frame as a server would, records from "the segment".
	var wire bytes.Buffer
	pos := 0
	for i, s := range splices {
		if i > 0 && s.At < splices[i-1].At {
			t.Fatal("splices out of order")
		}
		wire.Write(frame[pos:s.At])
		recs := full.Topics[s.Topic].Partitions[s.Partition].Records
		if int(s.Len) != len(recs) {
			t.Fatalf("splice %+v for %d bytes", s, len(recs))
		}
		wire.Write(recs)
		pos = s.At
	}
	wire.Write(frame[pos:])

	want := AppendResponseFrame(bytes.Clone(prefix), 77, full)
	if !bytes.Equal(wire.Bytes(), want) {
		t.Fatal("spliced frame differs from the frame with records inline")
	}
	got, err := ReadFrame(bytes.NewReader(wire.Bytes()[len(prefix):]), nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	id, body, err := ParseResponseHeader(got)
	if err != nil || id != 77 {
		t.Fatal(id, err)
	}
	var dec FetchResponse
	if err := dec.DecodeFrom(body); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&dec, full) {
		t.Fatalf("decoded %+v\nwant %+v", dec, full)
	}
}

func TestFetchNoSplices(t *testing.T) {
	resp := sampleResponses()
	for _, r := range resp {
		fr, ok := r.(*FetchResponse)
		if !ok {
			continue
		}
		frame, splices := AppendFetchResponseFrame(nil, 1, fr)
		if splices != nil || !bytes.Equal(frame, AppendResponseFrame(nil, 1, fr)) {
			t.Fatalf("without spliced partitions the frame differs (%d splices)", len(splices))
		}
	}
}

func TestFetchAppendToRefusesSplicedPartition(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !bytes.Contains([]byte(fmt.Sprint(r)), []byte("AppendFetchResponseFrame")) {
			t.Fatalf("recovered %v", r)
		}
	}()
	(&FetchResponse{Topics: []FetchResponseTopic{{Partitions: []FetchResponsePartition{{RecordsLen: 5}}}}}).AppendTo(nil)
}
