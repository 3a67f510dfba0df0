package serdebench

import (
	"fmt"
	"math/rand/v2"
	"reflect"

	"github.com/sluicelog/sluice/net/client/serde"
)

// OrderSchema is the Avro schema of the records produced: an order of
// eight fields of the kinds a real event has (longs, a string, an int, a
// double, an enum, a nullable string, an array of strings).
const OrderSchema = `{"type": "record", "name": "Order", "namespace": "io.sluicelog.bench", "fields": [
  {"name": "id", "type": "long"},
  {"name": "customer", "type": "string"},
  {"name": "quantity", "type": "int"},
  {"name": "price", "type": "double"},
  {"name": "timestamp", "type": "long"},
  {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]}},
  {"name": "note", "type": ["null", "string"], "default": null},
  {"name": "tags", "type": {"type": "array", "items": "string"}}
]}`

// Order is OrderSchema's record in Go.
type Order struct {
	ID        int64    `avro:"id"`
	Customer  string   `avro:"customer"`
	Quantity  int32    `avro:"quantity"`
	Price     float64  `avro:"price"`
	Timestamp int64    `avro:"timestamp"` // Unix milliseconds
	Status    string   `avro:"status"`
	Note      *string  `avro:"note"`
	Tags      []string `avro:"tags"`
}

// emptySchema is a record without fields: its Avro body is no bytes, so
// that a value of it is the wire format's header alone, and decoding one
// times the deserializer's way to its schema and nothing else.
const emptySchema = `{"type": "record", "name": "Empty", "namespace": "io.sluicelog.bench", "fields": []}`

// Distinct is how many different orders the workload holds; record i of
// a phase is order i mod Distinct.
const Distinct = 1 << 16

var (
	statuses = []string{"PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"}
	tagWords = []string{"gift", "express", "fragile", "bulk", "priority", "returning", "promo", "eu", "us", "b2b"}
	notes    = []string{"leave at the door", "call before delivery", "second floor, left", "invoice to the head office"}
)

// workload is the orders and, for the raw runs, their bytes as the
// serializer writes them.
type workload struct {
	orders []Order
	raw    [][]byte
	// total is the Distinct values' size in bytes, min and max their
	// smallest and largest.
	total    int64
	min, max int
}

// newOrders makes the Distinct orders, the same for every run (a fixed
// seed): ids from 10^9 up, one of 20,000 customers, 1-20 items at a price
// with cents, timestamps over a day, a status, a note on one order in
// four, and 0-3 tags.
func newOrders() []Order {
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 'e', 'r', 'd', 'e'}))
	const day = 86_400_000
	t0 := int64(1_767_225_600_000) // 2026-01-01T00:00:00Z
	out := make([]Order, Distinct)
	for i := range out {
		o := &out[i]
		o.ID = 1_000_000_000 + int64(i)
		o.Customer = fmt.Sprintf("customer-%05d", rng.IntN(20_000))
		o.Quantity = int32(1 + rng.IntN(20))
		o.Price = float64(99+rng.IntN(100_000)) / 100
		o.Timestamp = t0 + rng.Int64N(day)
		o.Status = statuses[rng.IntN(len(statuses))]
		if rng.IntN(4) == 0 {
			n := notes[rng.IntN(len(notes))]
			o.Note = &n
		}
		o.Tags = make([]string, rng.IntN(4))
		for j := range o.Tags {
			o.Tags[j] = tagWords[rng.IntN(len(tagWords))]
		}
	}
	return out
}

// newWorkload serialises every order with ser (warm: its id known), and
// checks that each deserialises with de back to the order it came from.
func newWorkload(ser *serde.AvroSerializer, de *serde.AvroDeserializer) (*workload, error) {
	w := &workload{orders: newOrders(), raw: make([][]byte, Distinct)}
	// One buffer for all the values, sliced once it has stopped growing.
	var buf []byte
	ends := make([]int, Distinct)
	for i := range w.orders {
		var err error
		if buf, err = ser.Append(buf, &w.orders[i]); err != nil {
			return nil, fmt.Errorf("serialising order %d: %w", i, err)
		}
		ends[i] = len(buf)
	}
	start := 0
	for i, end := range ends {
		w.raw[i] = buf[start:end:end]
		start = end
	}
	w.min = len(w.raw[0])
	for i, v := range w.raw {
		w.total += int64(len(v))
		w.min, w.max = min(w.min, len(v)), max(w.max, len(v))
		var got Order
		if err := de.Deserialize(v, &got); err != nil {
			return nil, fmt.Errorf("deserialising order %d: %w", i, err)
		}
		if !sameOrder(&got, &w.orders[i]) {
			return nil, fmt.Errorf("order %d deserialises to %+v, not %+v", i, got, w.orders[i])
		}
	}
	return w, nil
}

// sameOrder compares two orders, an empty tag list equal to none.
func sameOrder(a, b *Order) bool {
	if len(a.Tags) == 0 && len(b.Tags) == 0 {
		x, y := *a, *b
		x.Tags, y.Tags = nil, nil
		return reflect.DeepEqual(x, y)
	}
	return reflect.DeepEqual(a, b)
}

// bytesOf is the payload of records [0, n) of a run: order i mod Distinct
// each.
func (w *workload) bytesOf(n int64) int64 {
	full, rest := n/Distinct, n%Distinct
	b := full * w.total
	for i := range rest {
		b += int64(len(w.raw[i]))
	}
	return b
}

// mean is the mean value size in bytes.
func (w *workload) mean() float64 { return float64(w.total) / Distinct }
