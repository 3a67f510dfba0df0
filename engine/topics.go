package engine

// Topic administration: create, grow, delete, describe and configure
// topics, and find them by name. Every change to a topic's partitions or
// configs happens under Engine.mu (write), so readers of the topic map see
// whole changes.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CreateTopic creates a topic with the given number of partitions and
// config overrides (Kafka names). The topic is durable when it returns.
func (e *Engine) CreateTopic(name string, partitions int32, configs map[string]string) error {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	return e.CreateTopicWithID(name, id, partitions, configs)
}

// CreateTopicWithID is CreateTopic with the topic id given: in a cluster
// the metadata quorum names a topic's id, and every replica's storage keeps
// the same one, so a topic deleted and created again under its name is
// told apart from the old one.
func (e *Engine) CreateTopicWithID(name string, id [16]byte, partitions int32, configs map[string]string) error {
	return e.createTopic(name, id, partitions, configs, nil)
}

// CreateTopicHosting is CreateTopicWithID for a broker that stores only
// some of the topic's partitions (its replicas): hosted lists them; the
// others exist in the topic, but Partition refuses them.
func (e *Engine) CreateTopicHosting(name string, id [16]byte, partitions int32, configs map[string]string, hosted []int32) error {
	if hosted == nil {
		hosted = []int32{}
	}
	return e.createTopic(name, id, partitions, configs, hosted)
}

func (e *Engine) createTopic(name string, id [16]byte, partitions int32, configs map[string]string, hosted []int32) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	if partitions < 1 || partitions > e.opts.MaxPartitions {
		return fmt.Errorf("%w: %d (1 to %d, max.partitions.per.topic)", ErrInvalidPartitions, partitions, e.opts.MaxPartitions)
	}
	cfg, err := applyConfigs(e.defaults, configs)
	if err != nil {
		return fmt.Errorf("topic %s: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if _, ok := e.topics[name]; ok {
		return fmt.Errorf("topic %s: %w", name, ErrTopicExists)
	}
	m := &topicMeta{Name: name, ID: id, Partitions: partitions, Configs: copyMap(configs), CreatedMs: e.now().UnixMilli(), Hosted: sortedIDs(hosted)}
	t := &topic{name: m.Name, meta: m}
	t.cfg.Store(&cfg)
	c, err := e.makePartitions(t, m, 0)
	if err != nil {
		return fmt.Errorf("topic %s: %w", name, err)
	}
	if err := e.meta.commitCreate(m); err != nil {
		c.undo()
		return err
	}
	t.partitions = c.made
	e.topics[name] = t
	e.logger.Info("topic created", "topic", name, "partitions", partitions)
	return nil
}

// CreatePartitions grows a topic to total partitions. Like Kafka, it never
// shrinks a topic. Nothing changes if any new partition cannot be made.
func (e *Engine) CreatePartitions(name string, total int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.topicLocked(name)
	if err != nil {
		return err
	}
	have := int32(len(t.partitions))
	if total <= have || total > e.opts.MaxPartitions {
		return fmt.Errorf("%w: topic %s has %d partitions, asked for %d (at most %d, max.partitions.per.topic)",
			ErrInvalidPartitions, name, have, total, e.opts.MaxPartitions)
	}
	m := *t.meta
	m.Partitions = total
	c, err := e.makePartitions(t, &m, have)
	if err != nil {
		return fmt.Errorf("topic %s: %w", name, err)
	}
	if err := e.meta.commitCreate(&m); err != nil {
		c.undo()
		return err
	}
	t.meta = &m
	t.partitions = append(t.partitions[:have:have], c.made...)
	e.logger.Info("partitions added", "topic", name, "from", have, "to", total)
	return nil
}

// createWorkers is how many partitions a create makes at once: each is a
// stat of its directory (to remove a stale one) and a few allocations.
const createWorkers = 4

// pendingCreate is a create's partitions made but not yet committed.
type pendingCreate struct {
	e     *Engine
	topic string
	from  int32
	// made holds the partitions of ids from on (nil: not hosted here, or
	// not made). They have no directories yet.
	made []*Partition
}

