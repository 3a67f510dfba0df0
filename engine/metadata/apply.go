package metadata

import (
	"fmt"
	"math"
	"slices"
)

// Apply decodes one raft entry and applies it. It never panics on bad
// bytes: an undecodable entry answers INVALID_REQUEST and, like every
// refused record, leaves the image unchanged apart from AppliedIndex, which
// counts every entry so that replicas replaying the same log agree on it.
// A record is validated in full before anything changes, so a refusal is
// all-or-nothing.
func (s *State) Apply(cmd []byte) Result {
	rec, decodeErr := Decode(cmd)
	s.mu.Lock()
	s.applied++
	var res Result
	if decodeErr != nil {
		res = Result{Code: CodeInvalidRequest, Message: decodeErr.Error()}
	} else {
		res = s.applyLocked(rec, s.applied)
	}
	// A refused record changed nothing (every applier validates before it
	// edits), so publish has nothing to do then.
	topics := s.publish()
	s.mu.Unlock()
	// Outside the lock: the hook may read the state.
	if res.Code == CodeNone && s.opts.OnChange != nil {
		s.opts.OnChange(rec, topics)
	}
	return res
}

// ApplyEncoded is Apply with the Result encoded: the shape a generic raft
// FSM wants (command bytes in, response bytes out).
func (s *State) ApplyEncoded(cmd []byte) []byte {
	return EncodeResult(s.Apply(cmd))
}

func (s *State) applyLocked(rec Record, index uint64) Result {
	switch r := rec.(type) {
	case InitCluster:
		return resultOf(s.initCluster(r))
	case RegisterBroker:
		return resultOf(s.registerBroker(r, index))
	case FenceBroker:
		return resultOf(s.fenceBroker(r))
	case UnfenceBroker:
		return resultOf(s.unfenceBroker(r))
	case UnregisterBroker:
		return resultOf(s.unregisterBroker(r))
	case CreateTopic:
		return resultOf(s.createTopic(r))
	case DeleteTopic:
		return resultOf(s.deleteTopic(r))
	case CreatePartitions:
		return resultOf(s.createPartitions(r))
	case AlterTopicConfig:
		return resultOf(s.alterTopicConfig(r))
	case PartitionChange:
		return resultOf(s.partitionChange(r))
	case AllocateProducerIDs:
		return s.allocateProducerIDs(r)
	case PartitionChanges:
		return s.partitionChanges(r)
	}
	// Decode only returns the types above.
	return Result{Code: CodeInvalidRequest, Message: "unknown record"}
}

func (s *State) initCluster(r InitCluster) *Error {
	switch {
	case r.ClusterID == "":
		return errorf(CodeInvalidRequest, "empty cluster id")
	case s.clusterID == "":
		s.clusterID = r.ClusterID
	case s.clusterID != r.ClusterID:
		return errorf(CodeInconsistentClusterID, "cluster id is %q, refusing %q", s.clusterID, r.ClusterID)
	}
	return nil
}

func (s *State) registerBroker(r RegisterBroker, index uint64) *Error {
	if r.ID < 0 {
		return errorf(CodeInvalidRequest, "broker id %d is negative", r.ID)
	}
	if r.Incarnation == "" {
		return errorf(CodeInvalidRequest, "broker %d: empty incarnation", r.ID)
	}
	for name := range r.Listeners {
		if name == "" {
			return errorf(CodeInvalidRequest, "broker %d: listener with an empty name", r.ID)
		}
	}
	old, existed := s.brokers[r.ID]
	if existed && old.Incarnation != r.Incarnation {
		// A new process: whatever the old one led ends here, as if it had
		// been fenced, so a zombie of the old process leads nothing and
		// the leader epochs move past it (Kafka's unclean-shutdown path).
		old.Fenced = true
		s.brokers[r.ID] = old
		s.moveLeadershipOff(r.ID)
	}
	s.brokers[r.ID] = Broker{
		ID:           r.ID,
		Incarnation:  r.Incarnation,
		Listeners:    cloneMap(r.Listeners),
		RegisteredAt: index,
	}
	s.electWhereLeaderless(r.ID)
	return nil
}

func (s *State) fenceBroker(r FenceBroker) *Error {
	b, ok := s.brokers[r.ID]
	if !ok {
		return errorf(CodeBrokerIDNotRegistered, "fence broker %d: not registered", r.ID)
	}
	if b.Fenced || (r.Incarnation != "" && r.Incarnation != b.Incarnation) {
		return nil
	}
	b.Fenced = true
	s.brokers[r.ID] = b
	s.moveLeadershipOff(r.ID)
	return nil
}

