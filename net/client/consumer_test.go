package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// produceN writes n records "0".."n-1" to one partition with timestamps
// base+i seconds, and waits for them.
func produceN(t *testing.T, cl *Client, topic string, partition int32, n int, base time.Time) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	p, err := cl.NewProducer(ProducerConfig{Partitioner: ManualPartitioner(), BatchSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := &Record{Topic: topic, Partition: partition, Value: []byte(strconv.Itoa(i)), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := p.Send(ctx, r, func(_ RecordMetadata, err error) {
			if err != nil {
				t.Error(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// pollUntil polls until at least n records came, and returns them.
func pollUntil(t *testing.T, k *Consumer, n int) []ConsumerRecord {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	var out []ConsumerRecord
	for len(out) < n {
		recs, err := k.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

func TestSeek(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "seek", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	base := time.UnixMilli(1_700_000_000_000)
	produceN(t, cl, "seek", 0, 100, base)

	k := cl.NewConsumer(ConsumerConfig{MaxWait: 50 * time.Millisecond, MaxPartitionBytes: 1})
	defer k.Close()
	if pos := k.Position("seek", 0); pos != -1 {
		t.Fatalf("Position of an unassigned partition = %d", pos)
	}
	// Seek into the middle of a batch: the records before the position in
	// the returned batch are skipped.
	k.Seek("seek", 0, 37)
	recs := pollUntil(t, k, 1)
	if recs[0].Offset != 37 || string(recs[0].Value) != "37" {
		t.Fatalf("first record after Seek(37): offset %d value %q", recs[0].Offset, recs[0].Value)
	}
	for i, r := range recs {
		if r.Offset != int64(37+i) {
			t.Fatalf("records out of order: %d at %d", r.Offset, i)
		}
	}
	if pos := k.Position("seek", 0); pos != recs[len(recs)-1].Offset+1 {
		t.Fatalf("Position = %d after reading up to %d", pos, recs[len(recs)-1].Offset)
	}

	if err := k.SeekToBeginning(ctx, "seek"); err != nil {
		t.Fatal(err)
	}
	if pos := k.Position("seek", 0); pos != 0 {
		t.Fatalf("Position after SeekToBeginning = %d", pos)
	}
	recs = pollUntil(t, k, 100)
	if recs[0].Offset != 0 || recs[99].Offset != 99 {
		t.Fatalf("after SeekToBeginning: %d..%d", recs[0].Offset, recs[len(recs)-1].Offset)
	}

	// SeekToTime: the first record at or after t.
	if err := k.SeekToTime(ctx, "seek", 0, base.Add(42*time.Second)); err != nil {
		t.Fatal(err)
	}
	if pos := k.Position("seek", 0); pos != 42 {
		t.Fatalf("SeekToTime(42s) = %d", pos)
	}
	if err := k.SeekToTime(ctx, "seek", 0, base.Add(41500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if pos := k.Position("seek", 0); pos != 42 {
		t.Fatalf("SeekToTime(41.5s) = %d", pos)
	}
	recs = pollUntil(t, k, 1)
	if recs[0].Offset != 42 || !recs[0].Timestamp.Equal(base.Add(42*time.Second)) {
		t.Fatalf("after SeekToTime: %+v", recs[0])
	}
	// Past the last record: the end.
	if err := k.SeekToTime(ctx, "seek", 0, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if pos := k.Position("seek", 0); pos != 100 {
		t.Fatalf("SeekToTime past the end = %d", pos)
	}

	// SeekToEnd, then only new records come.
	if err := k.SeekToEnd(ctx, "seek"); err != nil {
		t.Fatal(err)
	}
	if pos := k.Position("seek", 0); pos != 100 {
		t.Fatalf("Position after SeekToEnd = %d", pos)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	for {
		recs, err := k.Poll(short)
		if len(recs) > 0 {
			t.Fatalf("records after SeekToEnd: %v", recs)
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Poll at the end: %v", err)
			}
			break
		}
	}
	cancel()
	produceN(t, cl, "seek", 0, 3, base.Add(time.Hour))
	recs = pollUntil(t, k, 3)
	if recs[0].Offset != 100 || string(recs[0].Value) != "0" {
		t.Fatalf("after SeekToEnd and 3 more: %+v", recs[0])
	}

	// A position past the end is out of range, with the valid range.
	k.Seek("seek", 0, 1000)
	_, err := k.Poll(ctx)
	var oor *OffsetOutOfRangeError
	if !errors.As(err, &oor) || !errors.Is(err, protocol.ErrOffsetOutOfRange) {
		t.Fatalf("Poll at 1000: %v, want OffsetOutOfRangeError", err)
	}
	if oor.Topic != "seek" || oor.Partition != 0 || oor.Offset != 1000 || oor.LogStartOffset != 0 || oor.HighWatermark != 103 {
		t.Fatalf("out of range error: %+v", oor)
	}
	if pos := k.Position("seek", 0); pos != 1000 {
		t.Fatalf("position moved on an error: %d", pos)
	}
}

func TestPollErrors(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 20 * time.Millisecond})
	if _, err := k.Poll(ctx); err == nil {
		t.Fatal("Poll with nothing assigned succeeded")
	}
	k.Assign("missing", 0)
	if _, err := k.Poll(ctx); !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("Poll of a missing topic: %v", err)
	}
	k.Unassign("missing")
	if err := cl.CreateTopic(ctx, "two", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	produceN(t, cl, "two", 0, 5, time.Now())
	// Partition 1 is out of range while partition 0 has records: the
	// records come first, the error with the next Poll.
	k.Assign("two", 0)
	k.Seek("two", 1, 50)
	recs, err := k.Poll(ctx)
	if err != nil || len(recs) != 5 {
		t.Fatalf("Poll = %d records, %v", len(recs), err)
	}
	if _, err := k.Poll(ctx); !errors.Is(err, protocol.ErrOffsetOutOfRange) {
		t.Fatalf("next Poll: %v, want the held-back out-of-range error", err)
	}
	k.Close()
	if _, err := k.Poll(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Poll after Close: %v", err)
	}
}

func TestPollContext(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	if err := cl.CreateTopic(ctx, "quiet", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	// A long MaxWait and a short context: Poll returns when the context
	// ends, not when the broker gives up.
	k := cl.NewConsumer(ConsumerConfig{MaxWait: 10 * time.Second})
	defer k.Close()
	k.Assign("quiet", 0)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	recs, err := k.Poll(short)
	if !errors.Is(err, context.DeadlineExceeded) || len(recs) != 0 {
		t.Fatalf("Poll = %v, %v", recs, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Poll returned after %v", d)
	}
	// The consumer still works: a record produced now arrives.
	produceN(t, cl, "quiet", 0, 1, time.Now())
	if recs := pollUntil(t, k, 1); recs[0].Offset != 0 {
		t.Fatal(recs)
	}
}

// buildBatch makes a batch of values at baseOffset.
func buildBatch(t *testing.T, codec batch.Codec, baseOffset int64, values ...string) []byte {
	t.Helper()
	b := batch.NewBuilder(codec)
	for i, v := range values {
		b.Append(1000+int64(i), nil, []byte(v), nil)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	out = append([]byte(nil), out...)
	batch.SetBaseOffset(out, baseOffset)
	return out
}

func TestDecodeBatches(t *testing.T) {
	k := &Consumer{}
	data := append(buildBatch(t, batch.None, 0, "a", "b", "c"), buildBatch(t, batch.Zstd, 3, "d", "e")...)
	data = append(data, buildBatch(t, batch.LZ4, 5, "f")...)

	// From a position inside the first batch; a partial batch at the end
	// (as a fetch cut at its byte limit may return) is left for later.
	partial := buildBatch(t, batch.None, 6, "g")
	recs, pos, err := k.decode(nil, "t", 0, 1, append(data, partial[:len(partial)-3]...))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for i, r := range recs {
		got += string(r.Value)
		if r.Offset != int64(1+i) {
			t.Fatalf("record %d at offset %d", i, r.Offset)
		}
	}
	if got != "bcdef" || pos != 6 {
		t.Fatalf("got %q, position %d", got, pos)
	}
	// Batches wholly below the position are skipped without decoding.
	recs, pos, err = k.decode(nil, "t", 0, 5, data)
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "f" || pos != 6 {
		t.Fatalf("from 5: %v %d %v", recs, pos, err)
	}

	// A damaged CRC fails, naming the partition; SkipCRCCheck reads on.
	bad := buildBatch(t, batch.None, 0, "x", "y")
	bad[crcOffset] ^= 0xff
	if _, _, err := k.decode(nil, "t", 3, 0, bad); !errors.Is(err, batch.ErrBadCRC) || !strings.Contains(err.Error(), "t-3") {
		t.Fatalf("bad CRC: %v", err)
	}
	k.cfg.SkipCRCCheck = true
	recs, pos, err = k.decode(nil, "t", 3, 0, bad)
	if err != nil || len(recs) != 2 || pos != 2 {
		t.Fatalf("bad CRC skipped: %v %d %v", recs, pos, err)
	}
	// PollBatches' check behaves alike.
	k.cfg.SkipCRCCheck = false
	if _, _, err := k.checkBatches(nil, "t", 3, 0, bad); !errors.Is(err, batch.ErrBadCRC) {
		t.Fatalf("bad CRC in batch mode: %v", err)
	}
	k.cfg.SkipCRCCheck = true
	if bs, pos, err := k.checkBatches(nil, "t", 3, 0, bad); err != nil || len(bs) != 1 || pos != 2 {
		t.Fatalf("bad CRC skipped in batch mode: %v %d %v", bs, pos, err)
	}
	// Other damage still fails with the check off.
	bad[batch.HeaderSize] ^= 0x7f
	if _, _, err := k.decode(nil, "t", 3, 0, bad); err == nil {
		t.Fatal("corrupt records read")
	}
	badCount := buildBatch(t, batch.None, 0, "x", "y")
	binary.BigEndian.PutUint32(badCount[recordCountOffset:], 3)
	if _, _, err := k.checkBatches(nil, "t", 3, 0, badCount); err == nil {
		t.Fatal("a batch whose record count disagrees with its last offset delta passed with the CRC check off")
	}
}

// TestDecodeCompactedBatches reads batches as a compacted log serves
// them: records missing inside batches, a batch gone between them, and
// empty batches, one of them last. Positions in gaps move to the next
// record, and past the last batch's range, empty or not.
func TestDecodeCompactedBatches(t *testing.T) {
	var f batch.Filterer
	filter := func(b []byte, keep func(o int64) bool, empty bool) []byte {
		out, _, err := f.Filter(nil, b, func(r *batch.Record) bool { return keep(r.Offset) }, batch.FilterOptions{KeepEmpty: empty})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	none := func(int64) bool { return false }
	var data []byte
	data = append(data, filter(buildBatch(t, batch.None, 0, "a", "b", "c", "d", "e", "f"), func(o int64) bool { return o%2 == 0 }, false)...)
	data = append(data, filter(buildBatch(t, batch.Gzip, 6, "g", "h", "i"), none, true)...)
	// Offsets 9-11 went with their whole batch.
	data = append(data, filter(buildBatch(t, batch.Zstd, 12, "m", "n", "o"), func(o int64) bool { return o == 14 }, false)...)
	data = append(data, filter(buildBatch(t, batch.Snappy, 15, "p", "q"), none, true)...)

	for _, skipCRC := range []bool{false, true} {
		for _, borrow := range []bool{false, true} {
			k := &Consumer{}
			k.cfg.SkipCRCCheck, k.cfg.BorrowRecords = skipCRC, borrow
			for _, c := range []struct {
				pos  int64
				want string
			}{{0, "a0 c2 e4 o14"}, {1, "c2 e4 o14"}, {5, "o14"}, {7, "o14"}, {10, "o14"}, {14, "o14"}, {15, ""}, {16, ""}} {
				recs, pos, err := k.decode(nil, "t", 0, c.pos, data)
				if err != nil {
					t.Fatalf("skipCRC=%v borrow=%v from %d: %v", skipCRC, borrow, c.pos, err)
				}
				var got []string
				for _, r := range recs {
					got = append(got, fmt.Sprintf("%s%d", r.Value, r.Offset))
				}
				if strings.Join(got, " ") != c.want || pos != 17 {
					t.Fatalf("skipCRC=%v borrow=%v from %d: %q, position %d; want %q, 17", skipCRC, borrow, c.pos, got, pos, c.want)
				}
			}
			bs, pos, err := k.checkBatches(nil, "t", 0, 7, data)
			if err != nil || pos != 17 || len(bs) != 3 {
				t.Fatalf("skipCRC=%v: checkBatches from 7: %d batches, position %d, %v", skipCRC, len(bs), pos, err)
			}
			if h := bs[0].Header; h.BaseOffset != 6 || h.RecordCount != 0 || bs[2].Header.RecordCount != 0 || bs[1].Header.RecordCount != 1 {
				t.Fatalf("skipCRC=%v: checkBatches headers %+v %+v %+v", skipCRC, bs[0].Header, bs[1].Header, bs[2].Header)
			}
		}
	}
}

// Offsets of v2 batch header fields (Kafka's record batch layout) that
// the tests above damage.
const (
	crcOffset         = 17
	recordCountOffset = 57
)
