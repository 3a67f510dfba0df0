package metadata

import (
	"slices"
	"sort"
	"sync"
)

// Options configures a State. The zero value is valid.
type Options struct {
	// OnChange, when set, is called after every record that applied
	// successfully (Code 0), outside the lock and on the goroutine that
	// called Apply, in log order. The broker uses it to create or drop
	// local partition storage and to follow leadership. It may read the
	// State but must not call Apply or Restore. Default: nil.
	OnChange func(rec Record)
	// OnRestore, when set, is called after Restore replaced the whole
	// image, outside the lock: the broker reconciles against the new image
	// instead of a record. Default: nil.
	OnRestore func()
}

// State is the metadata image and its state machine. Apply and Restore
// serialise among themselves (raft calls them from one goroutine anyway);
// every reader may run concurrently with them and gets a copy.
type State struct {
	opts Options

	mu             sync.RWMutex
	clusterID      string
	brokers        map[int32]Broker
	topics         map[string]*Topic
	topicIDs       map[[16]byte]string
	nextProducerID int64
	applied        uint64
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.topics))
	for name := range s.topics {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Topic is one topic by name.
func (s *State) Topic(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

// TopicByID is one topic by its ID.
func (s *State) TopicByID(id [16]byte) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name, ok := s.topicIDs[id]
	if !ok {
		return Topic{}, false
	}
	return s.topics[name].clone(), true
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

// Image is a full copy of the state.
func (s *State) Image() Image {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.imageLocked()
}

func (s *State) imageLocked() Image {
	im := Image{
		ClusterID:      s.clusterID,
		Brokers:        s.brokersLocked(),
		NextProducerID: s.nextProducerID,
		AppliedIndex:   s.applied,
	}
	names := make([]string, 0, len(s.topics))
	for name := range s.topics {
		names = append(names, name)
	}
	sort.Strings(names)
	im.Topics = make([]Topic, len(names))
	for i, name := range names {
		im.Topics[i] = s.topics[name].clone()
	}
	return im
}

// Dump prints the whole state deterministically (Image.String).
func (s *State) Dump() string {
	im := s.Image()
	return im.String()
}
