package serdebench

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/client/serde"
)

// Modes of a phase.
const (
	Raw  = "raw"  // the values' bytes, serialised before the run
	Avro = "avro" // the orders, serialised (or deserialised) in the run
)

// RoundOrder is the order of a round's runs of each phase: raw first in
// odd rounds, Avro first in even ones.
func RoundOrder(round int) []string {
	if round%2 == 0 {
		return []string{Avro, Raw}
	}
	return []string{Raw, Avro}
}

// Kinds of a phase.
const (
	Produce = "produce"
	Consume = "consume"
)

// Phase is one timed run: a producer or a consumer of one mode.
type Phase struct {
	Kind  string `json:"kind"`
	Mode  string `json:"mode"`
	Topic string `json:"topic"`
	// FirstOffset is the partition offset of the run's first record.
	FirstOffset int64 `json:"first_offset"`
	Records     int64 `json:"records"`
	// Bytes is the payload (values), MBps it in 10^6 bytes a second.
	Bytes         int64   `json:"payload_bytes"`
	RecordsPerSec float64 `json:"records_per_s"`
	MBps          float64 `json:"mb_per_s"`
	CPU
}

// ClientUsPerRecord is this process's CPU time per record, in
// microseconds.
func (ph *Phase) ClientUsPerRecord() float64 {
	return units.Ratio(ph.ClientCPU*1e6, float64(ph.Records))
}

func (ph *Phase) finish(c CPU) {
	ph.CPU = c
	ph.RecordsPerSec = units.Ratio(float64(ph.Records), c.Seconds)
	ph.MBps = units.Ratio(float64(ph.Bytes)/1e6, c.Seconds)
}

// codecs are the serializer and deserializer of a run, warm.
type codecs struct {
	ser *serde.AvroSerializer
	de  *serde.AvroDeserializer
}

// produce sends n records to partition 0 of ph.Topic from one producer
// (acks=1, the native producer's defaults otherwise), record i being
// order i mod Distinct: in Avro mode serialised by the serializer into
// one reused buffer just before its Send (which copies it into its
// batch), in raw mode its bytes serialised before the run. It is timed
// from the first Send until Flush returns with every record acknowledged.
func produce(ctx context.Context, cl *client.Client, w *workload, c codecs, brokerPID int, n int64, ph *Phase) error {
	p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: client.AcksLeader})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	cb := func(_ client.RecordMetadata, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	ph.Records, ph.Bytes = n, w.bytesOf(n)
	avro := ph.Mode == Avro
	rec := client.Record{Topic: ph.Topic, Partition: 0}
	buf := make([]byte, 0, 512)
	sluicedproc.SyncAll() // the previous run's writeback is not this one's
	meter := startCPU(brokerPID)
	for i := range n {
		j := i % Distinct
		if avro {
			if buf, err = c.ser.Append(buf[:0], &w.orders[j]); err != nil {
				return fmt.Errorf("serialising record %d: %w", i, err)
			}
			rec.Value = buf
		} else {
			rec.Value = w.raw[j]
		}
		if err := p.Send(ctx, &rec, cb); err != nil {
			return fmt.Errorf("send record %d: %w", i, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	ph.finish(meter.stop())
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d records failed; the first: %v", f, n, *firstErr.Load())
	}
	return nil
}

// consume reads n records of partition 0 of ph.Topic from
// ph.FirstOffset with one consumer (1 MiB fetches, records lent rather
// than copied), checking every offset. In Avro mode each value is
// deserialised into a new Order, whose id is checked; in raw mode only
// its length and last byte are read. Timed from the first Poll to the
// last record.
func consume(ctx context.Context, cl *client.Client, w *workload, c codecs, brokerPID int, n int64, ph *Phase) error {
	k := cl.NewConsumer(client.ConsumerConfig{BorrowRecords: true})
	defer k.Close()
	k.Seek(ph.Topic, 0, ph.FirstOffset)
	ph.Records = n
	avro := ph.Mode == Avro
	next, end := ph.FirstOffset, ph.FirstOffset+n
	var bytes int64
	empty := 0
	sluicedproc.SyncAll()
	meter := startCPU(brokerPID)
	for next < end {
		recs, err := k.Poll(ctx)
		if err != nil {
			return fmt.Errorf("poll at offset %d: %w", next, err)
		}
		if len(recs) == 0 {
			if empty++; empty > 20 {
				return fmt.Errorf("no records after offset %d in 20 polls", next)
			}
			continue
		}
		for i := range recs {
			r := &recs[i]
			if next == end {
				break
			}
			j := (next - ph.FirstOffset) % Distinct
			if r.Offset != next {
				return fmt.Errorf("record at offset %d, want offset %d", r.Offset, next)
			}
			if avro {
				var o Order
				if err := c.de.Deserialize(r.Value, &o); err != nil {
					return fmt.Errorf("record at offset %d: %w", next, err)
				}
				if o.ID != w.orders[j].ID {
					return fmt.Errorf("record at offset %d: order %d, want %d as produced", next, o.ID, w.orders[j].ID)
				}
			} else {
				want := w.raw[j]
				if len(r.Value) != len(want) || r.Value[len(want)-1] != want[len(want)-1] {
					return fmt.Errorf("record at offset %d (%d B), want the %d B produced", next, len(r.Value), len(want))
				}
			}
			bytes += int64(len(r.Value))
			next++
		}
	}
	ph.Bytes = bytes
	ph.finish(meter.stop())
	return nil
}
