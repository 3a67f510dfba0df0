package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/protocol"
)

// Kafka's own test vectors for murmur2 (UtilsTest.testMurmur2 in Apache
// Kafka's clients module): the signed values Java's Utils.murmur2 returns.
var murmur2Vectors = []struct {
	in   string
	want int32
}{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
}

func TestMurmur2KafkaVectors(t *testing.T) {
	for _, v := range murmur2Vectors {
		if got := Murmur2([]byte(v.in)); got != v.want {
			t.Errorf("Murmur2(%q) = %d, want %d", v.in, got, v.want)
		}
	}
}

func TestKeyPartition(t *testing.T) {
	// toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16.
	if got := KeyPartition([]byte("foobar"), 50); got != 16 {
		t.Errorf("KeyPartition(foobar, 50) = %d, want 16", got)
	}
	for _, v := range murmur2Vectors {
		for _, n := range []int32{1, 3, 7, 12, 100} {
			got := KeyPartition([]byte(v.in), n)
			if want := (v.want & 0x7fffffff) % n; got != want || got < 0 || got >= n {
				t.Errorf("KeyPartition(%q, %d) = %d, want %d", v.in, n, got, want)
			}
		}
	}
}

func TestStickyMovesOn(t *testing.T) {
	s := sticky{current: -1}
	first := s.pick(5)
	if again := s.pick(5); again != first {
		t.Fatalf("sticky moved without a batch closing: %d then %d", first, again)
	}
	seen := map[int32]bool{}
	for range 200 {
		p := s.pick(5)
		seen[p] = true
		s.batchDone(p, 5)
		if next := s.pick(5); next == p {
			t.Fatalf("sticky stayed on %d after its batch closed", p)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("sticky visited %v of 5 partitions", seen)
	}
	// Another partition's batch closing does not move it.
	cur := s.pick(5)
	s.batchDone((cur+1)%5, 5)
	if s.pick(5) != cur {
		t.Fatal("sticky moved when another partition's batch closed")
	}
	one := sticky{current: -1}
	one.batchDone(one.pick(1), 1)
	if one.pick(1) != 0 {
		t.Fatal("one partition")
	}
}

func FuzzMurmur2(f *testing.F) {
	for _, v := range murmur2Vectors {
		f.Add([]byte(v.in))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		p := KeyPartition(key, 7)
		if p < 0 || p >= 7 {
			t.Fatalf("KeyPartition = %d", p)
		}
	})
}

// partitionAll runs records through a topic's partitioner as a producer
// does (ForTopic first, when there is one) and returns the partitions.
func partitionAll(p Partitioner, recs []*Record, n int32) []int32 {
	if tp, ok := p.(TopicPartitioner); ok {
		p = tp.ForTopic("t")
	}
	out := make([]int32, len(recs))
	for i, r := range recs {
		out[i] = p.Partition(r, n)
	}
	return out
}

func keyed(n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = &Record{Topic: "t", Key: []byte("key-" + strconv.Itoa(i)), Partition: 3}
	}
	return recs
}

func keyless(n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = &Record{Topic: "t"} // Partition 0, the zero value
	}
	return recs
}

// TestKeyPartitionMatchesFranzGo: a keyed record lands where franz-go's
// default partitioner (Kafka's murmur2 placement) puts it, for keys of
// every length and several partition counts, so that Sluice, franz-go and
// Kafka's Java producer agree on every key's partition.
func TestKeyPartitionMatchesFranzGo(t *testing.T) {
	kp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		key := make([]byte, i%67)
		for j := range key {
			key[j] = byte(rng.UintN(256))
		}
		for _, n := range []int32{1, 2, 3, 7, 12, 64, 1000} {
			want := int32(kp.Partition(&kgo.Record{Key: key}, int(n)))
			if got := KeyPartition(key, n); got != want {
				t.Fatalf("KeyPartition(%x, %d) = %d, franz-go says %d", key, n, got, want)
			}
			for _, p := range []Partitioner{StickyKeyPartitioner(), KeyPartitioner()} {
				if got := partitionAll(p, []*Record{{Key: key}}, n)[0]; got != want {
					t.Fatalf("%T: key %x of %d partitions: %d, franz-go says %d", p, key, n, got, want)
				}
			}
		}
	}
}

