package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// BenchmarkFetchFrame encodes the framing of a 12-partition Fetch response
// into a reused buffer: no allocation.
func BenchmarkFetchFrame(b *testing.B) {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 12
	var lens []int64
	for ti := 0; ti < 3; ti++ {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = fmt.Sprintf("topic-%d", ti)
		for pi := 0; pi < 4; pi++ {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = int32(pi)
			rt.Partitions = append(rt.Partitions, p)
			lens = append(lens, 1<<20)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	h := header{key: 1, version: 12, flexible: true}
	buf := make([]byte, 0, 4096)
	splices := make([]int, 0, len(lens))
	b.ReportAllocs()
	for b.Loop() {
		buf, splices = appendFetchFrame(buf[:0], h, resp, lens, splices[:0])
	}
}

// BenchmarkProduce decodes and appends a Produce request of one batch, at
// 10 and 1,000 records a batch: the allocations per request do not grow
// with the records.
func BenchmarkProduce(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			eng, err := engine.Open(b.TempDir(), engine.Options{RetentionCheckInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			if err := eng.CreateTopic("bench", 1, nil); err != nil {
				b.Fatal(err)
			}
			local, err := request.NewLocal(eng, request.LocalConfig{})
			if err != nil {
				b.Fatal(err)
			}
			s := New(eng, Config{Handler: request.New(eng, local, request.Config{})})
			// The connection's request value, reused as a connection does.
			var p request.Produce
			bb := batch.NewBuilder(batch.None)
			for i := 0; i < n; i++ {
				bb.Append(1, []byte("key"), make([]byte, 100), nil)
			}
			recs, err := bb.Build()
			if err != nil {
				b.Fatal(err)
			}
			req := kmsg.NewPtrProduceRequest()
			req.Version, req.Acks = 9, 1
			req.Topics = []kmsg.ProduceRequestTopic{{Topic: "bench", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: recs}}}}
			frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)[4:]
			b.SetBytes(int64(len(recs)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.decodeRequest(frame)
				if err != nil {
					b.Fatal(err)
				}
				pr := r.msg.(*kmsg.ProduceRequest)
				s.appendProduce(context.Background(), &p, pr)
				resp := produceResponse(pr, &p)
				p.Reset(0, false)
				if resp.Topics[0].Partitions[0].ErrorCode != 0 {
					b.Fatal(resp.Topics[0].Partitions[0].ErrorCode)
				}
			}
		})
	}
}
