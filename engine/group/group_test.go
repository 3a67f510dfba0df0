package group_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCoordinator(t *testing.T, delay time.Duration) (*group.Coordinator, *clock, *engine.Engine) {
	t.Helper()
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.CreateTopic("orders", 4, nil); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := group.New(group.Config{Store: e, Now: clk.now, InitialRebalanceDelay: delay,
		MinSessionTimeout: time.Second, OffsetsRetention: time.Hour})
	return c, clk, e
}

func joinReq(member, instance string) group.JoinRequest {
	return group.JoinRequest{Group: "g", MemberID: member, InstanceID: instance, ClientID: "c",
		ProtocolType: "consumer", Protocols: []group.Protocol{{Name: "range", Metadata: []byte("m")}},
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 20 * time.Second}
}

type joined struct {
	res group.JoinResult
	err error
}

// join starts a JoinGroup in the background.
func join(c *group.Coordinator, req group.JoinRequest) chan joined {
	ch := make(chan joined, 1)
	go func() {
		res, err := c.JoinGroup(context.Background(), req)
		ch <- joined{res, err}
	}()
	return ch
}

// newMember does the MEMBER_ID_REQUIRED round trip and returns the id.
func newMember(t *testing.T, c *group.Coordinator) string {
	t.Helper()
	res, err := c.JoinGroup(context.Background(), joinReq("", ""))
	if !errors.Is(err, group.ErrMemberIDRequired) || res.MemberID == "" {
		t.Fatalf("first join: %+v %v", res, err)
	}
	return res.MemberID
}

// waitJoin ticks the coordinator until the join answers.
func waitJoin(t *testing.T, c *group.Coordinator, ch chan joined) joined {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case j := <-ch:
			return j
		case <-time.After(time.Millisecond):
			c.Tick()
		}
	}
	t.Fatal("join never completed")
	return joined{}
}

// waitPreparing waits until the group has n members all waiting in
// JoinGroup (PreparingRebalance with n members).
func waitPreparing(t *testing.T, c *group.Coordinator, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if d, _ := c.DescribeGroup("g"); d.State == group.PreparingRebalance && len(d.Members) == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("group never reached PreparingRebalance with %d members", n)
}

func describe(t *testing.T, c *group.Coordinator) group.Description {
	t.Helper()
	d, err := c.DescribeGroup("g")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRebalanceGenerationsAndFencing(t *testing.T) {
	c, clk, e := newCoordinator(t, -1)
	a := newMember(t, c)
	ja := waitJoin(t, c, join(c, joinReq(a, "")))
	if ja.err != nil || ja.res.Generation != 1 || ja.res.Leader != a || len(ja.res.Members) != 1 {
		t.Fatalf("first join: %+v %v", ja.res, ja.err)
	}
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: 1, MemberID: a,
		Assignments: []group.MemberAssignment{{MemberID: a, Assignment: []byte("all")}}}); err != nil {
		t.Fatal(err)
	}
	if d := describe(t, c); d.State != group.Stable || d.Generation != 1 {
		t.Fatalf("after sync: %+v", d)
	}

	// A second member: the first learns of the rebalance by heartbeat.
	b := newMember(t, c)
	jb := join(c, joinReq(b, ""))
	waitPreparing(t, c, 2)
	if err := c.Heartbeat("g", 1, a, ""); !errors.Is(err, group.ErrRebalanceInProgress) {
		t.Fatalf("heartbeat during rebalance: %v", err)
	}
	// Members of the current generation may still commit while the group
	// prepares the rebalance (the place to commit revoked partitions).
	commit := func(gen int32, member string, off int64) error {
		errs, err := c.CommitOffsets(group.CommitRequest{Group: "g", Generation: gen, MemberID: member,
			Offsets: []engine.OffsetCommit{{TopicPartition: engine.TopicPartition{Topic: "orders", Partition: 0}, Offset: off, LeaderEpoch: -1}}})
		if err != nil {
			return err
		}
		return errs[0]
	}
	if err := commit(1, a, 5); err != nil {
		t.Fatalf("commit in PreparingRebalance: %v", err)
	}
	ja2 := join(c, joinReq(a, ""))
	ra, rb := waitJoin(t, c, ja2), waitJoin(t, c, jb)
	if ra.err != nil || rb.err != nil || ra.res.Generation != 2 || rb.res.Generation != 2 {
		t.Fatalf("second rebalance: %+v %v / %+v %v", ra.res, ra.err, rb.res, rb.err)
	}
	if ra.res.Leader != a || len(ra.res.Members) != 2 || len(rb.res.Members) != 0 {
		t.Fatalf("leader %q, members %d/%d", ra.res.Leader, len(ra.res.Members), len(rb.res.Members))
	}
	// The stale generation is fenced.
	if err := commit(1, a, 6); !errors.Is(err, group.ErrIllegalGeneration) {
		t.Fatalf("stale commit: %v", err)
	}
	if err := c.Heartbeat("g", 2, "nobody", ""); !errors.Is(err, group.ErrUnknownMemberID) {
		t.Fatalf("unknown member heartbeat: %v", err)
	}
	// The follower's sync waits for the leader's.
	syncB := make(chan []byte, 1)
	go func() {
		got, _ := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: 2, MemberID: b})
		syncB <- got
	}()
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: 2, MemberID: a,
		Assignments: []group.MemberAssignment{{MemberID: a, Assignment: []byte("A")}, {MemberID: b, Assignment: []byte("B")}}}); err != nil {
		t.Fatal(err)
	}
	if got := <-syncB; string(got) != "B" {
		t.Fatalf("follower got %q", got)
	}
	if err := commit(2, b, 7); err != nil {
		t.Fatal(err)
	}
	offs, _ := c.FetchOffsets("g")
	if got := offs[engine.TopicPartition{Topic: "orders", Partition: 0}]; got.Offset != 7 {
		t.Fatalf("committed %+v", got)
	}

	// b stops heartbeating: after its session it is removed, a rebalances alone.
	clk.advance(5 * time.Second)
	if err := c.Heartbeat("g", 2, a, ""); err != nil {
		t.Fatal(err)
	}
	clk.advance(6 * time.Second)
	c.Tick()
	if d := describe(t, c); d.State != group.PreparingRebalance || len(d.Members) != 1 {
		t.Fatalf("after b's session: %+v", d)
	}
	if r := waitJoin(t, c, join(c, joinReq(a, ""))); r.err != nil || r.res.Generation != 3 {
		t.Fatalf("rejoin alone: %+v %v", r.res, r.err)
	}

	// Leaving empties the group; deleting it then removes its offsets.
	if err := c.DeleteGroups([]string{"g"})[0]; !errors.Is(err, group.ErrNonEmptyGroup) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if errs, err := c.LeaveGroup("g", []group.LeaveMember{{MemberID: a}}); err != nil || errs[0] != nil {
		t.Fatalf("leave: %v %v", err, errs)
	}
	if d := describe(t, c); d.State != group.Empty {
		t.Fatalf("after leave: %+v", d)
	}
	if err := c.DeleteGroups([]string{"g"})[0]; err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroups([]string{"g"})[0]; !errors.Is(err, group.ErrGroupIDNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if offs, _ := e.FetchOffsets("g"); len(offs) != 0 {
		t.Fatalf("offsets left after delete: %v", offs)
	}
}