// makePartitions makes partitions [from, m.Partitions) of t, those m says
// this engine hosts, after checking that they fit in the engine's limits
// and recording the intent to create them (strays.go). On failure nothing
// is left behind; on success the caller commits (metaStore.commitCreate)
// or calls undo. Callers hold e.mu.
func (e *Engine) makePartitions(t *topic, m *topicMeta, from int32) (*pendingCreate, error) {
	n := m.Partitions - from
	var hosted []int32
	for id := from; id < m.Partitions; id++ {
		if m.hosts(id) {
			hosted = append(hosted, id)
		}
	}
	if err := e.checkCreate(int64(len(hosted)), newPartitionCost()); err != nil {
		return nil, err
	}
	if err := e.meta.beginCreate(createIntent{Topic: t.name, ID: m.ID, From: from, To: m.Partitions}); err != nil {
		return nil, err
	}
	c := &pendingCreate{e: e, topic: t.name, from: from, made: make([]*Partition, n)}
	// Workers take the hosted ids in order; each writes only its own
	// slots, so the partitions keep their order without a lock.
	var (
		next   atomic.Int64
		failed atomic.Bool
		errMu  sync.Mutex
		first  error
		wg     sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for !failed.Load() {
			i := next.Add(1) - 1
			if i >= int64(len(hosted)) {
				return
			}
			id := hosted[i]
			p, err := c.makeOne(t, id)
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = fmt.Errorf("partition %d: %w", id, resourceError(err))
				}
				errMu.Unlock()
				failed.Store(true)
				return
			}
			c.made[id-from] = p
		}
	}
	workers := min(createWorkers, len(hosted))
	wg.Add(workers)
	for range workers {
		go work()
	}
	wg.Wait()
	if first != nil {
		if err := c.undo(); err != nil {
			e.logger.Error("could not undo a failed topic create; the next start removes what is left",
				"topic", t.name, "err", err)
		}
		return nil, first
	}
	return c, nil
}

