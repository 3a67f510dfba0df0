package metadata

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// randomLog is a long, seeded mix of records, valid and not, chosen to hit
// every path: brokers coming and going, topics, leader and ISR changes
// with right and stale epochs, producer IDs.
func randomLog(t testing.TB, seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	sim := New(Options{}) // follows the log, so that proposals look plausible
	var log [][]byte
	for len(log) < n {
		var rec Record
		id := int32(rng.IntN(6))
		topic := fmt.Sprintf("t%d", rng.IntN(5))
		switch rng.IntN(12) {
		case 0:
			rec = InitCluster{ClusterID: []string{"a", "b"}[rng.IntN(2)]}
		case 1, 2:
			rec = RegisterBroker{ID: id, Incarnation: fmt.Sprintf("i%d", rng.IntN(3)), Listeners: map[string]string{"SLUICE": fmt.Sprintf("h%d:1", id)}}
		case 3:
			rec = FenceBroker{ID: id}
		case 4:
			rec = UnfenceBroker{ID: id}
		case 5:
			if rng.IntN(4) == 0 {
				rec = UnregisterBroker{ID: id}
			} else {
				rec = AllocateProducerIDs{BrokerID: id, Count: int32(rng.IntN(100))}
			}
		case 6:
			asg, err := Assign(sim.LiveBrokerIDs(), 1+rng.IntN(4), 1+rng.IntN(3), rng.IntN(10), 0)
			if err != nil {
				asg = [][]int32{{id}}
			}
			var tid [16]byte
			tid[0], tid[1] = byte(len(log)), byte(len(log)>>8)
			tid[15] = byte(rng.IntN(3)) // sometimes collides
			rec = CreateTopic{Name: topic, ID: tid, Assignment: asg, Configs: map[string]string{"k": topic}}
		case 7:
			rec = DeleteTopic{Name: topic}
		case 8:
			rec = CreatePartitions{Topic: topic, Assignment: [][]int32{{id}, {id, (id + 1) % 6}}[rng.IntN(2):][:1]}
		case 9:
			rec = AlterTopicConfig{Topic: topic, Set: map[string]string{fmt.Sprint(rng.IntN(3)): "v"}, Remove: []string{fmt.Sprint(rng.IntN(3))}}
		default:
			pc := PartitionChange{Topic: topic, Partition: int32(rng.IntN(3))}
			if p, ok := sim.Partition(topic, pc.Partition); ok {
				pc.LeaderEpoch = p.LeaderEpoch - int32(rng.IntN(2)) // sometimes stale
				if rng.IntN(2) == 0 {
					l := p.Replicas[rng.IntN(len(p.Replicas))]
					pc.Leader = &l
				}
				if rng.IntN(2) == 0 {
					pc.ISR = p.Replicas[:1+rng.IntN(len(p.Replicas))]
				}
			}
			rec = pc
		}
		b, err := Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(50) == 0 {
			b = b[:len(b)/2] // a torn entry must not wedge anyone
		}
		sim.Apply(b)
		log = append(log, b)
	}
	return log
}

// TestReplayAndSnapshot: two states replaying one log agree on every
// result; a state restored from a snapshot taken midway, fed the rest of
// the log, ends identical to the one that replayed it all; and the image
// keeps its invariants throughout.
func TestReplayAndSnapshot(t *testing.T) {
	for seed := range uint64(8) {
		log := randomLog(t, seed, 2000)
		a, b := New(Options{}), New(Options{})
		var restored *State
		accepted := 0
		for i, cmd := range log {
			ra, rb := a.Apply(cmd), b.Apply(cmd)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("seed %d entry %d: results differ: %+v vs %+v", seed, i, ra, rb)
			}
			if ra.Code == CodeNone {
				accepted++
			}
			if restored != nil {
				if rr := restored.Apply(cmd); !reflect.DeepEqual(rr, ra) {
					t.Fatalf("seed %d entry %d: restored state answered %+v, original %+v", seed, i, rr, ra)
				}
			}
			if i == len(log)/2 {
				snap, err := a.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				restored = New(Options{})
				if err := restored.Restore(snap); err != nil {
					t.Fatalf("seed %d: restore: %v", seed, err)
				}
			}
			if i%97 == 0 {
				im := a.Image()
				if err := im.Check(); err != nil {
					t.Fatalf("seed %d entry %d: %v\n%s", seed, i, err, im.String())
				}
			}
		}
		if a.Dump() != restored.Dump() || a.Dump() != b.Dump() {
			t.Fatalf("seed %d: dumps differ:\n%s\n%s", seed, a.Dump(), restored.Dump())
		}
		if accepted < len(log)/4 || accepted == len(log) {
			t.Fatalf("seed %d: %d of %d records accepted: the log does not exercise both paths", seed, accepted, len(log))
		}
	}
}