func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	c, _, _ := newCoordinator(t, -1)
	r1 := waitJoin(t, c, join(c, joinReq("", "host-1")))
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	b := newMember(t, c)
	jb := join(c, joinReq(b, ""))
	ra := waitJoin(t, c, join(c, joinReq(r1.res.MemberID, "host-1")))
	rb := waitJoin(t, c, jb)
	if ra.err != nil || rb.err != nil {
		t.Fatal(ra.err, rb.err)
	}
	leader, follower := ra, rb
	if ra.res.Leader != ra.res.MemberID {
		leader, follower = rb, ra
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: follower.res.Generation, MemberID: follower.res.MemberID})
		done <- err
	}()
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: leader.res.Generation, MemberID: leader.res.MemberID,
		Assignments: []group.MemberAssignment{{MemberID: ra.res.MemberID, Assignment: []byte("static")}, {MemberID: rb.res.MemberID, Assignment: []byte("dyn")}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	gen := describe(t, c).Generation
	if ra.res.Leader == ra.res.MemberID {
		t.Skip("the static member leads; a leader's restart rebalances by design")
	}
	// The static member restarts (empty member id, same instance id).
	r, err := c.JoinGroup(context.Background(), joinReq("", "host-1"))
	if err != nil || r.Generation != gen || r.MemberID == ra.res.MemberID {
		t.Fatalf("static rejoin: %+v %v", r, err)
	}
	if d := describe(t, c); d.State != group.Stable || d.Generation != gen {
		t.Fatalf("static rejoin rebalanced: %+v", d)
	}
	a, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: gen, MemberID: r.MemberID})
	if err != nil || string(a) != "static" {
		t.Fatalf("static member's assignment %q, %v", a, err)
	}
	// Its old incarnation is fenced.
	if err := c.Heartbeat("g", gen, ra.res.MemberID, "host-1"); !errors.Is(err, group.ErrFencedInstanceID) {
		t.Fatalf("old static member heartbeat: %v", err)
	}
}

