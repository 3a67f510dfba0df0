package engine

// Topic layouts: what Metadata needs of a topic (its id, partition count
// and the partitions stored here) without DescribeTopic's work, which
// visits every segment of every partition and formats every config.
// Every call here costs map lookups and copies of a few words per topic,
// never per partition, so a client asking for one topic among 100,000
// partitions pays for one topic.
//
// A layout shares the topic's Hosted slice: topics replace their
// metadata whole on every change (copy on write, under Engine.mu), so the
// slice a layout holds never changes under it.

import (
	"fmt"
	"slices"
	"strings"
)

// TopicLayout is a topic's shape: its id, partition count and the
// partitions this engine stores.
type TopicLayout struct {
	Name           string
	ID             [16]byte
	PartitionCount int32
	// Hosted lists, sorted, the partitions stored here when the engine
	// stores only some (a broker of a cluster: CreateTopicHosting,
	// SetHosted); nil when it stores all of them. Read it, never modify
	// it.
	Hosted []int32
}

// Hosts reports whether partition id is stored here.
func (l TopicLayout) Hosts(id int32) bool {
	if id < 0 || id >= l.PartitionCount {
		return false
	}
	if l.Hosted == nil {
		return true
	}
	_, found := slices.BinarySearch(l.Hosted, id)
	return found
}

func layoutOf(t *topic) TopicLayout {
	return TopicLayout{Name: t.name, ID: t.meta.ID, PartitionCount: t.meta.Partitions, Hosted: t.meta.Hosted}
}

// TopicLayout returns a topic's layout: one map lookup.
func (e *Engine) TopicLayout(name string) (TopicLayout, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, err := e.topicLocked(name)
	if err != nil {
		return TopicLayout{Name: name}, err
	}
	return layoutOf(t), nil
}

// TopicLayouts returns every topic's layout, sorted by name, in one pass
// over the topics (none over their partitions).
func (e *Engine) TopicLayouts() []TopicLayout {
	e.mu.RLock()
	out := make([]TopicLayout, 0, len(e.topics))
	for _, t := range e.topics {
		out = append(out, layoutOf(t))
	}
	e.mu.RUnlock()
	slices.SortFunc(out, func(a, b TopicLayout) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TopicLayoutByID returns the layout of the topic with id, or an error
// wrapping ErrUnknownTopic. It compares the id of each topic (a pass over
// the topics, none over their partitions, and no allocation); callers
// that look up many ids build an index with TopicIDs instead.
func (e *Engine) TopicLayoutByID(id [16]byte) (TopicLayout, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return TopicLayout{ID: id}, ErrClosed
	}
	for _, t := range e.topics {
		if t.meta.ID == id {
			return layoutOf(t), nil
		}
	}
	return TopicLayout{ID: id}, fmt.Errorf("topic id %x: %w", id, ErrUnknownTopic)
}

// TopicIDs maps every topic's id to its name, as of the call: an index a
// caller keeps and checks each hit of against TopicLayout (a topic
// deleted and created again under its name gets a new id).
func (e *Engine) TopicIDs() map[[16]byte]string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[[16]byte]string, len(e.topics))
	for name, t := range e.topics {
		out[t.meta.ID] = name
	}
	return out
}

// TopicConfigs is DescribeTopic's Configs alone: every topic config with
// its effective value and source, sorted by name, without visiting the
// topic's partitions.
func (e *Engine) TopicConfigs(name string) ([]ConfigEntry, error) {
	e.mu.RLock()
	t, err := e.topicLocked(name)
	if err != nil {
		e.mu.RUnlock()
		return nil, err
	}
	cfg, overrides := t.cfg.Load(), t.meta.Configs
	e.mu.RUnlock()
	// overrides is never written after it is published (AlterTopicConfig
	// stores a new map), so formatting may run outside the lock.
	return describeConfigs(cfg, overrides), nil
}
