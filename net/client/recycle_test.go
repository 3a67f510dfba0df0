package client

import (
	"testing"
	"unsafe"
)

// span is the address range of one record's value.
type span struct{ lo, hi uintptr }

func valueSpan(v []byte) span {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	return span{p, p + uintptr(len(v))}
}

// TestRecycle reads a partition of mixed records (compressed batches
// beside uncompressed ones, so both the copies of plain batches and the
// arenas of decompressed records are in play) with PollInto in small
// fetches, giving back the records of most polls with Recycle and keeping
// those of every third. Later polls' values land in the memory of recycled
// ones, although the test still holds pointers to it (so the collector
// cannot have handed it out again); the records kept, never recycled,
// still hold their bytes at the end; and every record read equals Poll's.
func TestRecycle(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const topic, n = "recycle", 3000
	produceMixed(t, cl, topic, n, false)
	small := ConsumerConfig{MaxPartitionBytes: 4096}
	want := readAllPoll(t, cl, topic, n, small)

	ctx := testCtx(t, 60e9)
	k := cl.NewConsumer(small)
	defer k.Close()
	k.Assign(topic, 0)
	var (
		got      []ConsumerRecord // deep copies of every record, in order
		kept     []ConsumerRecord // shallow copies of the records not recycled
		keptWant []ConsumerRecord // and deep copies of them, taken at once
		held     [][]ConsumerRecord
		recycled []span
		dst      []ConsumerRecord
		reused   int
	)
	for poll := 0; k.Position(topic, 0) < n; poll++ {
		recs, err := k.PollInto(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, deepCopy(r))
			if len(r.Value) == 0 {
				continue
			}
			s := valueSpan(r.Value)
			for _, o := range recycled {
				if s.lo < o.hi && o.lo < s.hi {
					reused++
					break
				}
			}
		}
		if poll%3 == 2 {
			for _, r := range recs {
				kept = append(kept, r)
				keptWant = append(keptWant, deepCopy(r))
			}
			dst = nil // those records stay the caller's: a new array next
			continue
		}
		held = append(held, append([]ConsumerRecord(nil), recs...))
		for _, r := range recs {
			if len(r.Value) > 0 {
				recycled = append(recycled, valueSpan(r.Value))
			}
		}
		k.Recycle(recs)
		dst = recs
	}
	sameRecords(t, "PollInto with Recycle", got, want)
	sameRecords(t, "records kept, not recycled", kept, keptWant)
	if reused == 0 {
		t.Fatalf("no value of %d records was read into memory given back by Recycle", len(got))
	}
	if len(held) < 10 || len(kept) == 0 {
		t.Fatalf("%d polls recycled and %d records kept: the fetches were too large to test Recycle", len(held), len(kept))
	}
	t.Logf("%d of %d values read into recycled memory", reused, len(got))
}

// A consumer that never recycles remembers no poll's memory (so it keeps
// nothing alive that the caller dropped), and Recycle of records it does
// not know, or of borrowed ones, does nothing.
func TestRecycleIgnoresWhatItDidNotIssue(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	const topic, n = "norecycle", 1000
	produceMixed(t, cl, topic, n, false)
	readAllPollInto(t, cl, topic, n, ConsumerConfig{MaxPartitionBytes: 4096})

	ctx := testCtx(t, 60e9)
	k := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 4096})
	defer k.Close()
	k.Assign(topic, 0)
	recs, err := k.PollInto(ctx, nil)
	if err != nil || len(recs) < 2 {
		t.Fatalf("poll: %d records, %v", len(recs), err)
	}
	if len(k.issued) != 0 || len(k.fresh) != 0 {
		t.Fatalf("before any Recycle the consumer remembers %d polls and %d buffers", len(k.issued), len(k.fresh))
	}
	first := deepCopy(recs[1])
	k.Recycle(recs[1:]) // not the slice the poll returned
	k.Recycle([]ConsumerRecord{recs[0]})
	if len(k.spare) != 0 {
		t.Fatalf("Recycle of slices the consumer did not return kept %d buffers for reuse", len(k.spare))
	}
	for k.Position(topic, 0) < n {
		if _, err := k.PollInto(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	sameRecords(t, "a record after Recycle of slices it is not the start of", []ConsumerRecord{recs[1]}, []ConsumerRecord{first})

	lent := cl.NewConsumer(ConsumerConfig{MaxPartitionBytes: 4096, BorrowRecords: true})
	defer lent.Close()
	lent.Assign(topic, 0)
	recs, err = lent.PollInto(ctx, nil)
	if err != nil || len(recs) == 0 {
		t.Fatalf("borrowed poll: %d records, %v", len(recs), err)
	}
	lent.Recycle(recs)
	if lent.recycling || len(lent.spare) != 0 {
		t.Fatal("Recycle of borrowed records changed the consumer")
	}
}
