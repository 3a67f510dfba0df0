package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/engine"
)

// TestTopicLayout: a topic's layout (id, partition count, hosted
// partitions) matches DescribeTopic's, by name and by id, follows
// creates, grows, hosting changes and deletes, and outlives a restart;
// TopicConfigs is DescribeTopic's Configs.
func TestTopicLayout(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{RetentionCheckInterval: -1})
	if err := e.CreateTopic("b", 3, map[string]string{"retention.ms": "1000"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("a", 2, nil); err != nil {
		t.Fatal(err)
	}
	var id [16]byte
	id[0] = 7
	if err := e.CreateTopicHosting("c", id, 5, nil, []int32{4, 1}); err != nil {
		t.Fatal(err)
	}

	check := func(e *engine.Engine, name string, count int32, hosted []int32) engine.TopicLayout {
		t.Helper()
		lay, err := e.TopicLayout(name)
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.DescribeTopic(name)
		if err != nil {
			t.Fatal(err)
		}
		if lay.Name != name || lay.ID != d.ID || lay.PartitionCount != count || d.PartitionCount != count || !slices.Equal(lay.Hosted, hosted) {
			t.Fatalf("layout of %s: %+v, want %d partitions hosting %v (describe: id %x, %d)", name, lay, count, hosted, d.ID, d.PartitionCount)
		}
		var described []int32
		for _, p := range d.Partitions {
			described = append(described, p.ID)
		}
		var hosts []int32
		for i := int32(-1); i <= count; i++ {
			if lay.Hosts(i) {
				hosts = append(hosts, i)
			}
		}
		if !slices.Equal(hosts, described) {
			t.Fatalf("%s hosts %v, describe has %v", name, hosts, described)
		}
		byID, err := e.TopicLayoutByID(lay.ID)
		if err != nil || byID.Name != name || byID.PartitionCount != count {
			t.Fatalf("by id %x: %+v, %v", lay.ID, byID, err)
		}
		if got := e.TopicIDs()[lay.ID]; got != name {
			t.Fatalf("TopicIDs[%x] = %q, want %q", lay.ID, got, name)
		}
		configs, err := e.TopicConfigs(name)
		if err != nil || !slices.Equal(configs, d.Configs) {
			t.Fatalf("configs of %s: %v, %v; describe has %v", name, configs, err, d.Configs)
		}
		return lay
	}
	check(e, "a", 2, nil)
	b := check(e, "b", 3, nil)
	c := check(e, "c", 5, []int32{1, 4})
	if c.ID != id {
		t.Fatalf("c: id %x, want %x", c.ID, id)
	}

	var names []string
	for _, l := range e.TopicLayouts() {
		names = append(names, l.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("layouts: %v", names)
	}

	if err := e.CreatePartitions("b", 6); err != nil {
		t.Fatal(err)
	}
	check(e, "b", 6, nil)
	if err := e.SetHosted("c", 5, []int32{0}); err != nil {
		t.Fatal(err)
	}
	check(e, "c", 5, []int32{0})
	if !slices.Equal(c.Hosted, []int32{1, 4}) {
		t.Fatalf("a layout taken earlier changed under its holder: %v", c.Hosted)
	}

	if err := e.DeleteTopic("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.TopicLayout("b"); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("deleted b: %v", err)
	}
	if _, err := e.TopicLayoutByID(b.ID); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("deleted b by id: %v", err)
	}
	if _, ok := e.TopicIDs()[b.ID]; ok {
		t.Fatal("TopicIDs kept deleted b")
	}
	if _, err := e.TopicConfigs("b"); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("configs of deleted b: %v", err)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.TopicLayout("a"); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := e.TopicLayoutByID(c.ID); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("by id after close: %v", err)
	}
	e = openEngine(t, dir, engine.Options{RetentionCheckInterval: -1})
	check(e, "a", 2, nil)
	check(e, "c", 5, []int32{0})
}
