package grouplog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// fakeCluster is one broker's view of the offsets topic's leaderships:
// the partitions it leads, with their epochs.
type fakeCluster struct {
	mu     sync.Mutex
	n      int
	leads  map[int32]int32
	notify func()
}

func (c *fakeCluster) LeaderEpoch(topic string, p int32) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.leads[p]; ok && topic == grouplog.Topic {
		return e, nil
	}
	return -1, request.ErrNotLeader
}

func (c *fakeCluster) Topic(name string) (request.Topic, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name != grouplog.Topic || c.n == 0 {
		return request.Topic{}, engine.ErrUnknownTopic
	}
	return request.Topic{Name: name, Partitions: make([]request.Partition, c.n)}, nil
}

// set changes the leaderships and tells the store, as the image does.
func (c *fakeCluster) set(n int, leads map[int32]int32) {
	c.mu.Lock()
	c.n, c.leads = n, leads
	c.mu.Unlock()
	c.notify()
}

// soloISR replicates as a leader alone in its ISR: the high watermark
// follows every append.
type soloISR struct{}

func (soloISR) CheckInSync(string, int32) error { return nil }
func (soloISR) Appended(p *engine.Partition)    { p.SetHighWatermark(p.LogEndOffset()) }
func (soloISR) AwaitReplicated(_ context.Context, p *engine.Partition, end int64, _ int32, _ time.Duration) error {
	if p.HighWatermark() < end {
		return fmt.Errorf("high watermark %d below %d", p.HighWatermark(), end)
	}
	return nil
}
func (soloISR) FollowerFetched(*engine.Partition, int32, int64, int64) error { return nil }

func (soloISR) AwaitLowWatermark(_ context.Context, p *engine.Partition, _ int64, _ time.Duration) (int64, error) {
	return p.LogStartOffset(), nil
}

type harness struct {
	t      *testing.T
	eng    *engine.Engine
	cl     *fakeCluster
	store  *grouplog.Store
	coord  *group.Coordinator
	topics int // the offsets topic's partitions
}

func newHarness(t *testing.T, createOffsets bool) *harness {
	t.Helper()
	return newLoggedHarness(t, createOffsets, nil)
}

// newLoggedHarness is newHarness with the Store logging to logger.
func newLoggedHarness(t *testing.T, createOffsets bool, logger *slog.Logger) *harness {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{Replicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.CreateTopic("orders", 3, nil); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: eng, topics: 4}
	if createOffsets {
		h.createOffsets()
	}
	h.cl = &fakeCluster{notify: func() {}}
	h.store = grouplog.New(grouplog.Config{Engine: eng, Cluster: h.cl, Replication: soloISR{}, Logger: logger})
	h.cl.notify = h.store.ImageChanged
	h.coord = group.New(group.Config{Store: h.store, Owns: h.store.Owns, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second})
	h.store.Start(h.coord)
	t.Cleanup(h.store.Close)
	return h
}

func (h *harness) createOffsets() {
	h.t.Helper()
	if err := h.eng.CreateTopic(grouplog.Topic, int32(h.topics), grouplog.Configs()); err != nil {
		h.t.Fatal(err)
	}
}

// leadAll makes this broker the leader of every partition at epoch.
func (h *harness) leadAll(epoch int32) {
	leads := map[int32]int32{}
	for i := range h.topics {
		leads[int32(i)] = epoch
	}
	h.cl.set(h.topics, leads)
}

// waitOwns polls Owns until it gives want (nil, or the sentinel wrapped).
func (h *harness) waitOwns(g string, want error) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := h.store.Owns(g)
		if want == nil && err == nil || want != nil && errors.Is(err, want) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("Owns(%q) = %v, want %v", g, err, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) commit(g string, offs ...int64) {
	h.t.Helper()
	var cs []engine.OffsetCommit
	for p, o := range offs {
		cs = append(cs, engine.OffsetCommit{TopicPartition: engine.TopicPartition{Topic: "orders", Partition: int32(p)}, Offset: o, LeaderEpoch: -1})
	}
	errs, err := h.coord.CommitOffsets(group.CommitRequest{Group: g, Generation: -1, Offsets: cs})
	if err != nil {
		h.t.Fatalf("commit %s: %v", g, err)
	}
	for _, e := range errs {
		if e != nil {
			h.t.Fatalf("commit %s: %v", g, errs)
		}
	}
}

// offsets reads g's offsets from the engine's view, in partition order.
func (h *harness) offsets(g string) []int64 {
	h.t.Helper()
	m, err := h.eng.FetchOffsets(g)
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]int64, 0, len(m))
	for p := range int32(3) {
		if c, ok := m[engine.TopicPartition{Topic: "orders", Partition: p}]; ok {
			out = append(out, c.Offset)
		}
	}
	return out
}

