package client

import "testing"

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
