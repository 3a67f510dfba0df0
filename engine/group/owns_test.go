package group_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// TestNotCoordinatorRefusesEveryGroupRequest: with Config.Owns saying no,
// every per-group request is refused with ErrNotCoordinator and changes
// nothing; ListGroups still lists what this broker holds; once the group
// is the broker's again its member and offsets carry on.
func TestNotCoordinatorRefusesEveryGroupRequest(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.CreateTopic("orders", 4, nil); err != nil {
		t.Fatal(err)
	}
	var mine atomic.Bool
	mine.Store(true)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := group.New(group.Config{Store: e, Now: clk.now, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second,
		Owns: func(g string) error {
			if g == "g" && mine.Load() {
				return nil
			}
			return group.ErrNotCoordinator
		}})

	a := newMember(t, c)
	r := waitJoin(t, c, join(c, joinReq(a, "")))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: r.res.Generation, MemberID: a,
		Assignments: []group.MemberAssignment{{MemberID: a, Assignment: []byte("all")}}}); err != nil {
		t.Fatal(err)
	}
	commit := func(g string, off int64) ([]error, error) {
		return c.CommitOffsets(group.CommitRequest{Group: g, Generation: r.res.Generation, MemberID: a, Offsets: []engine.OffsetCommit{
			{TopicPartition: engine.TopicPartition{Topic: "orders", Partition: 0}, Offset: off, LeaderEpoch: -1}}})
	}
	if _, err := commit("g", 5); err != nil {
		t.Fatal(err)
	}

	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, group.ErrNotCoordinator) {
			t.Fatalf("%s: %v, want ErrNotCoordinator", what, err)
		}
	}
	check := func(g string) {
		t.Helper()
		_, err := c.JoinGroup(context.Background(), joinReq("", ""))
		if g != "g" {
			req := joinReq("", "")
			req.Group = g
			_, err = c.JoinGroup(context.Background(), req)
		}
		refused("JoinGroup "+g, err)
		_, err = c.SyncGroup(context.Background(), group.SyncRequest{Group: g, Generation: r.res.Generation, MemberID: a})
		refused("SyncGroup "+g, err)
		refused("Heartbeat "+g, c.Heartbeat(g, r.res.Generation, a, ""))
		_, err = c.LeaveGroup(g, []group.LeaveMember{{MemberID: a}})
		refused("LeaveGroup "+g, err)
		_, err = commit(g, 9)
		refused("CommitOffsets "+g, err)
		_, err = c.CommitOffsets(group.CommitRequest{Group: g, Generation: -1})
		refused("admin CommitOffsets "+g, err)
		_, err = c.FetchOffsets(g)
		refused("FetchOffsets "+g, err)
		_, err = c.DescribeGroup(g)
		refused("DescribeGroup "+g, err)
		refused("DeleteGroups "+g, c.DeleteGroups([]string{g})[0])
		refused("Owned "+g, c.Owned(g))
	}
	check("other") // never this broker's
	mine.Store(false)
	check("g")
	// An invalid id is still INVALID_GROUP_ID, whoever would own it.
	if _, err := c.FetchOffsets(""); !errors.Is(err, group.ErrInvalidGroupID) {
		t.Fatalf("FetchOffsets of an empty id: %v", err)
	}
	ls, err := c.ListGroups()
	if err != nil || len(ls) != 1 || ls[0].Group != "g" || ls[0].State != group.Stable {
		t.Fatalf("ListGroups while not the coordinator: %+v, %v", ls, err)
	}
	// Per group: the refusal of one does not stop the delete of another.
	if errs := c.DeleteGroups([]string{"g", "other"}); !errors.Is(errs[0], group.ErrNotCoordinator) || !errors.Is(errs[1], group.ErrNotCoordinator) {
		t.Fatalf("DeleteGroups: %v", errs)
	}

	// Nothing the refused requests asked for happened.
	mine.Store(true)
	if err := c.Heartbeat("g", r.res.Generation, a, ""); err != nil {
		t.Fatalf("heartbeat once owned again: %v", err)
	}
	offs, err := c.FetchOffsets("g")
	if err != nil || len(offs) != 1 || offs[engine.TopicPartition{Topic: "orders", Partition: 0}].Offset != 5 {
		t.Fatalf("offsets once owned again: %v, %v", offs, err)
	}
	if d := describe(t, c); d.State != group.Stable || len(d.Members) != 1 {
		t.Fatalf("group once owned again: %+v", d)
	}
}

// TestUnloadAndLoadGroups: a broker that loses a group's partition drops
// the group from memory (a member waiting in JoinGroup hears
// ErrNotCoordinator, so it finds the new coordinator) without touching
// the Store; LoadGroups brings the stored membership back, Stable at its
// generation, as the broker that takes the partition over does.
func TestUnloadAndLoadGroups(t *testing.T) {
	c, _, e := newCoordinator(t, -1)
	a := newMember(t, c)
	r := waitJoin(t, c, join(c, joinReq(a, "")))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: r.res.Generation, MemberID: a,
		Assignments: []group.MemberAssignment{{MemberID: a, Assignment: []byte("all")}}}); err != nil {
		t.Fatal(err)
	}
	states, err := e.GroupStates()
	if err != nil || len(states) != 1 {
		t.Fatalf("stored states: %v, %v", states, err)
	}
	// A second member's join starts a rebalance; a is asked to rejoin.
	b := newMember(t, c)
	waiting := join(c, joinReq(b, ""))
	waitPreparing(t, c, 2)
	if n := c.UnloadGroups(func(g string) bool { return g == "g" }); n != 1 {
		t.Fatalf("unloaded %d groups", n)
	}
	if j := <-waiting; !errors.Is(j.err, group.ErrNotCoordinator) {
		t.Fatalf("a join waiting at the unload: %v, want ErrNotCoordinator", j.err)
	}
	if d := describe(t, c); d.State != group.Dead {
		t.Fatalf("after the unload: %+v", d)
	}
	if again, _ := e.GroupStates(); len(again) != 1 {
		t.Fatalf("the unload touched the store: %v", again)
	}
	if n := c.LoadGroups(states); n != 1 {
		t.Fatalf("loaded %d groups", n)
	}
	d := describe(t, c)
	if d.State != group.Stable || d.Generation != r.res.Generation || len(d.Members) != 1 || d.Members[0].MemberID != a {
		t.Fatalf("after the load: %+v", d)
	}
	if err := c.Heartbeat("g", r.res.Generation, a, ""); err != nil {
		t.Fatalf("the member's heartbeat after the load: %v", err)
	}
}