func TestRestoreRefusesBrokenImages(t *testing.T) {
	good := func() Image {
		return Image{
			Brokers:        []Broker{{ID: 1, Incarnation: "a", RegisteredAt: 1}, {ID: 2, Incarnation: "b", RegisteredAt: 2}},
			Topics:         []Topic{{Name: "t", ID: [16]byte{1}, Partitions: []Partition{{Replicas: []int32{1, 2}, Leader: 1, ISR: []int32{1}}}}},
			NextProducerID: FirstProducerID,
			AppliedIndex:   3,
		}
	}
	breakers := map[string]func(*Image){
		"unsorted brokers":     func(im *Image) { im.Brokers[0], im.Brokers[1] = im.Brokers[1], im.Brokers[0] },
		"registered in future": func(im *Image) { im.Brokers[0].RegisteredAt = 9 },
		"zero topic id":        func(im *Image) { im.Topics[0].ID = [16]byte{} },
		"duplicate topic id": func(im *Image) {
			im.Topics = append(im.Topics, Topic{Name: "u", ID: [16]byte{1}, Partitions: im.Topics[0].Partitions})
		},
		"no partitions":        func(im *Image) { im.Topics[0].Partitions = nil },
		"empty isr":            func(im *Image) { im.Topics[0].Partitions[0].ISR = nil },
		"isr outside replicas": func(im *Image) { im.Topics[0].Partitions[0].ISR = []int32{1, 3} },
		"leader outside isr":   func(im *Image) { im.Topics[0].Partitions[0].Leader = 2 },
		"fenced leader":        func(im *Image) { im.Brokers[0].Fenced = true },
		"duplicate replicas":   func(im *Image) { im.Topics[0].Partitions[0].Replicas = []int32{1, 1} },
		"producer ids too low": func(im *Image) { im.NextProducerID = 5 },
		"negative epoch":       func(im *Image) { im.Topics[0].Partitions[0].LeaderEpoch = -1 },
	}
	im := good()
	snap, err := EncodeSnapshot(im)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	if err := s.Restore(snap); err != nil {
		t.Fatalf("good image refused: %v", err)
	}
	want := s.Dump()
	for name, breakIt := range breakers {
		im := good()
		breakIt(&im)
		snap, err := EncodeSnapshot(im)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(snap); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: restore gave %v, want ErrCorrupt", name, err)
		}
		if s.Dump() != want {
			t.Errorf("%s: a refused restore changed the state", name)
		}
	}
	for _, b := range [][]byte{nil, {2}, []byte("\x01{"), []byte("\x01{\"brokers\":1}")} {
		if err := s.Restore(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Restore(%q): %v", b, err)
		}
	}
}

func TestHooks(t *testing.T) {
	var changes []Record
	restores := 0
	var s *State
	s = New(Options{
		OnChange: func(rec Record, _ []string) {
			// The hook runs outside the lock: reading must not deadlock.
			_ = s.Brokers()
			changes = append(changes, rec)
		},
		OnRestore: func() { restores++ },
	})
	mustApply(t, s, RegisterBroker{ID: 1, Incarnation: "a"})
	if r := apply(t, s, FenceBroker{ID: 2}); r.Code != CodeBrokerIDNotRegistered {
		t.Fatalf("fence of unknown broker: %+v", r)
	}
	s.Apply([]byte("junk"))
	if len(changes) != 1 || !reflect.DeepEqual(changes[0], RegisterBroker{ID: 1, Incarnation: "a"}) {
		t.Fatalf("changes %v: want the one successful record", changes)
	}
	snap, _ := s.Snapshot()
	if err := s.Restore(snap); err != nil || restores != 1 {
		t.Fatalf("restore: %v, %d hooks", err, restores)
	}
	if s.AppliedIndex() != 3 {
		t.Fatalf("applied index %d, want 3 (refused and junk entries count)", s.AppliedIndex())
	}
}