// TestKeyedPartitionersSpreadAndAreStable: the keyed partitioners spread
// many keys over every partition, roughly evenly, and send a key to the
// same partition every time, whatever else was sent between.
func TestKeyedPartitionersSpreadAndAreStable(t *testing.T) {
	const n = 8
	recs := keyed(8000)
	for _, name := range []string{"sticky-key", "key"} {
		p, err := PartitionerByName(name)
		if err != nil {
			t.Fatal(err)
		}
		first := partitionAll(p, recs, n)
		// Again, with unkeyed records interleaved and in reverse order.
		tp := p.(TopicPartitioner).ForTopic("t")
		count := make([]int, n)
		for i := len(recs) - 1; i >= 0; i-- {
			tp.Partition(&Record{}, n)
			got := tp.Partition(recs[i], n)
			if got != first[i] {
				t.Fatalf("%s: key %s went to %d, then %d", name, recs[i].Key, first[i], got)
			}
			count[got]++
		}
		for part, c := range count {
			if c < len(recs)/n*8/10 || c > len(recs)/n*12/10 {
				t.Errorf("%s: partition %d got %d of %d keys: %v", name, part, c, len(recs), count)
			}
		}
	}
}

func TestRoundRobinEven(t *testing.T) {
	for _, p := range []Partitioner{RoundRobinPartitioner(), KeyPartitioner()} {
		for _, n := range []int32{1, 2, 5} {
			recs := keyless(int(n) * 40)
			if _, ok := p.(*roundRobin); ok {
				recs = keyed(int(n) * 40) // round robin ignores keys
			}
			got := partitionAll(p, recs, n)
			count := make([]int, n)
			for i, part := range got {
				count[part]++
				if i > 0 && part != (got[i-1]+1)%n {
					t.Fatalf("%T, %d partitions: record %d on %d after %d", p, n, i, part, got[i-1])
				}
			}
			for part, c := range count {
				if c != 40 {
					t.Fatalf("%T, %d partitions: partition %d got %d records, want 40: %v", p, n, part, c, count)
				}
			}
		}
	}
}

// TestStickyPartitionersFillThenMove: the sticky partitioners keep
// unkeyed records (and, uniform, keyed ones) on one partition until a
// batch of it closes, then move to another.
func TestStickyPartitionersFillThenMove(t *testing.T) {
	const n = 4
	for _, tc := range []struct {
		p    Partitioner
		recs []*Record
	}{
		{StickyKeyPartitioner(), keyless(10)},
		{UniformStickyPartitioner(), keyed(10)},
	} {
		tp := tc.p.(TopicPartitioner).ForTopic("t")
		ba := tp.(BatchAwarePartitioner)
		seen := map[int32]int{}
		for batch := range 100 {
			first := tp.Partition(tc.recs[0], n)
			for _, r := range tc.recs[1:] {
				if got := tp.Partition(r, n); got != first {
					t.Fatalf("%T: batch %d moved from %d to %d before it closed", tc.p, batch, first, got)
				}
			}
			seen[first]++
			ba.BatchClosed(first, n)
			if next := tp.Partition(tc.recs[0], n); next == first {
				t.Fatalf("%T: stayed on %d after its batch closed", tc.p, first)
			}
		}
		if len(seen) != n {
			t.Fatalf("%T: 100 batches went to %v, want all %d partitions", tc.p, seen, n)
		}
	}
}

func TestManualPartitioner(t *testing.T) {
	for _, part := range []int32{0, 3, 9, -1} {
		if got := ManualPartitioner().Partition(&Record{Partition: part, Key: []byte("k")}, 4); got != part {
			t.Fatalf("manual: Partition %d -> %d", part, got)
		}
	}
	if !isManual(ManualPartitioner()) || isManual(StickyKeyPartitioner()) {
		t.Fatal("isManual")
	}
}

func TestPartitionerByName(t *testing.T) {
	for name, want := range map[string]Partitioner{
		"":               StickyKeyPartitioner(),
		"default":        StickyKeyPartitioner(),
		"sticky-key":     StickyKeyPartitioner(),
		"round-robin":    RoundRobinPartitioner(),
		"murmur2":        KeyPartitioner(),
		"key":            KeyPartitioner(),
		"manual":         ManualPartitioner(),
		"uniform-sticky": UniformStickyPartitioner(),
		"org.apache.kafka.clients.producer.internals.DefaultPartitioner": StickyKeyPartitioner(),
		"org.apache.kafka.clients.producer.RoundRobinPartitioner":        RoundRobinPartitioner(),
		"org.apache.kafka.clients.producer.UniformStickyPartitioner":     UniformStickyPartitioner(),
	} {
		got, err := PartitionerByName(name)
		if err != nil || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Errorf("PartitionerByName(%q) = %#v, %v; want %#v", name, got, err, want)
		}
	}
	if _, err := PartitionerByName("org.example.Mine"); err == nil || !strings.Contains(err.Error(), "org.example.Mine") {
		t.Fatalf("unknown name: %v", err)
	}
}

