package grouplog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// DefaultCommitTimeout is offsets.commit.timeout.ms: how long a commit
// waits for the offsets topic's in-sync replicas.
const DefaultCommitTimeout = 5 * time.Second

// Cluster is what the Store asks of the cluster (net/cluster's Member).
type Cluster interface {
	// LeaderEpoch is the partition's leader epoch when this broker leads
	// it, an error otherwise.
	LeaderEpoch(topic string, partition int32) (int32, error)
	// Topic is a topic's placement; an error when there is no such topic.
	Topic(name string) (request.Topic, error)
}

// Groups is the coordinator the Store loads groups into and drops them
// from as it gains and loses partitions (*group.Coordinator).
type Groups interface {
	LoadGroups(states map[string][]byte) int
	UnloadGroups(match func(group string) bool) int
}

// Config configures a Store.
type Config struct {
	Engine  *engine.Engine
	Cluster Cluster
	// Replication waits for the offsets topic's in-sync replicas.
	Replication request.Replication
	// CommitTimeout is offsets.commit.timeout.ms (DefaultCommitTimeout).
	CommitTimeout time.Duration
	// Now stamps commits (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Store is a cluster's group.Store: it writes through the offsets topic
// and reads from the engine's view, for the groups of the partitions this
// broker leads and has loaded. Its Owns is the coordinator's
// group.Config.Owns.
type Store struct {
	cfg    Config
	eng    *engine.Engine
	logger *slog.Logger
	groups Groups

	// n is the offsets topic's partition count, 0 while there is none.
	n atomic.Int32
	// parts are the partitions this broker leads, by partition.
	parts atomic.Pointer[map[int32]*partition]

	signal chan struct{}
	ctx    context.Context
	stop   context.CancelFunc
	bg     sync.WaitGroup
}

var _ group.Store = (*Store)(nil)

// New returns a Store; Start runs it.
func New(cfg Config) *Store {
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = DefaultCommitTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, eng: cfg.Engine, logger: cfg.Logger, signal: make(chan struct{}, 1)}
	s.ctx, s.stop = context.WithCancel(context.Background())
	empty := map[int32]*partition{}
	s.parts.Store(&empty)
	return s
}

// Start begins following the cluster's leaderships, loading into groups
// the partitions this broker leads.
func (s *Store) Start(groups Groups) {
	s.groups = groups
	s.bg.Add(1)
	go s.run()
	s.ImageChanged()
}

// ImageChanged tells the Store that leaderships may have moved. It never
// blocks.
func (s *Store) ImageChanged() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Close stops loading and applying; the coordinator's groups stay as they
// are.
func (s *Store) Close() {
	s.stop()
	s.bg.Wait()
}

// Errors of ownership. Each wraps the coordinator's sentinel, so that the
// listeners answer Kafka's code.
var (
	errNoTopic = fmt.Errorf("%w: the %s topic does not exist yet (FindCoordinator creates it)", group.ErrNotCoordinator, Topic)
)

// partitionOf is the partition of the offsets topic that holds g, -1
// while the topic does not exist.
func (s *Store) partitionOf(g string) int32 {
	n := s.n.Load()
	if n == 0 {
		return -1
	}
	return PartitionFor(g, int(n))
}

// led returns the loaded partition that holds g, or why this broker does
// not serve g.
func (s *Store) led(g string) (*partition, error) {
	part := s.partitionOf(g)
	if part < 0 {
		// The image may have the topic already, before the store's
		// goroutine noticed: then a partition this broker leads is
		// loading, not another broker's.
		t, err := s.cfg.Cluster.Topic(Topic)
		if err != nil || len(t.Partitions) == 0 {
			return nil, errNoTopic
		}
		part = PartitionFor(g, len(t.Partitions))
	}
	epoch, err := s.cfg.Cluster.LeaderEpoch(Topic, part)
	switch {
	case errors.Is(err, engine.ErrUnknownTopic):
		// The image has the topic; its leaderships are a moment behind.
		return nil, fmt.Errorf("%w: group %q: %s-%d is being created", group.ErrCoordinatorLoadInProgress, g, Topic, part)
	case err != nil:
		return nil, fmt.Errorf("%w: group %q is in %s-%d, which this broker does not lead", group.ErrNotCoordinator, g, Topic, part)
	}
	p := (*s.parts.Load())[part]
	if p == nil || p.epoch != epoch || !p.loaded.Load() {
		return nil, fmt.Errorf("%w: group %q: %s-%d at leader epoch %d", group.ErrCoordinatorLoadInProgress, g, Topic, part, epoch)
	}
	return p, nil
}

