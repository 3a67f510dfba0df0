package metadata

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// Options configures a State. The zero value is valid.
type Options struct {
	// OnChange, when set, is called after every record that applied
	// successfully (Code 0), outside the lock and on the goroutine that
	// called Apply, in log order, with the names of the topics the record
	// created, changed or deleted (sorted; nil when none), so that a
	// follower of the image does work in proportion to the change, not to
	// the image. The broker uses it to create or drop local partition
	// storage and to follow leadership. It may read the State but must not
	// call Apply or Restore. Default: nil.
	OnChange func(rec Record, topics []string)
	// OnRestore, when set, is called after Restore replaced the whole
	// image, outside the lock: the broker reconciles against the new image
	// instead of a record. Default: nil.
	OnRestore func()
}

// State is the metadata image and its state machine. Apply and Restore
// serialise among themselves (raft calls them from one goroutine anyway);
// every reader may run concurrently with them.
//
// Topics are copy on write: a published *Topic, its Partitions and their
// Replicas and ISR slices are never written again. A record that changes a
// topic replaces it with a private copy (edit) that is published when the
// record ends, so readers share topics without a lock or a clone, and a
// record costs the size of the topics it touches, not of the image.
type State struct {
	opts Options

	mu             sync.RWMutex
	clusterID      string
	brokers        map[int32]Broker
	topics         map[string]*Topic // published topics are immutable
	topicIDs       map[[16]byte]string
	nextProducerID int64
	applied        uint64
	// sorted is every topic, sorted by name: Image's Topics, shared with
	// every Image handed out, so replaced (never written) on a change. It
	// is brought up to date lazily (sortedLocked) with the topics named
	// in unsorted, so that a record does not pay for it.
	sorted   []Topic
	unsorted map[string]bool

	// Per record, reset when it ends: the copies it made (edit) and the
	// names of the topics it created, replaced or deleted.
	fresh   map[string]*Topic
	touched map[string]bool
}

// New is an empty State: no cluster ID, no brokers, no topics.
func New(opts Options) *State {
	s := &State{opts: opts}
	s.reset()
	return s
}

func (s *State) reset() {
	s.clusterID = ""
	s.brokers = make(map[int32]Broker)
	s.topics = make(map[string]*Topic)
	s.topicIDs = make(map[[16]byte]string)
	s.nextProducerID = FirstProducerID
	s.applied = 0
	s.sorted = nil
	s.unsorted = make(map[string]bool)
	s.fresh = make(map[string]*Topic)
	s.touched = make(map[string]bool)
}

// edit is a topic this record may change: a private copy of the published
// one (its Partitions slice copied, the replica and ISR slices still
// shared, so a change assigns new ones), made once per record and put in
// place at once. Nil when the topic does not exist.
func (s *State) edit(name string) *Topic {
	if t, ok := s.fresh[name]; ok {
		return t
	}
	old, ok := s.topics[name]
	if !ok {
		return nil
	}
	t := *old
	t.Partitions = slices.Clone(old.Partitions)
	s.fresh[name] = &t
	s.topics[name] = &t
	s.touched[name] = true
	return &t
}

// put stores a topic this record created.
func (s *State) put(t *Topic) {
	s.fresh[t.Name] = t
	s.topics[t.Name] = t
	s.touched[t.Name] = true
}

// drop deletes a topic.
func (s *State) drop(name string) {
	delete(s.fresh, name)
	delete(s.topics, name)
	s.touched[name] = true
}

// publish ends a record: the names of the topics it touched, sorted,
// which the sorted slice will take in when next read.
func (s *State) publish() []string {
	if len(s.touched) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.touched))
	for n := range s.touched {
		names = append(names, n)
		s.unsorted[n] = true
	}
	sort.Strings(names)
	clear(s.fresh)
	clear(s.touched)
	return names
}

