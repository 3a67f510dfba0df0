package group_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// TestRestoreAfterRestart: a stable group outlives its coordinator (a
// broker restart): the next coordinator on the same store has the same
// generation, members, leader and assignments, its members heartbeat on
// without a rebalance, and a group that emptied is gone from the store.
func TestRestoreAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	cfg := group.Config{Store: e, Now: clk.now, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second}
	c := group.New(cfg)
	a := newMember(t, c)
	b := newMember(t, c)
	ja, jb := join(c, joinReq(a, "")), join(c, joinReq(b, ""))
	ra, rb := waitJoin(t, c, ja), waitJoin(t, c, jb)
	if ra.err != nil || rb.err != nil {
		t.Fatal(ra.err, rb.err)
	}
	leader, follower := ra.res.Leader, a
	if leader == a {
		follower = b
	}
	syncF := make(chan []byte, 1)
	go func() {
		got, _ := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: ra.res.Generation, MemberID: follower})
		syncF <- got
	}()
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: ra.res.Generation, MemberID: leader,
		Assignments: []group.MemberAssignment{{MemberID: leader, Assignment: []byte("L")}, {MemberID: follower, Assignment: []byte("F")}}}); err != nil {
		t.Fatal(err)
	}
	<-syncF
	before := describe(t, c)
	if err := e.Close(); err != nil { // the broker stops; the coordinator is dropped
		t.Fatal(err)
	}

	e, err = engine.Open(dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	clk.advance(time.Minute) // longer than the sessions: they restart at Restore
	c = group.New(group.Config{Store: e, Now: clk.now, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second})
	if n, err := c.Restore(); err != nil || n != 1 {
		t.Fatalf("Restore: %d groups, %v", n, err)
	}
	after := describe(t, c)
	if after.State != group.Stable || after.Generation != before.Generation || after.Leader != before.Leader ||
		after.Protocol != before.Protocol || len(after.Members) != 2 {
		t.Fatalf("restored %+v, was %+v", after, before)
	}
	for i, m := range after.Members {
		w := before.Members[i]
		if m.MemberID != w.MemberID || string(m.Assignment) != string(w.Assignment) || string(m.Metadata) != string(w.Metadata) || m.ClientID != w.ClientID {
			t.Errorf("member %d restored as %+v, was %+v", i, m, w)
		}
	}
	for _, id := range []string{a, b} {
		if err := c.Heartbeat("g", before.Generation, id, ""); err != nil {
			t.Fatalf("heartbeat of %s after restore: %v", id, err)
		}
	}
	if got, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: before.Generation, MemberID: follower}); err != nil || string(got) != "F" {
		t.Fatalf("SyncGroup after restore: %q %v", got, err)
	}
	c.Tick()
	if d := describe(t, c); d.State != group.Stable || d.Generation != before.Generation {
		t.Fatalf("a rebalance after restore: %+v", d)
	}

	// Both leave: the group empties and its state goes with it.
	if errs, err := c.LeaveGroup("g", []group.LeaveMember{{MemberID: a}, {MemberID: b}}); err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("leave: %v %v", errs, err)
	}
	waitFor := time.Now().Add(10 * time.Second)
	for describe(t, c).State != group.Empty {
		if time.Now().After(waitFor) {
			t.Fatalf("group never emptied: %+v", describe(t, c))
		}
		c.Tick()
		time.Sleep(time.Millisecond)
	}
	states, err := e.GroupStates()
	if err != nil || len(states) != 0 {
		t.Fatalf("stored states after the group emptied: %v %v", states, err)
	}
}

// TestRestoreDropsCorruptState: a state that does not decode is dropped
// with a log line; the rest of the store still loads.
func TestRestoreDropsCorruptState(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for id, b := range map[string][]byte{"empty": nil, "version": {9}, "short": {1, 5, 'x'}} {
		if err := e.PutGroupState(id, b); err != nil {
			t.Fatal(err)
		}
	}
	c := group.New(group.Config{Store: e})
	if n, err := c.Restore(); err != nil || n != 0 {
		t.Fatalf("Restore: %d, %v", n, err)
	}
	if states, _ := e.GroupStates(); len(states) != 0 {
		t.Fatalf("corrupt states kept: %v", states)
	}
	if err := c.Heartbeat("short", 1, "m", ""); !errors.Is(err, group.ErrUnknownMemberID) {
		t.Fatalf("heartbeat to a dropped group: %v", err)
	}
}