// Owns is nil when this broker coordinates g: it leads g's partition of
// the offsets topic and has loaded it. Otherwise it wraps
// group.ErrNotCoordinator or, while the partition loads,
// group.ErrCoordinatorLoadInProgress.
func (s *Store) Owns(g string) error {
	_, err := s.led(g)
	return err
}

// mine reports whether g is in a partition this broker has loaded.
func (s *Store) mine(g string) bool {
	p := (*s.parts.Load())[s.partitionOf(g)]
	return p != nil && p.loaded.Load()
}

// CommitOffsets writes the commits that pass the engine's checks as one
// batch to the group's partition, waits until the partition's in-sync
// replicas have it and the view shows it, and returns one error per
// commit as engine.CommitOffsets does.
func (s *Store) CommitOffsets(g string, commits []engine.OffsetCommit) ([]error, error) {
	if err := engine.ValidateGroupID(g); err != nil {
		return nil, err
	}
	p, err := s.led(g)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(commits))
	now := time.UnixMilli(s.cfg.Now().UnixMilli())
	recs := make([]Record, 0, len(commits))
	for i, c := range commits {
		id, err := s.eng.CheckOffsetCommit(c)
		if err != nil {
			errs[i] = err
			continue
		}
		recs = append(recs, Record{Kind: KindOffset, Group: g, Partition: c.TopicPartition, TopicID: id,
			Offset: engine.CommittedOffset{Offset: c.Offset, LeaderEpoch: c.LeaderEpoch, Metadata: c.Metadata, CommitTime: now}})
	}
	if len(recs) == 0 {
		return errs, nil
	}
	if err := s.write(p, recs, true); err != nil {
		return nil, fmt.Errorf("commit offsets of group %q: %w", g, err)
	}
	return errs, nil
}

// FetchOffsets reads the group's offsets from the view.
func (s *Store) FetchOffsets(g string) (map[engine.TopicPartition]engine.CommittedOffset, error) {
	return s.eng.FetchOffsets(g)
}

// DeleteGroupOffsets writes a tombstone for each of the group's offsets
// and waits for them as CommitOffsets does.
func (s *Store) DeleteGroupOffsets(g string) error {
	offs, err := s.eng.FetchOffsets(g)
	if err != nil {
		return err
	}
	tps := make([]engine.TopicPartition, 0, len(offs))
	for tp := range offs {
		tps = append(tps, tp)
	}
	return s.DeleteOffsets(g, tps)
}

// DeleteOffsets removes the group's offsets of some partitions (Kafka's
// OffsetDelete): a tombstone each, waited for as a commit is.
func (s *Store) DeleteOffsets(g string, partitions []engine.TopicPartition) error {
	if err := engine.ValidateGroupID(g); err != nil {
		return err
	}
	if len(partitions) == 0 {
		return nil
	}
	p, err := s.led(g)
	if err != nil {
		return err
	}
	recs := make([]Record, len(partitions))
	for i, tp := range partitions {
		recs[i] = Record{Kind: KindOffset, Group: g, Partition: tp, Tombstone: true}
	}
	if err := s.write(p, recs, true); err != nil {
		return fmt.Errorf("delete offsets of group %q: %w", g, err)
	}
	return nil
}

// GroupsWithOffsets lists the groups with offsets in the partitions this
// broker has loaded: the view may still hold others, of partitions it led
// before.
func (s *Store) GroupsWithOffsets() ([]engine.GroupOffsetInfo, error) {
	all, err := s.eng.GroupsWithOffsets()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, g := range all {
		if s.mine(g.Group) {
			out = append(out, g)
		}
	}
	return out, nil
}