// sortedLocked is the sorted slice, first brought up to date: the topics
// changed since replace theirs in a new slice (O(topics) pointer-sized
// copies, no per-partition work). It needs the write lock when any did.
func (s *State) sortedLocked() []Topic {
	if len(s.unsorted) == 0 {
		return s.sorted
	}
	names := make([]string, 0, len(s.unsorted))
	for n := range s.unsorted {
		names = append(names, n)
	}
	sort.Strings(names)
	next := slices.Clone(s.sorted)
	for _, n := range names {
		i, found := slices.BinarySearchFunc(next, n, func(t Topic, n string) int { return strings.Compare(t.Name, n) })
		t, exists := s.topics[n]
		switch {
		case exists && found:
			next[i] = *t
		case exists:
			next = slices.Insert(next, i, *t)
		case found:
			next = slices.Delete(next, i, i+1)
		}
	}
	s.sorted = next
	clear(s.unsorted)
	return next
}

// readSorted runs fn with the read lock held and the sorted slice up to
// date, taking the write lock first only when it is not.
func (s *State) readSorted(fn func(sorted []Topic)) {
	s.mu.RLock()
	if len(s.unsorted) == 0 {
		fn(s.sorted)
		s.mu.RUnlock()
		return
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.sortedLocked())
}

// ClusterID is the cluster's ID, "" before InitCluster.
func (s *State) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clusterID
}

// AppliedIndex counts the records applied so far (refused and undecodable
// ones included: one per raft entry handed to Apply), carried across
// snapshots. A caller that saw Apply answer at index i knows every reader
// sees its change once AppliedIndex() >= i.
func (s *State) AppliedIndex() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied
}

// NextProducerID is the first ID of the next producer-ID block.
func (s *State) NextProducerID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nextProducerID
}

// Brokers are the registered brokers, sorted by ID.
func (s *State) Brokers() []Broker {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.brokersLocked()
}

func (s *State) brokersLocked() []Broker {
	out := make([]Broker, 0, len(s.brokers))
	for _, b := range s.brokers {
		out = append(out, b.clone())
	}
	slices.SortFunc(out, func(a, b Broker) int { return int(a.ID) - int(b.ID) })
	return out
}

// Broker is one registered broker.
func (s *State) Broker(id int32) (Broker, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.brokers[id]
	return b.clone(), ok
}

// LiveBrokerIDs are the IDs of the unfenced brokers, sorted: the input of
// Assign.
func (s *State) LiveBrokerIDs() []int32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.liveLocked()
}

func (s *State) liveLocked() []int32 {
	out := make([]int32, 0, len(s.brokers))
	for id, b := range s.brokers {
		if !b.Fenced {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Topics are the topic names, sorted.
func (s *State) Topics() []string {
	var out []string
	s.readSorted(func(sorted []Topic) {
		out = make([]string, len(sorted))
		for i := range sorted {
			out[i] = sorted[i].Name
		}
	})
	return out
}

// Topic is one topic by name. It shares its configs and partitions with
// the State (they are never written again): read-only.
func (s *State) Topic(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, false
	}
	return *t, true
}

// TopicByID is one topic by its ID; read-only, as Topic's.
func (s *State) TopicByID(id [16]byte) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name, ok := s.topicIDs[id]
	if !ok {
		return Topic{}, false
	}
	return *s.topics[name], true
}

// Partition is one partition of a topic.
func (s *State) Partition(topic string, partition int32) (Partition, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[topic]
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return Partition{}, false
	}
	return t.Partitions[partition].clone(), true
}

// Image is the whole state as of one applied index: a copy of the
// brokers, and the topics shared with the State without a copy (Topics and
// everything under it are read-only; later records replace topics, never
// write them, so the Image stays as it was).
func (s *State) Image() Image {
	var im Image
	s.readSorted(func(sorted []Topic) {
		im = Image{
			ClusterID:      s.clusterID,
			Brokers:        s.brokersLocked(),
			Topics:         sorted,
			NextProducerID: s.nextProducerID,
			AppliedIndex:   s.applied,
		}
	})
	return im
}

// Dump prints the whole state deterministically (Image.String).
func (s *State) Dump() string {
	im := s.Image()
	return im.String()
}