// TestPartitionersThroughProducer: the configured partitioner decides
// where a producer's records land on a real broker: round robin evenly, a
// caller's function where it says, a caller's per-topic partitioner once
// per topic; a choice out of range is refused without leaking buffer
// memory.
func TestPartitionersThroughProducer(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx := testCtx(t, 30*time.Second)
	const parts = 4
	for _, topic := range []string{"rr", "func", "pertopic-a", "pertopic-b", "bad"} {
		if err := cl.CreateTopic(ctx, topic, parts, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	hw := func(topic string) []int64 {
		info, err := cl.DescribeTopic(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int64, len(info.Partitions))
		for _, p := range info.Partitions {
			out[p.Partition] = p.HighWatermark
		}
		return out
	}

	// Round robin: keyed or not, each record on the next partition.
	rr, err := cl.NewProducer(ProducerConfig{Partitioner: RoundRobinPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	last := int32(-1)
	for i := range 10 * parts {
		md, err := rr.SendSync(ctx, &Record{Topic: "rr", Key: []byte("same key"), Value: []byte("v")})
		if err != nil {
			t.Fatal(err)
		}
		if last >= 0 && md.Partition != (last+1)%parts {
			t.Fatalf("round robin: record %d on %d after %d", i, md.Partition, last)
		}
		last = md.Partition
	}
	rr.Close(ctx)
	if got := hw("rr"); fmt.Sprint(got) != "[10 10 10 10]" {
		t.Fatalf("round robin: partitions end at %v", got)
	}

	// A function of the caller's.
	byValue := PartitionerFunc(func(r *Record, n int32) int32 { return int32(r.Value[0]-'0') % n })
	fp, err := cl.NewProducer(ProducerConfig{Partitioner: byValue})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		v := strconv.Itoa(i)
		md, err := fp.SendSync(ctx, &Record{Topic: "func", Value: []byte(v)})
		if err != nil || md.Partition != int32(i%parts) {
			t.Fatalf("value %s: %+v, %v", v, md, err)
		}
	}
	fp.Close(ctx)
	if got := hw("func"); fmt.Sprint(got) != "[2 2 2 1]" {
		t.Fatalf("caller's function: partitions end at %v", got)
	}

	// A per-topic partitioner of the caller's: ForTopic once per topic,
	// its state separate per topic, BatchClosed as batches close.
	pt := &countingPartitioner{forTopic: map[string]int{}}
	cp, err := cl.NewProducer(ProducerConfig{Partitioner: pt, Linger: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		for _, topic := range []string{"pertopic-a", "pertopic-b"} {
			md, err := cp.SendSync(ctx, &Record{Topic: topic, Value: []byte("v")})
			if err != nil || md.Partition != int32(i%parts) {
				t.Fatalf("%s record %d: %+v, %v", topic, i, md, err)
			}
		}
	}
	cp.Close(ctx)
	pt.mu.Lock()
	if fmt.Sprint(pt.forTopic) != "map[pertopic-a:1 pertopic-b:1]" || pt.closed < 12 {
		t.Fatalf("ForTopic calls %v, BatchClosed calls %d (want 12 or more)", pt.forTopic, pt.closed)
	}
	pt.mu.Unlock()

	// Out of range: refused, and the record's buffer memory given back
	// (else the tenth refusal would wait MaxBlock for room and time out).
	choice := int32(parts)
	bp, err := cl.NewProducer(ProducerConfig{BufferMemory: 1000, MaxBlock: 200 * time.Millisecond,
		Partitioner: PartitionerFunc(func(*Record, int32) int32 { return choice })})
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close(ctx)
	for range 20 {
		err := bp.Send(ctx, &Record{Topic: "bad", Value: make([]byte, 200)}, nil)
		if !errors.Is(err, protocol.ErrUnknownTopicOrPartition) || !strings.Contains(err.Error(), "chose partition 4 for topic bad, which has 4") {
			t.Fatalf("partition %d of %d: %v", choice, parts, err)
		}
	}
	choice = 2
	if md, err := bp.SendSync(ctx, &Record{Topic: "bad", Value: make([]byte, 200)}); err != nil || md.Partition != 2 {
		t.Fatalf("after the refusals: %+v, %v", md, err)
	}
}

// countingPartitioner is a caller's TopicPartitioner: round robin per
// topic from partition 0, counting its calls.
type countingPartitioner struct {
	mu       sync.Mutex
	forTopic map[string]int
	closed   int
}

func (c *countingPartitioner) Partition(*Record, int32) int32 { panic("Partition on the root") }

func (c *countingPartitioner) ForTopic(topic string) Partitioner {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forTopic[topic]++
	return &countingTopic{c: c}
}

type countingTopic struct {
	c    *countingPartitioner
	next int32
}

func (ct *countingTopic) Partition(_ *Record, n int32) int32 {
	p := ct.next % n
	ct.next++
	return p
}

func (ct *countingTopic) BatchClosed(int32, int32) {
	ct.c.mu.Lock()
	ct.c.closed++
	ct.c.mu.Unlock()
}