func TestBadJoinsAndCommits(t *testing.T) {
	c, _, e := newCoordinator(t, -1)
	bad := joinReq("", "")
	bad.Group = ""
	if _, err := c.JoinGroup(context.Background(), bad); !errors.Is(err, group.ErrInvalidGroupID) {
		t.Fatalf("empty group id: %v", err)
	}
	bad = joinReq("", "")
	bad.SessionTimeout = time.Millisecond
	if _, err := c.JoinGroup(context.Background(), bad); !errors.Is(err, group.ErrInvalidSessionTimeout) {
		t.Fatalf("short session: %v", err)
	}
	if _, err := c.JoinGroup(context.Background(), joinReq("made-up", "")); !errors.Is(err, group.ErrUnknownMemberID) {
		t.Fatalf("made-up member id: %v", err)
	}
	// A group in use by native clients refuses Kafka-protocol members.
	a := newMember(t, c)
	if r := waitJoin(t, c, join(c, joinReq(a, ""))); r.err != nil {
		t.Fatal(r.err)
	}
	kafka := joinReq("", "")
	kafka.Family = group.FamilyKafka
	if _, err := c.JoinGroup(context.Background(), kafka); !errors.Is(err, group.ErrInconsistentGroupProtocol) {
		t.Fatalf("kafka member in a native group: %v", err)
	}
	other := joinReq("", "")
	other.Protocols = []group.Protocol{{Name: "roundrobin"}}
	if _, err := c.JoinGroup(context.Background(), other); !errors.Is(err, group.ErrInconsistentGroupProtocol) {
		t.Fatalf("member without a common protocol: %v", err)
	}
	tp := func(topic string, p int32, off int64) engine.OffsetCommit {
		return engine.OffsetCommit{TopicPartition: engine.TopicPartition{Topic: topic, Partition: p}, Offset: off, LeaderEpoch: -1}
	}
	errs, err := c.CommitOffsets(group.CommitRequest{Group: "admin", Generation: -1, Offsets: []engine.OffsetCommit{
		tp("orders", 1, 10), tp("nope", 0, 1), tp("orders", 9, 1), tp("orders", 2, -5)}})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], engine.ErrUnknownTopic) || !errors.Is(errs[2], engine.ErrUnknownPartition) || !errors.Is(errs[3], engine.ErrInvalidOffset) {
		t.Fatalf("per-partition errors: %v", errs)
	}
	offs, _ := e.FetchOffsets("admin")
	if len(offs) != 1 || offs[engine.TopicPartition{Topic: "orders", Partition: 1}].Offset != 10 {
		t.Fatalf("stored %v", offs)
	}
	if _, err := c.CommitOffsets(group.CommitRequest{Group: "", Generation: -1}); !errors.Is(err, group.ErrInvalidGroupID) {
		t.Fatalf("commit to empty group id: %v", err)
	}
}

func TestInitialDelayAndOffsetExpiry(t *testing.T) {
	c, clk, e := newCoordinator(t, 3*time.Second)
	a := newMember(t, c)
	ch := join(c, joinReq(a, ""))
	waitPreparing(t, c, 1)
	c.Tick()
	select {
	case j := <-ch:
		t.Fatalf("join completed inside the initial delay: %+v", j)
	default:
	}
	clk.advance(3 * time.Second)
	if r := waitJoin(t, c, ch); r.err != nil || r.res.Generation != 1 {
		t.Fatalf("%+v %v", r.res, r.err)
	}
	if _, err := c.LeaveGroup("g", []group.LeaveMember{{MemberID: a}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitOffsets(group.CommitRequest{Group: "g", Generation: -1, Offsets: []engine.OffsetCommit{
		{TopicPartition: engine.TopicPartition{Topic: "orders"}, Offset: 3, LeaderEpoch: -1}}}); err != nil {
		t.Fatal(err)
	}
	// The engine stamps commits with the wall clock; the coordinator's
	// clock is far behind it, so only the empty-since time counts here.
	clk.t = time.Now().Add(59 * time.Minute)
	if got, err := c.ExpireOffsets(); err != nil || len(got) != 0 {
		t.Fatalf("expired early: %v %v", got, err)
	}
	clk.advance(2 * time.Minute)
	if got, err := c.ExpireOffsets(); err != nil || len(got) != 1 {
		t.Fatalf("expired %v %v", got, err)
	}
	if offs, _ := e.FetchOffsets("g"); len(offs) != 0 {
		t.Fatalf("offsets after expiry: %v", offs)
	}
}

// TestKeepsCopiesOfRequestBytes: the coordinator must not keep the caller's
// byte slices (a server recycles its request buffers): overwriting them
// after the calls leaves the group's subscription and assignment intact.
func TestKeepsCopiesOfRequestBytes(t *testing.T) {
	c, _, _ := newCoordinator(t, -1)
	id := newMember(t, c)
	req := joinReq(id, "")
	meta := []byte("subscription")
	req.Protocols = []group.Protocol{{Name: "range", Metadata: meta}}
	j := waitJoin(t, c, join(c, req))
	if j.err != nil {
		t.Fatal(j.err)
	}
	assignment := []byte("assignment")
	if _, err := c.SyncGroup(context.Background(), group.SyncRequest{Group: "g", Generation: j.res.Generation, MemberID: id,
		Assignments: []group.MemberAssignment{{MemberID: id, Assignment: assignment}}}); err != nil {
		t.Fatal(err)
	}
	copy(meta, "XXXXXXXXXXXX")
	copy(assignment, "YYYYYYYYYY")
	d := describe(t, c)
	if len(d.Members) != 1 || string(d.Members[0].Metadata) != "subscription" || string(d.Members[0].Assignment) != "assignment" {
		t.Fatalf("the group kept the caller's bytes: %+v", d.Members)
	}
}