func (s *State) unfenceBroker(r UnfenceBroker) *Error {
	b, ok := s.brokers[r.ID]
	if !ok {
		return errorf(CodeBrokerIDNotRegistered, "unfence broker %d: not registered", r.ID)
	}
	if !b.Fenced {
		return nil
	}
	b.Fenced = false
	s.brokers[r.ID] = b
	s.electWhereLeaderless(r.ID)
	return nil
}

func (s *State) unregisterBroker(r UnregisterBroker) *Error {
	b, ok := s.brokers[r.ID]
	if !ok {
		return errorf(CodeBrokerIDNotRegistered, "unregister broker %d: not registered", r.ID)
	}
	b.Fenced = true
	s.brokers[r.ID] = b
	s.moveLeadershipOff(r.ID)
	delete(s.brokers, r.ID)
	return nil
}

// moveLeadershipOff applies a broker's fencing to every partition (the
// broker must already be marked fenced or gone): it leaves every ISR in
// which it is not the last member, and each partition it led goes to the
// first replica, in replica order, that is still in the ISR and unfenced,
// or to NoLeader. The last ISR member stays so that it can come back as
// leader without an unclean election.
func (s *State) moveLeadershipOff(id int32) {
	for name, pub := range s.topics {
		var t *Topic // this record's copy, made at the first partition that changes
		for i := range pub.Partitions {
			q := &pub.Partitions[i]
			shrink := len(q.ISR) > 1 && slices.Contains(q.ISR, id)
			if !shrink && q.Leader != id {
				continue
			}
			if t == nil {
				t = s.edit(name)
			}
			p := &t.Partitions[i]
			if shrink {
				p.ISR = slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return r == id })
			}
			if p.Leader == id {
				p.Leader = s.firstEligible(p.Replicas, p.ISR)
				p.LeaderEpoch++
			}
			p.PartitionEpoch++
		}
	}
}

// electWhereLeaderless makes a broker that just became unfenced the leader
// of every leaderless partition whose ISR holds it.
func (s *State) electWhereLeaderless(id int32) {
	for name, pub := range s.topics {
		var t *Topic
		for i := range pub.Partitions {
			if q := &pub.Partitions[i]; q.Leader != NoLeader || !slices.Contains(q.ISR, id) {
				continue
			}
			if t == nil {
				t = s.edit(name)
			}
			p := &t.Partitions[i]
			p.Leader = id
			p.LeaderEpoch++
			p.PartitionEpoch++
		}
	}
}

// firstEligible is the first replica that is in the ISR and unfenced, or
// NoLeader.
func (s *State) firstEligible(replicas, isr []int32) int32 {
	for _, r := range replicas {
		if slices.Contains(isr, r) && s.unfenced(r) {
			return r
		}
	}
	return NoLeader
}

func (s *State) unfenced(id int32) bool {
	b, ok := s.brokers[id]
	return ok && !b.Fenced
}

func (s *State) createTopic(r CreateTopic) *Error {
	if r.Name == "" {
		return errorf(CodeInvalidRequest, "create topic: empty name")
	}
	if _, ok := s.topics[r.Name]; ok {
		return errorf(CodeTopicAlreadyExists, "topic %q already exists", r.Name)
	}
	if r.ID == ([16]byte{}) {
		return errorf(CodeInvalidRequest, "create topic %q: zero topic id", r.Name)
	}
	if other, ok := s.topicIDs[r.ID]; ok {
		return errorf(CodeTopicAlreadyExists, "create topic %q: id %x already belongs to topic %q", r.Name, r.ID, other)
	}
	if err := s.checkAssignment(r.Name, r.Assignment, 0, 0); err != nil {
		return err
	}
	for k := range r.Configs {
		if k == "" {
			return errorf(CodeInvalidRequest, "create topic %q: config with an empty name", r.Name)
		}
	}
	t := &Topic{Name: r.Name, ID: r.ID, Configs: cloneMap(r.Configs)}
	t.Partitions = s.newPartitions(r.Assignment)
	s.put(t)
	s.topicIDs[r.ID] = r.Name
	return nil
}

