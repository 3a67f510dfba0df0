package protocol

import (
	"strconv"
	"testing"
)

const (
	benchPartitions   = 16
	benchRecordsBytes = 64 << 10
)

// benchProduceRequest is one topic with 16 partitions of 64 KiB records.
func benchProduceRequest() *ProduceRequest {
	t := ProduceRequestTopic{Name: "bench-topic"}
	for p := range benchPartitions {
		recs := make([]byte, benchRecordsBytes)
		for i := range recs {
			recs[i] = byte(i * (p + 1))
		}
		t.Partitions = append(t.Partitions, ProduceRequestPartition{Partition: int32(p), Records: recs})
	}
	return &ProduceRequest{Acks: AcksAll, TimeoutMs: 30000, Topics: []ProduceRequestTopic{t}}
}

// benchFetchResponse is the matching fetch: 16 partitions of 64 KiB.
func benchFetchResponse() *FetchResponse {
	t := FetchResponseTopic{Name: "bench-topic"}
	for p := range benchPartitions {
		t.Partitions = append(t.Partitions, FetchResponsePartition{
			Partition: int32(p), HighWatermark: 1 << 20, LastStableOffset: 1 << 20,
			Records: make([]byte, benchRecordsBytes),
		})
	}
	return &FetchResponse{Topics: []FetchResponseTopic{t}}
}

func BenchmarkProduceRequestEncode(b *testing.B) {
	req := benchProduceRequest()
	buf := AppendRequestFrame(nil, 1, req)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRequestFrame(buf[:0], 1, req)
	}
}

func BenchmarkProduceRequestDecode(b *testing.B) {
	frame := AppendRequestFrame(nil, 1, benchProduceRequest())[LengthSize:]
	var req ProduceRequest
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		_, body, err := ParseRequestHeader(frame)
		if err != nil {
			b.Fatal(err)
		}
		if err := req.DecodeFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchResponseEncode(b *testing.B) {
	resp := benchFetchResponse()
	buf := AppendResponseFrame(nil, 1, resp)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponseFrame(buf[:0], 1, resp)
	}
}

// BenchmarkFetchResponseFrameSpliced is the broker's path: the frame
// without the records, which go out by sendfile.
func BenchmarkFetchResponseFrameSpliced(b *testing.B) {
	resp := benchFetchResponse()
	for i := range resp.Topics[0].Partitions {
		p := &resp.Topics[0].Partitions[i]
		p.RecordsLen, p.Records = int32(len(p.Records)), nil
	}
	buf, _ := AppendFetchResponseFrame(nil, 1, resp)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendFetchResponseFrame(buf[:0], 1, resp)
	}
}

func BenchmarkFetchResponseDecode(b *testing.B) {
	frame := AppendResponseFrame(nil, 1, benchFetchResponse())[LengthSize:]
	var resp FetchResponse
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		_, body, err := ParseResponseHeader(frame)
		if err != nil {
			b.Fatal(err)
		}
		if err := resp.DecodeFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMetadataResponseDecode is a message of many small fields: 100
// topics of 8 partitions.
func BenchmarkMetadataResponseDecode(b *testing.B) {
	resp := &MetadataResponse{Brokers: []MetadataResponseBroker{{NodeID: 0, Host: "localhost", Port: 9092}}}
	for t := range 100 {
		topic := MetadataResponseTopic{Name: "topic-" + strconv.Itoa(t)}
		for p := range 8 {
			topic.Partitions = append(topic.Partitions, MetadataResponsePartition{Partition: int32(p), Replicas: []int32{0}, ISR: []int32{0}})
		}
		resp.Topics = append(resp.Topics, topic)
	}
	body := resp.AppendTo(nil)
	var got MetadataResponse
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := got.DecodeFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}