// logRecords decodes every record of the group's partition of the
// offsets topic.
func (h *harness) logRecords(g string) []grouplog.Record {
	h.t.Helper()
	p, err := h.eng.Partition(grouplog.Topic, grouplog.PartitionFor(g, h.topics))
	if err != nil {
		h.t.Fatal(err)
	}
	region, err := p.ReadReplica(0, 1<<20)
	if err != nil {
		h.t.Fatal(err)
	}
	defer region.Release()
	b, err := region.ReadTo(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []grouplog.Record
	var rd batch.Reader
	for len(b) > 0 {
		one, rest, err := batch.Split(b)
		if err != nil {
			h.t.Fatal(err)
		}
		b = rest
		if _, err := rd.Reset(one); err != nil {
			h.t.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				h.t.Fatal(err)
			}
			r, err := grouplog.Decode(rec.Key, rec.Value)
			if err != nil {
				h.t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

func equal(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestStoreCommitsThroughTheLogAndReloads: a commit is a record in the
// group's partition, applied to the view; losing the partition drops the
// group from the view and the coordinator (NOT_COORDINATOR), and leading
// it again rebuilds the view from the log alone.
func TestStoreCommitsThroughTheLogAndReloads(t *testing.T) {
	h := newHarness(t, true)
	if err := h.store.Owns("g"); !errors.Is(err, group.ErrNotCoordinator) {
		t.Fatalf("Owns before any leadership: %v", err)
	}
	h.leadAll(0)
	h.waitOwns("g", nil)
	h.commit("g", 10, 20, 30)
	h.commit("g", 11)
	if got := h.offsets("g"); !equal(got, []int64{11, 20, 30}) {
		t.Fatalf("view after commits: %v", got)
	}
	recs := h.logRecords("g")
	if len(recs) != 4 || recs[3].Kind != grouplog.KindOffset || recs[3].Offset.Offset != 11 || recs[3].Group != "g" {
		t.Fatalf("log records: %+v", recs)
	}
	if ls, _ := h.coord.ListGroups(); len(ls) != 1 || ls[0].Group != "g" {
		t.Fatalf("ListGroups: %+v", ls)
	}

	// Another broker leads the group's partition now.
	part := grouplog.PartitionFor("g", h.topics)
	others := map[int32]int32{}
	for i := range int32(h.topics) {
		if i != part {
			others[i] = 0
		}
	}
	h.cl.set(h.topics, others)
	h.waitOwns("g", group.ErrNotCoordinator)
	waitFor(t, "the view to drop the group", func() bool { return len(h.offsets("g")) == 0 })
	if ls, _ := h.coord.ListGroups(); len(ls) != 0 {
		t.Fatalf("ListGroups after losing the partition: %+v", ls)
	}

	// Back at a new epoch: everything comes from the log.
	others[part] = 1
	h.cl.set(h.topics, others)
	h.waitOwns("g", nil)
	if got := h.offsets("g"); !equal(got, []int64{11, 20, 30}) {
		t.Fatalf("view after reloading: %v", got)
	}
	offs, err := h.coord.FetchOffsets("g")
	if err != nil || len(offs) != 3 {
		t.Fatalf("FetchOffsets after reloading: %v, %v", offs, err)
	}
}

// TestStoreLoadInProgress: a partition this broker leads but cannot load
// yet (its replica is not created locally) answers
// COORDINATOR_LOAD_IN_PROGRESS until it loads.
func TestStoreLoadInProgress(t *testing.T) {
	h := newHarness(t, false)
	h.leadAll(0)
	h.waitOwns("g", group.ErrCoordinatorLoadInProgress)
	if _, err := h.coord.FetchOffsets("g"); !errors.Is(err, group.ErrCoordinatorLoadInProgress) {
		t.Fatalf("FetchOffsets while loading: %v", err)
	}
	if _, err := h.coord.CommitOffsets(group.CommitRequest{Group: "g", Generation: -1}); !errors.Is(err, group.ErrCoordinatorLoadInProgress) {
		t.Fatalf("CommitOffsets while loading: %v", err)
	}
	h.createOffsets()
	h.waitOwns("g", nil)
	h.commit("g", 1)
}

// TestStoreReloadWipesAStaleView: whatever the view holds for a
// partition's groups before a load (an earlier leadership, a crash) is
// replaced by what the log says.
func TestStoreReloadWipesAStaleView(t *testing.T) {
	h := newHarness(t, true)
	tp := engine.TopicPartition{Topic: "orders", Partition: 0}
	if _, err := h.eng.CommitOffsets("stale", []engine.OffsetCommit{{TopicPartition: tp, Offset: 99, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	h.leadAll(0)
	h.waitOwns("stale", nil)
	if got := h.offsets("stale"); len(got) != 0 {
		t.Fatalf("a load kept a view the log does not have: %v", got)
	}
}

// TestStoreDropsCommitsOfARecreatedTopic: an offset record names its
// topic's id; replayed after the topic was deleted and created again, it
// is dropped.
func TestStoreDropsCommitsOfARecreatedTopic(t *testing.T) {
	h := newHarness(t, true)
	h.leadAll(0)
	h.waitOwns("g", nil)
	h.commit("g", 5, 6, 7)
	if err := h.eng.DeleteTopic("orders"); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.CreateTopic("orders", 3, nil); err != nil {
		t.Fatal(err)
	}
	h.leadAll(1) // a new epoch: Owns says yes once the reload is done
	h.waitOwns("g", nil)
	if got := h.offsets("g"); len(got) != 0 {
		t.Fatalf("offsets of the deleted topic came back: %v", got)
	}
}

// TestStoreGroupMembershipSurvivesReload: a stable group's membership is a
// record too; a reload brings the group back Stable at its generation,
// and a deleted group stays deleted.
func TestStoreGroupMembershipSurvivesReload(t *testing.T) {
	h := newHarness(t, true)
	h.leadAll(0)
	h.waitOwns("g", nil)
	req := group.JoinRequest{Group: "g", ClientID: "c", ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "range", Metadata: []byte("m")}}, SessionTimeout: 10 * time.Second}
	res, err := h.coord.JoinGroup(context.Background(), req)
	if !errors.Is(err, group.ErrMemberIDRequired) {
		t.Fatalf("first join: %v", err)
	}
	req.MemberID = res.MemberID
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = h.coord.JoinGroup(context.Background(), req)
		done <- err
	}()
	waitFor(t, "the join to complete", func() bool {
		h.coord.Tick()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return true
		default:
			return false
		}
	})
	if _, err := h.coord.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: res.Generation, MemberID: res.MemberID,
		Assignments: []group.MemberAssignment{{MemberID: res.MemberID, Assignment: []byte("all")}}}); err != nil {
		t.Fatal(err)
	}
	h.leadAll(1)
	h.waitOwns("g", nil)
	d, err := h.coord.DescribeGroup("g")
	if err != nil || d.State != group.Stable || d.Generation != res.Generation || len(d.Members) != 1 || string(d.Members[0].Assignment) != "all" {
		t.Fatalf("group after reload: %+v, %v", d, err)
	}

	if _, err := h.coord.LeaveGroup("g", []group.LeaveMember{{MemberID: res.MemberID}}); err != nil {
		t.Fatal(err)
	}
	h.commit("g", 3)
	if errs := h.coord.DeleteGroups([]string{"g"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if got := h.offsets("g"); len(got) != 0 {
		t.Fatalf("offsets after DeleteGroups: %v", got)
	}
	h.leadAll(2)
	h.waitOwns("g", nil)
	if d, err := h.coord.DescribeGroup("g"); err != nil || d.State != group.Dead {
		t.Fatalf("deleted group after reload: %+v, %v", d, err)
	}
	if got := h.offsets("g"); len(got) != 0 {
		t.Fatalf("offsets came back after DeleteGroups and a reload: %v", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestStoreReloadsACompactedLog: the offsets topic is compacted; after
// many commits are cleaned down to the newest, a coordinator taking the
// partition over loads the same offsets from far fewer records.
func TestStoreReloadsACompactedLog(t *testing.T) {
	h := newHarness(t, true)
	if cfg, err := h.eng.TopicConfig(grouplog.Topic); err != nil || !cfg.Compact {
		t.Fatalf("offsets topic config %+v %v: want cleanup.policy=compact", cfg, err)
	}
	// Small segments, so that cleaning has sealed ones to rewrite.
	if err := h.eng.AlterTopicConfig(grouplog.Topic, map[string]string{"segment.bytes": "1024"}, nil); err != nil {
		t.Fatal(err)
	}
	h.leadAll(0)
	h.waitOwns("g", nil)
	for i := int64(0); i < 100; i++ {
		h.commit("g", i, 1000+i, 2000+i)
	}
	want := h.offsets("g")
	before := len(h.logRecords("g"))
	part := grouplog.PartitionFor("g", h.topics)
	p, err := h.eng.Partition(grouplog.Topic, part)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Clean(); err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("clean: %+v %v", st, err)
	}
	after := len(h.logRecords("g"))
	if after >= before/2 {
		t.Fatalf("%d records of the group after cleaning, %d before", after, before)
	}

	// Lose the partition and take it back: the view comes from the
	// cleaned log.
	others := map[int32]int32{}
	for i := range int32(h.topics) {
		if i != part {
			others[i] = 0
		}
	}
	h.cl.set(h.topics, others)
	h.waitOwns("g", group.ErrNotCoordinator)
	waitFor(t, "the view to drop the group", func() bool { return len(h.offsets("g")) == 0 })
	others[part] = 1
	h.cl.set(h.topics, others)
	h.waitOwns("g", nil)
	if got := h.offsets("g"); !equal(got, want) {
		t.Fatalf("offsets after reloading a cleaned log: %v, want %v", got, want)
	}
}
