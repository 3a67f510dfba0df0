package server_test

import (
	"fmt"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

func fetchReq(topic string, offset int64, maxBytes int32) *protocol.FetchRequest {
	return &protocol.FetchRequest{MaxBytes: 1 << 20, Topics: []protocol.FetchRequestTopic{{
		Name: topic, Partitions: []protocol.FetchRequestPartition{{Partition: 0, FetchOffset: offset, PartitionMaxBytes: maxBytes}}}}}
}

// TestFetchContinue queues continuation fetches behind an explicit one on
// one connection, all sent before any answer is read: together they return
// every record once, in order, and a connection without an earlier fetch
// of the partition is refused.
func TestFetchContinue(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "cont", 1)
	var want []string
	for i := 0; i < 20; i++ {
		prefix := fmt.Sprintf("b%02d", i)
		if res := produce(t, c, 1, "cont", 0, records(t, batch.None, prefix, 5)); res.ErrorCode != protocol.NoError {
			t.Fatal(res.ErrorCode)
		}
		for j := 0; j < 5; j++ {
			want = append(want, fmt.Sprintf("%s-%d", prefix, j))
		}
	}

	// Small fetches: about two batches each.
	consumer := dial(t, b.Addr().String())
	corrs := []int32{consumer.send(fetchReq("cont", 7, 300))}
	for i := 0; i < 30; i++ {
		corrs = append(corrs, consumer.send(fetchReq("cont", protocol.FetchContinue, 300)))
	}
	var got []string
	next := int64(7)
	empty := 0
	for _, corr := range corrs {
		var resp protocol.FetchResponse
		consumer.recv(corr, &resp)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != protocol.NoError {
			t.Fatalf("fetch: %v", p.ErrorCode)
		}
		if len(p.Records) == 0 {
			empty++
			continue
		}
		for rest := p.Records; len(rest) > 0; {
			bb, tail, err := batch.Split(rest)
			if err != nil {
				t.Fatal(err)
			}
			h, recs, err := batch.Decode(bb)
			if err != nil {
				t.Fatal(err)
			}
			if h.BaseOffset > next {
				t.Fatalf("batch at %d after offset %d: a gap", h.BaseOffset, next)
			}
			for _, r := range recs {
				if r.Offset >= next {
					got = append(got, string(r.Value))
					next = r.Offset + 1
				}
			}
			rest = tail
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want[7:]) {
		t.Fatalf("continued fetches returned\n%v\nwant\n%v", got, want[7:])
	}
	if empty == 0 {
		t.Fatal("expected the fetches past the end to come back empty")
	}

	// After an explicit fetch elsewhere, continuation follows that one.
	var resp protocol.FetchResponse
	consumer.call(fetchReq("cont", 50, 1), &resp)
	consumer.call(fetchReq("cont", protocol.FetchContinue, 1), &resp)
	if v := values(t, resp.Topics[0].Partitions[0].Records); len(v) == 0 || v[0] != "b11-0" {
		t.Fatalf("continuing after a fetch at 50: %v", v)
	}

	fresh := dial(t, b.Addr().String())
	fresh.call(fetchReq("cont", protocol.FetchContinue, 1<<20), &resp)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != protocol.ErrInvalidRequest {
		t.Fatalf("continue on a fresh connection: %v", p.ErrorCode)
	}
}
