package server_test

import (
	"runtime"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// BenchmarkFetchSendfile fetches 1 MiB at a time from a 64 MiB partition
// over loopback. The client reads each response frame into one reused
// buffer without decoding it, so the allocations reported are the
// broker's: with sendfile the record bytes never enter Go's heap, and
// bytes allocated per MiB fetched stay near zero.
func BenchmarkFetchSendfile(b *testing.B) {
	br := broker.StartTest(b, nil)
	c := dial(b, br.Addr().String())
	const mib = 1 << 20
	createTopicB(b, c, "bench")
	builder := batch.NewBuilder(batch.None)
	value := make([]byte, 1024)
	for i := 0; i < 64*mib/(64*1024); i++ {
		builder.Reset()
		for j := 0; j < 63; j++ {
			builder.Append(1, nil, value, nil)
		}
		recs, _ := builder.Build()
		req := &protocol.ProduceRequest{Acks: 1, Topics: []protocol.ProduceRequestTopic{{Name: "bench",
			Partitions: []protocol.ProduceRequestPartition{{Partition: 0, Records: recs}}}}}
		frame := protocol.AppendRequestFrame(nil, 1, req)
		c.nc.Write(frame)
		if _, err := protocol.ReadFrame(c.nc, nil, 0); err != nil {
			b.Fatal(err)
		}
	}
	var hwResp protocol.ListOffsetsResponse
	listReq := &protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestTopic{{Name: "bench",
		Partitions: []protocol.ListOffsetsRequestPartition{{Partition: 0, Timestamp: -1}}}}}
	c.nc.Write(protocol.AppendRequestFrame(nil, 2, listReq))
	frame, _ := protocol.ReadFrame(c.nc, nil, 0)
	_, body, _ := protocol.ParseResponseHeader(frame)
	hwResp.DecodeFrom(body)
	end := hwResp.Topics[0].Partitions[0].Offset

	fetch := &protocol.FetchRequest{MaxBytes: mib, Topics: []protocol.FetchRequestTopic{{Name: "bench",
		Partitions: []protocol.FetchRequestPartition{{Partition: 0, PartitionMaxBytes: mib}}}}}
	buf := make([]byte, 0, 2*mib)
	var reqBuf []byte
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	b.SetBytes(mib)
	b.ReportAllocs()
	b.ResetTimer()
	var fetched int64
	offset := int64(0)
	for i := 0; i < b.N; i++ {
		fetch.Topics[0].Partitions[0].FetchOffset = offset
		reqBuf = protocol.AppendRequestFrame(reqBuf[:0], int32(i), fetch)
		if _, err := c.nc.Write(reqBuf); err != nil {
			b.Fatal(err)
		}
		f, err := protocol.ReadFrame(c.nc, buf, 0)
		if err != nil {
			b.Fatal(err)
		}
		buf = f[:0]
		fetched += int64(len(f))
		offset += 63 * 15 // about 1 MiB of 64 KiB batches of 63 records
		if offset >= end {
			offset = 0
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc-before)/(float64(fetched)/mib), "B/MiB-fetched")
}

func createTopicB(b *testing.B, c *rawClient, name string) {
	req := &protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestTopic{{Name: name, NumPartitions: 1, ReplicationFactor: 1}}}
	c.nc.Write(protocol.AppendRequestFrame(nil, 1, req))
	if _, err := protocol.ReadFrame(c.nc, nil, 0); err != nil {
		b.Fatal(err)
	}
}
