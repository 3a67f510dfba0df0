package partbench

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// workload is produce and fetch across the active partitions, in
// requests of one topic each (one record per partition), against the
// same bytes to one partition: each of its requests carries as many
// one-record batches as the topic's request, back to back, so the two
// sides differ only in how many partitions the bytes are spread over.
type workload struct {
	batch  []byte
	groups []group
	// next is each partition's next fetch offset, by topic.
	next map[string][]int64
}

type group struct {
	topic string
	parts int32
	many  []protocol.ProduceRequestTopic
	one   []protocol.ProduceRequestTopic
}

func (s *sweep) workload(pt *Point) (*workload, error) {
	rec, err := oneRecordBatch(s.cfg.RecordSize)
	if err != nil {
		return nil, err
	}
	wl := &workload{batch: rec, next: map[string][]int64{oneTopic: {0}}}
	ones := map[int32][]byte{}
	pt.ActivePartitions = min(s.cfg.Active, pt.Created)
	for i, left := 0, pt.ActivePartitions; left > 0; i++ {
		g := group{topic: topicName(i), parts: int32(min(left, s.cfg.TopicPartitions))}
		left -= int(g.parts)
		parts := make([]protocol.ProduceRequestPartition, g.parts)
		for p := range parts {
			parts[p] = protocol.ProduceRequestPartition{Partition: int32(p), Records: rec}
		}
		g.many = []protocol.ProduceRequestTopic{{Name: g.topic, Partitions: parts}}
		if ones[g.parts] == nil {
			ones[g.parts] = bytes.Repeat(rec, int(g.parts))
		}
		g.one = []protocol.ProduceRequestTopic{{Name: oneTopic, Partitions: []protocol.ProduceRequestPartition{{Records: ones[g.parts]}}}}
		wl.groups = append(wl.groups, g)
		wl.next[g.topic] = make([]int64, g.parts)
	}
	return wl, nil
}

// produceMany sends one round: a record to every active partition.
func (wl *workload) produceMany(w *wire) error {
	for _, g := range wl.groups {
		if err := w.produce(g.many, callTimeout); err != nil {
			return err
		}
	}
	return nil
}

// run sends rounds of produce, each spread over the active partitions and
// then to one partition, then reads it all back the same way, and keeps
// the four flows in pt.
func (wl *workload) run(w *wire, pt *Point, rounds int) error {
	batches := 0
	for _, g := range wl.groups {
		batches += int(g.parts)
	}
	roundBytes := int64(batches * len(wl.batch))
	// A first round, timed apart: it finds the partitions idle (parked
	// ones reopen, ones never written to get their files), which is not
	// the steady cost of active ones.
	t0 := time.Now()
	if err := wl.produceMany(w); err != nil {
		return err
	}
	pt.FirstRound.add(time.Since(t0), len(wl.groups), batches, roundBytes)
	for _, g := range wl.groups {
		if err := w.produce(g.one, callTimeout); err != nil {
			return err
		}
	}
	for topic, next := range wl.next {
		for p := range next {
			next[p] = 1
		}
		if topic == oneTopic {
			next[0] = int64(batches)
		}
	}
	for range rounds {
		t0 := time.Now()
		if err := wl.produceMany(w); err != nil {
			return err
		}
		pt.ProduceMany.add(time.Since(t0), len(wl.groups), batches, roundBytes)
		t0 = time.Now()
		for _, g := range wl.groups {
			if err := w.produce(g.one, callTimeout); err != nil {
				return err
			}
		}
		pt.ProduceOne.add(time.Since(t0), len(wl.groups), batches, roundBytes)
	}
	size := int32(len(wl.batch))
	for range rounds {
		t0 := time.Now()
		for _, g := range wl.groups {
			next := wl.next[g.topic]
			parts := make([]protocol.FetchRequestPartition, g.parts)
			for p := range parts {
				parts[p] = protocol.FetchRequestPartition{Partition: int32(p), FetchOffset: next[p], PartitionMaxBytes: size}
			}
			n, got, err := w.fetch([]protocol.FetchRequestTopic{{Name: g.topic, Partitions: parts}}, wl.next, callTimeout)
			if err != nil {
				return err
			}
			pt.FetchMany.add(0, 1, got, int64(n))
		}
		pt.FetchMany.Seconds += time.Since(t0).Seconds()
		t0 = time.Now()
		for _, g := range wl.groups {
			req := []protocol.FetchRequestTopic{{Name: oneTopic, Partitions: []protocol.FetchRequestPartition{
				{FetchOffset: wl.next[oneTopic][0], PartitionMaxBytes: size * g.parts}}}}
			n, got, err := w.fetch(req, wl.next, callTimeout)
			if err != nil {
				return err
			}
			pt.FetchOne.add(0, 1, got, int64(n))
		}
		pt.FetchOne.Seconds += time.Since(t0).Seconds()
	}
	want := rounds * batches
	if pt.FetchMany.Batches != want || pt.FetchOne.Batches != want {
		return fmt.Errorf("fetch read back %d batches across the partitions and %d from one, want %d each",
			pt.FetchMany.Batches, pt.FetchOne.Batches, want)
	}
	return nil
}

func (f *Flow) add(d time.Duration, requests, batches int, n int64) {
	f.Seconds += d.Seconds()
	f.Requests += requests
	f.Batches += batches
	f.Bytes += n
}