// makeOne makes one partition, in memory only: its directory and files
// wait for its first append (createPartition).
func (c *pendingCreate) makeOne(t *topic, id int32) (*Partition, error) {
	dir := partitionDir(c.e.dir, t.name, id)
	if _, err := os.Lstat(dir); err == nil {
		// A folder left by a failed removal would otherwise lend stale
		// data to the new partition once it is appended to.
		c.e.logger.Warn("removing a stale partition directory", "dir", dir)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return c.e.createPartition(t, id)
}

// undo closes the partitions made and drops the create's intent. The
// partitions were never visible, so never appended to: they made no
// directory, and closing them is closing their unborn segments.
func (c *pendingCreate) undo() error {
	var errs []error
	for _, p := range c.made {
		if p != nil {
			for _, s := range p.segments() {
				errs = append(errs, s.Close())
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err // the intent stays: Open removes what is left
	}
	return c.e.meta.endCreate(c.topic)
}

// DeleteTopic deletes a topic and all its data. Readers holding regions of
// it keep them until they release them.
func (e *Engine) DeleteTopic(name string) error {
	e.mu.Lock()
	t, err := e.topicLocked(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.meta.deleteTopic(name); err != nil {
		e.mu.Unlock()
		return err
	}
	delete(e.topics, name)
	e.mu.Unlock()

	var errs []error
	for _, p := range t.partitions {
		if p != nil {
			errs = append(errs, deletePartition(p))
		}
	}
	e.logger.Info("topic deleted", "topic", name)
	return errors.Join(errs...)
}

// deletePartition closes a partition for good and removes its data.
// Readers holding regions of it keep them until they release them.
func deletePartition(p *Partition) error {
	p.mu.Lock()
	p.closed = true
	wasDeleted := p.deleted.Swap(true)
	p.mu.Unlock()
	p.wake()
	if !wasDeleted {
		close(p.gone)
	}
	// A cleaning stops at its next read or pause; wait for it, so that
	// it writes nothing (a .cleaning folder, a checkpoint) once the
	// partition is gone, or into a new one of the same name.
	p.cleanMu.Lock()
	p.cleanMu.Unlock() // a barrier, not a critical section

	// Rename first so a crash mid-delete leaves a folder that Open
	// finishes removing rather than one that looks like a live topic.
	doomed := fmt.Sprintf("%s.%d%s", p.dir, time.Now().UnixNano(), deletedSuffix)
	if err := os.Rename(p.dir, doomed); errors.Is(err, os.ErrNotExist) {
		// Never appended to, so never made (lazy create); closed now, so
		// it never will be.
		doomed = ""
	} else if err != nil {
		return err
	}
	var errs []error
	for _, s := range p.segments() {
		errs = append(errs, s.Delete())
	}
	if doomed != "" {
		errs = append(errs, os.RemoveAll(doomed))
	}
	return errors.Join(errs...)
}

func closePartitions(ps []*Partition) {
	for _, p := range ps {
		if p != nil {
			p.close()
		}
	}
}

func sortedIDs(ids []int32) []int32 {
	if ids == nil {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Topics returns the names of all topics, sorted.
func (e *Engine) Topics() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	names := make([]string, 0, len(e.topics))
	for n := range e.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TopicDescription describes a topic and its partitions.
type TopicDescription struct {
	Name string
	ID   [16]byte
	// PartitionCount is the topic's; Partitions describes those this
	// engine stores (all of them but on a broker of a cluster).
	PartitionCount int32
	Partitions     []PartitionInfo
	// Configs holds every topic config with its effective value.
	Configs []ConfigEntry
}

// PartitionInfo describes one partition's log.
type PartitionInfo struct {
	ID             int32
	LogStartOffset int64
	LogEndOffset   int64
	HighWatermark  int64
	Segments       int
	SizeBytes      int64
}

// DescribeTopic reports a topic's partitions and configs.
func (e *Engine) DescribeTopic(name string) (TopicDescription, error) {
	e.mu.RLock()
	t, err := e.topicLocked(name)
	if err != nil {
		e.mu.RUnlock()
		return TopicDescription{}, err
	}
	d := TopicDescription{Name: name, ID: t.meta.ID, PartitionCount: t.meta.Partitions, Configs: describeConfigs(t.cfg.Load(), t.meta.Configs)}
	partitions := t.partitions
	e.mu.RUnlock()
	for _, p := range partitions {
		if p == nil {
			continue
		}
		segs := p.segments()
		var size int64
		for _, s := range segs {
			size += s.Size()
		}
		d.Partitions = append(d.Partitions, PartitionInfo{
			ID: p.id, LogStartOffset: p.LogStartOffset(), LogEndOffset: p.LogEndOffset(),
			HighWatermark: p.HighWatermark(), Segments: len(segs), SizeBytes: size,
		})
	}
	return d, nil
}

// TopicConfig returns a topic's effective configuration.
func (e *Engine) TopicConfig(name string) (TopicConfig, error) {
	t, err := e.topic(name)
	if err != nil {
		return TopicConfig{}, err
	}
	return *t.cfg.Load(), nil
}

// TopicOverrides returns a topic's config overrides: the values set for it
// rather than taken from the defaults.
func (e *Engine) TopicOverrides(name string) (map[string]string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, err := e.topicLocked(name)
	if err != nil {
		return nil, err
	}
	return copyMap(t.meta.Configs), nil
}

// AlterTopicConfig sets the overrides in set and removes those named in
// remove (falling back to the defaults), as Kafka's incremental alter does.
// Nothing changes if any value is invalid.
func (e *Engine) AlterTopicConfig(name string, set map[string]string, remove []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.topicLocked(name)
	if err != nil {
		return err
	}
	overrides := copyMap(t.meta.Configs)
	if overrides == nil {
		overrides = map[string]string{}
	}
	for _, k := range remove {
		if _, ok := findConfig(k); !ok {
			return fmt.Errorf("topic %s: %w: unknown config %q", name, ErrInvalidConfig, k)
		}
		delete(overrides, k)
	}
	for k, v := range set {
		overrides[k] = v
	}
	cfg, err := applyConfigs(e.defaults, overrides)
	if err != nil {
		return fmt.Errorf("topic %s: %w", name, err)
	}
	m := *t.meta
	m.Configs = overrides
	if err := e.meta.putTopic(&m); err != nil {
		return err
	}
	t.meta = &m
	t.cfg.Store(&cfg)
	return nil
}

func (e *Engine) topic(name string) (*topic, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.topicLocked(name)
}

func (e *Engine) topicLocked(name string) (*topic, error) {
	if e.closed {
		return nil, ErrClosed
	}
	t, ok := e.topics[name]
	if !ok {
		return nil, fmt.Errorf("topic %s: %w", name, ErrUnknownTopic)
	}
	return t, nil
}