// TestReadersSeeStableViews: brokers and partitions come back as copies;
// topics and images are shared, and a later record never changes one a
// reader already holds (copy on write), nor an unchanged topic's identity.
func TestReadersSeeStableViews(t *testing.T) {
	s := New(Options{})
	mustApply(t, s, RegisterBroker{ID: 1, Incarnation: "a", Listeners: map[string]string{"SLUICE": "h:1"}})
	mustApply(t, s, RegisterBroker{ID: 2, Incarnation: "b"})
	mustApply(t, s, CreateTopic{Name: "t", ID: [16]byte{9}, Assignment: [][]int32{{1, 2}, {2, 1}}, Configs: map[string]string{"k": "v"}})
	mustApply(t, s, CreateTopic{Name: "u", ID: [16]byte{8}, Assignment: [][]int32{{1}}})
	before := s.Dump()
	b, _ := s.Broker(1)
	b.Listeners["SLUICE"] = "evil:1"
	p, _ := s.Partition("t", 0)
	p.Replicas[0] = 42
	p.ISR[0] = 42
	if s.Dump() != before {
		t.Fatalf("a reader's copy changed the state:\n%s\n%s", before, s.Dump())
	}
	im := s.Image()
	held := im.String()
	tp, _ := s.Topic("t")
	uBefore, _ := s.Topic("u")
	mustApply(t, s, PartitionChange{Topic: "t", Partition: 0, LeaderEpoch: 0, ISR: []int32{1}})
	mustApply(t, s, AlterTopicConfig{Topic: "t", Set: map[string]string{"k": "w"}})
	mustApply(t, s, FenceBroker{ID: 1})
	mustApply(t, s, CreatePartitions{Topic: "t", Assignment: [][]int32{{2, 1}}})
	mustApply(t, s, DeleteTopic{Name: "u"})
	if im.String() != held {
		t.Fatalf("an image held across records changed:\n%s\nnow\n%s", held, im.String())
	}
	if len(tp.Partitions) != 2 || tp.Configs["k"] != "v" || !slices.Equal(tp.Partitions[0].ISR, []int32{1, 2}) || tp.Partitions[0].Leader != 1 {
		t.Fatalf("a topic held across records changed: %+v", tp)
	}
	if s.Dump() == before {
		t.Fatal("the records changed nothing")
	}
	now := s.Image()
	if len(now.Topics) != 1 || now.Topics[0].Name != "t" || len(now.Topics[0].Partitions) != 3 {
		t.Fatalf("image after the records: %s", now.String())
	}
	if len(uBefore.Partitions) != 1 {
		t.Fatalf("deleted topic's view changed: %+v", uBefore)
	}
	if byID, ok := s.TopicByID([16]byte{9}); !ok || byID.Name != "t" {
		t.Fatalf("TopicByID: %+v %v", byID, ok)
	}
	if _, ok := s.Partition("t", 3); ok {
		t.Fatal("partition 3 exists")
	}
	if _, ok := s.Partition("t", -1); ok {
		t.Fatal("partition -1 exists")
	}
}

// TestChangedTopics: OnChange names exactly the topics a record touched.
func TestChangedTopics(t *testing.T) {
	var got [][]string
	s := New(Options{OnChange: func(_ Record, topics []string) { got = append(got, topics) }})
	mustApply(t, s, RegisterBroker{ID: 1, Incarnation: "a"})
	mustApply(t, s, RegisterBroker{ID: 2, Incarnation: "a"})
	mustApply(t, s, CreateTopic{Name: "a", ID: [16]byte{1}, Assignment: [][]int32{{1, 2}}})
	mustApply(t, s, CreateTopic{Name: "b", ID: [16]byte{2}, Assignment: [][]int32{{2, 1}}})
	mustApply(t, s, CreateTopic{Name: "c", ID: [16]byte{3}, Assignment: [][]int32{{2}}})
	mustApply(t, s, FenceBroker{ID: 1}) // leads a, is in b's ISR
	mustApply(t, s, PartitionChanges{Changes: []PartitionChange{{Topic: "c", ISR: []int32{2}}, {Topic: "b", Partition: 0, LeaderEpoch: 0, ISR: []int32{2}}}})
	mustApply(t, s, DeleteTopic{Name: "c"})
	want := [][]string{nil, nil, {"a"}, {"b"}, {"c"}, {"a", "b"}, nil, {"c"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changed topics %q, want %q", got, want)
	}
}

// TestConcurrentReaders runs readers against Apply; -race does the checking.
func TestConcurrentReaders(t *testing.T) {
	s := New(Options{})
	log := randomLog(t, 99, 1500)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, name := range s.Topics() {
					if tp, ok := s.Topic(name); ok {
						_ = len(tp.Partitions)
					}
					s.Partition(name, 0)
				}
				s.Brokers()
				s.LiveBrokerIDs()
				s.AppliedIndex()
				if _, err := s.Snapshot(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, cmd := range log {
		s.Apply(cmd)
	}
	close(done)
	wg.Wait()
	if s.AppliedIndex() != uint64(len(log)) {
		t.Fatalf("applied %d of %d", s.AppliedIndex(), len(log))
	}
}

func apply(t *testing.T, s *State, rec Record) Result {
	t.Helper()
	b, err := Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	return s.Apply(b)
}

func mustApply(t *testing.T, s *State, rec Record) Result {
	t.Helper()
	r := apply(t, s, rec)
	if err := r.Err(); err != nil {
		t.Fatalf("%T: %v", rec, err)
	}
	return r
}