// newPartitions builds fresh partitions: the first unfenced replica leads,
// alone in the ISR (data replication fills the ISR later); with no live
// replica the partition is offline and the first replica holds the ISR, so
// that it leads once it is unfenced.
func (s *State) newPartitions(assignment [][]int32) []Partition {
	out := make([]Partition, len(assignment))
	for i, replicas := range assignment {
		// A new partition is empty, so every live replica is in sync
		// with it from the start (Kafka's rule).
		leader := s.firstEligible(replicas, replicas)
		var isr []int32
		for _, r := range replicas {
			if s.unfenced(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			isr = []int32{replicas[0]}
		}
		out[i] = Partition{Replicas: slices.Clone(replicas), Leader: leader, ISR: isr}
	}
	return out
}

// checkAssignment validates replica lists for new partitions: at least one
// partition, each list non-empty, duplicate-free, of registered brokers and
// of one length (rf, or the first list's when rf is 0). existing is the
// number of partitions the topic has, so that the total stays an int32.
func (s *State) checkAssignment(topic string, assignment [][]int32, rf, existing int) *Error {
	if len(assignment) == 0 {
		return errorf(CodeInvalidPartitions, "topic %q: no partitions to create", topic)
	}
	if existing+len(assignment) > math.MaxInt32 {
		return errorf(CodeInvalidPartitions, "topic %q: %d partitions is too many", topic, existing+len(assignment))
	}
	for i, replicas := range assignment {
		p := existing + i
		if len(replicas) == 0 {
			return errorf(CodeInvalidReplicaAssignment, "topic %q partition %d: empty replica list", topic, p)
		}
		if rf == 0 {
			rf = len(replicas)
		}
		if len(replicas) != rf {
			return errorf(CodeInvalidReplicaAssignment, "topic %q partition %d: %d replicas, the other partitions have %d", topic, p, len(replicas), rf)
		}
		if err := distinct(replicas); err != nil {
			return errorf(CodeInvalidReplicaAssignment, "topic %q partition %d: %v", topic, p, err)
		}
		for _, r := range replicas {
			if _, ok := s.brokers[r]; !ok {
				return errorf(CodeInvalidReplicaAssignment, "topic %q partition %d: broker %d is not registered", topic, p, r)
			}
		}
	}
	return nil
}

func (s *State) deleteTopic(r DeleteTopic) *Error {
	t, ok := s.topics[r.Name]
	if !ok {
		return errorf(CodeUnknownTopicOrPartition, "delete topic %q: no such topic", r.Name)
	}
	delete(s.topicIDs, t.ID)
	s.drop(r.Name)
	return nil
}

func (s *State) createPartitions(r CreatePartitions) *Error {
	t, ok := s.topics[r.Topic]
	if !ok {
		return errorf(CodeUnknownTopicOrPartition, "create partitions: no topic %q", r.Topic)
	}
	if r.From != 0 && int(r.From) != len(t.Partitions) {
		return errorf(CodeInvalidPartitions, "create partitions: topic %q has %d partitions, not the %d the request was made for",
			r.Topic, len(t.Partitions), r.From)
	}
	if err := s.checkAssignment(r.Topic, r.Assignment, len(t.Partitions[0].Replicas), len(t.Partitions)); err != nil {
		return err
	}
	t = s.edit(r.Topic)
	t.Partitions = append(t.Partitions, s.newPartitions(r.Assignment)...)
	return nil
}

func (s *State) alterTopicConfig(r AlterTopicConfig) *Error {
	t, ok := s.topics[r.Topic]
	if !ok {
		return errorf(CodeUnknownTopicOrPartition, "alter configs: no topic %q", r.Topic)
	}
	for k := range r.Set {
		if k == "" {
			return errorf(CodeInvalidRequest, "alter configs of %q: config with an empty name", r.Topic)
		}
		if slices.Contains(r.Remove, k) {
			return errorf(CodeInvalidRequest, "alter configs of %q: %q both set and removed", r.Topic, k)
		}
	}
	configs := make(map[string]string, len(t.Configs)+len(r.Set))
	for k, v := range t.Configs {
		configs[k] = v
	}
	for _, k := range r.Remove {
		delete(configs, k)
	}
	for k, v := range r.Set {
		configs[k] = v
	}
	t = s.edit(r.Topic)
	t.Configs = cloneMap(configs)
	return nil
}

func (s *State) partitionChange(r PartitionChange) *Error {
	t, ok := s.topics[r.Topic]
	if !ok {
		return errorf(CodeUnknownTopicOrPartition, "partition change: no topic %q", r.Topic)
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return errorf(CodeUnknownTopicOrPartition, "partition change: topic %q has no partition %d", r.Topic, r.Partition)
	}
	p := &t.Partitions[r.Partition]
	if r.LeaderEpoch != p.LeaderEpoch {
		return errorf(CodeFencedLeaderEpoch, "%s-%d: proposed at leader epoch %d, the partition is at %d", r.Topic, r.Partition, r.LeaderEpoch, p.LeaderEpoch)
	}
	if r.PartitionEpoch != nil && *r.PartitionEpoch != p.PartitionEpoch {
		return errorf(CodeInvalidUpdateVersion, "%s-%d: proposed at partition epoch %d, the partition is at %d", r.Topic, r.Partition, *r.PartitionEpoch, p.PartitionEpoch)
	}
	isr := p.ISR
	if r.ISR != nil {
		if len(r.ISR) == 0 {
			return errorf(CodeInvalidRequest, "%s-%d: empty isr", r.Topic, r.Partition)
		}
		if err := distinct(r.ISR); err != nil {
			return errorf(CodeInvalidRequest, "%s-%d: isr: %v", r.Topic, r.Partition, err)
		}
		for _, m := range r.ISR {
			if !slices.Contains(p.Replicas, m) {
				return errorf(CodeInvalidReplicaAssignment, "%s-%d: isr member %d is not a replica of %v", r.Topic, r.Partition, m, p.Replicas)
			}
			// A member already in the ISR may stay while fenced (the last
			// member rule); a new one must be alive.
			if !slices.Contains(p.ISR, m) && !s.unfenced(m) {
				return errorf(CodeIneligibleReplica, "%s-%d: isr member %d is fenced or not registered", r.Topic, r.Partition, m)
			}
		}
		isr = r.ISR
	}
	leader := p.Leader
	if r.Leader != nil {
		leader = *r.Leader
		switch {
		case leader == NoLeader:
		case leader < 0:
			return errorf(CodeInvalidRequest, "%s-%d: leader %d", r.Topic, r.Partition, leader)
		case !slices.Contains(p.Replicas, leader):
			return errorf(CodeInvalidReplicaAssignment, "%s-%d: leader %d is not a replica of %v", r.Topic, r.Partition, leader, p.Replicas)
		case !s.unfenced(leader):
			return errorf(CodeIneligibleReplica, "%s-%d: leader %d is fenced or not registered", r.Topic, r.Partition, leader)
		}
	}
	if leader != NoLeader && !slices.Contains(isr, leader) {
		return errorf(CodeIneligibleReplica, "%s-%d: leader %d is not in the isr %v", r.Topic, r.Partition, leader, isr)
	}
	leaderChanged := leader != p.Leader
	if !leaderChanged && slices.Equal(isr, p.ISR) {
		return nil
	}
	p = &s.edit(r.Topic).Partitions[r.Partition]
	if leaderChanged {
		p.Leader = leader
		p.LeaderEpoch++
	}
	p.ISR = slices.Clone(isr)
	p.PartitionEpoch++
	return nil
}

// partitionChanges applies each change as its own PartitionChange would
// be, later ones seeing earlier ones' effects; a topic changed many times
// is copied once (edit).
func (s *State) partitionChanges(r PartitionChanges) Result {
	switch n := len(r.Changes); {
	case n == 0:
		return resultOf(errorf(CodeInvalidRequest, "partition changes: none"))
	case n > MaxPartitionChanges:
		return resultOf(errorf(CodeInvalidRequest, "partition changes: %d, at most %d in one record", n, MaxPartitionChanges))
	}
	res := Result{Codes: make([]int16, len(r.Changes))}
	refused := 0
	for i, c := range r.Changes {
		if err := s.partitionChange(c); err != nil {
			res.Codes[i] = err.Code
			if refused == 0 {
				res.Message = err.Message
			}
			refused++
		}
	}
	if refused > 1 {
		res.Message = fmt.Sprintf("%s (and %d more refused)", res.Message, refused-1)
	}
	return res
}

func (s *State) allocateProducerIDs(r AllocateProducerIDs) Result {
	if r.Count <= 0 {
		return resultOf(errorf(CodeInvalidRequest, "allocate producer ids: count %d", r.Count))
	}
	if _, ok := s.brokers[r.BrokerID]; !ok {
		return resultOf(errorf(CodeBrokerIDNotRegistered, "allocate producer ids: broker %d not registered", r.BrokerID))
	}
	if s.nextProducerID > math.MaxInt64-int64(r.Count) {
		return resultOf(errorf(CodeInvalidRequest, "allocate producer ids: id space exhausted at %d", s.nextProducerID))
	}
	first := s.nextProducerID
	s.nextProducerID += int64(r.Count)
	return Result{FirstProducerID: first}
}