// PutGroupState appends the group's membership to its partition without
// waiting for the replicas: the coordinator calls it under its lock, and a
// membership lost with its leader costs the group one rebalance, not an
// offset.
func (s *Store) PutGroupState(g string, state []byte) error {
	return s.writeState(Record{Kind: KindGroup, Group: g, State: state})
}

// DeleteGroupState appends a tombstone for the group's membership, as
// PutGroupState appends a state.
func (s *Store) DeleteGroupState(g string) error {
	return s.writeState(Record{Kind: KindGroup, Group: g, Tombstone: true})
}

func (s *Store) writeState(r Record) error {
	if err := engine.ValidateGroupID(r.Group); err != nil {
		return err
	}
	p, err := s.led(r.Group)
	if err != nil {
		return err
	}
	return s.write(p, []Record{r}, false)
}

// GroupStates returns the stored memberships of the groups in the
// partitions this broker has loaded.
func (s *Store) GroupStates() (map[string][]byte, error) {
	all, err := s.eng.GroupStates()
	if err != nil {
		return nil, err
	}
	for g := range all {
		if !s.mine(g) {
			delete(all, g)
		}
	}
	return all, nil
}

// write appends recs as one batch to the partition this broker leads and,
// with wait, returns once the partition's in-sync replicas hold it
// (acks=all) and the view shows it. Kafka's mapping of the failures: lost
// leadership or storage is NOT_COORDINATOR (the client finds the new
// coordinator), too few replicas or a timeout COORDINATOR_NOT_AVAILABLE
// (it retries).
func (s *Store) write(p *partition, recs []Record, wait bool) error {
	if epoch, err := s.cfg.Cluster.LeaderEpoch(Topic, p.id); err != nil || epoch != p.epoch {
		return fmt.Errorf("%w: %s-%d changed leader", group.ErrNotCoordinator, Topic, p.id)
	}
	records, err := encodeBatch(recs, s.cfg.Now().UnixMilli())
	if err != nil {
		return err
	}
	repl := s.cfg.Replication
	if wait && repl != nil {
		if err := repl.CheckInSync(Topic, p.id); err != nil {
			return fmt.Errorf("%w: %w", group.ErrCoordinatorNotAvailable, err)
		}
	}
	res, err := p.log.Append(records)
	if err != nil {
		if errors.Is(err, engine.ErrStorage) || errors.Is(err, engine.ErrClosed) {
			return fmt.Errorf("%w: %w", group.ErrNotCoordinator, err)
		}
		return err
	}
	if repl != nil {
		repl.Appended(p.log)
	}
	if !wait {
		return nil
	}
	end := res.LastOffset + 1
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CommitTimeout)
	defer cancel()
	if repl != nil {
		if err := repl.AwaitReplicated(ctx, p.log, end, res.LeaderEpoch, s.cfg.CommitTimeout); err != nil {
			if request.CodeOf(err) == request.NotLeaderOrFollower || errors.Is(err, engine.ErrStorage) {
				return fmt.Errorf("%w: %w", group.ErrNotCoordinator, err)
			}
			return fmt.Errorf("%w: %w", group.ErrCoordinatorNotAvailable, err)
		}
	}
	// Committed: every replica that may lead next has it. The view shows
	// it once the applier reaches it; if this broker loses the partition
	// first, the next leader loads it.
	if err := p.waitApplied(ctx, end); err != nil {
		return fmt.Errorf("%w: committed, but not yet readable: %w", group.ErrCoordinatorNotAvailable, err)
	}
	return nil
}

// encodeBatch makes one uncompressed record batch of recs.
func encodeBatch(recs []Record, now int64) ([]byte, error) {
	var b batch.Builder
	var key, val []byte
	for i := range recs {
		key = recs[i].AppendKey(key[:0])
		val = recs[i].AppendValue(val[:0]) // nil for a tombstone: a null value
		b.Append(now, key, val, nil)
	}
	return b.Build()
}
