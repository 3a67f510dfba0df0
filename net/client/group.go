package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

// TopicPartition names one partition of a topic.
type TopicPartition = assign.TopicPartition

// Sentinel errors of group consumers.
var (
	// ErrNoOffset: a partition has no committed offset and AutoOffsetReset
	// is "none".
	ErrNoOffset = errors.New("client: no committed offset and auto.offset.reset=none")
	// ErrNotMember: the group consumer holds no generation (it has not
	// joined yet, or has just lost its membership), so it cannot commit.
	ErrNotMember = errors.New("client: not a member of the group right now")
)

// GroupConfig configures a GroupConsumer, with Kafka's consumer config
// names and defaults. Zero fields take the defaults noted.
type GroupConfig struct {
	// GroupID is group.id; required.
	GroupID string
	// Topics to subscribe to; required.
	Topics []string
	// InstanceID is group.instance.id: set it to make the member static, so
	// that a restart within SessionTimeout gets the same partitions back
	// without a rebalance. A static member does not leave the group when
	// it closes.
	InstanceID string
	// ClientID names the member in DescribeGroups ("sluice").
	ClientID string
	// SessionTimeout is session.timeout.ms (45 s): a member that sends no
	// heartbeat for this long is removed.
	SessionTimeout time.Duration
	// HeartbeatInterval is heartbeat.interval.ms (3 s).
	HeartbeatInterval time.Duration
	// MaxPollInterval is max.poll.interval.ms (5 min): a member that does
	// not call Poll for this long leaves the group (its partitions go to
	// others) and rejoins at its next Poll. It is also the rebalance
	// timeout the member asks for.
	MaxPollInterval time.Duration
	// AutoOffsetReset is auto.offset.reset: where a partition without a
	// committed offset starts: "latest" (default), "earliest" or "none"
	// (Poll fails with ErrNoOffset).
	AutoOffsetReset string
	// DisableAutoCommit turns off enable.auto.commit. With auto-commit on,
	// positions are committed every AutoCommitInterval from Poll, before
	// partitions are revoked, and on Close.
	DisableAutoCommit  bool
	AutoCommitInterval time.Duration // auto.commit.interval.ms (5 s)
	// Assignors are partition.assignment.strategy, in order of preference
	// ([assign.CooperativeSticky]). The group uses the cooperative protocol
	// (members keep fetching through rebalances) when every assignor is
	// cooperative, and the eager one (everything is revoked before a
	// rebalance) otherwise.
	Assignors []assign.Assignor
	// OnPartitionsRevoked is called from Poll (or Close) before partitions
	// leave the member: the place to commit what was processed. Under the
	// cooperative protocol it gets only the partitions that move.
	OnPartitionsRevoked func(ctx context.Context, partitions []TopicPartition)
	// OnPartitionsAssigned is called from Poll with the partitions added,
	// after their positions are set (a Seek in it overrides them).
	OnPartitionsAssigned func(ctx context.Context, partitions []TopicPartition)
	// OnPartitionsLost is called from Poll when the member's generation
	// ended without a revocation (session timeout, fencing): the partitions
	// may already belong to others, so committing is pointless. When nil,
	// OnPartitionsRevoked is called instead, as in Kafka.
	OnPartitionsLost func(ctx context.Context, partitions []TopicPartition)
	// Consumer configures the fetches.
	Consumer ConsumerConfig
	// MetadataMaxAge is metadata.max.age.ms (5 min): how often the group's
	// leader looks at the subscribed topics' partition counts. When one
	// has changed since its last assignment (partitions added, or the
	// topic created or deleted), it starts a rebalance, so that new
	// partitions get an owner, as Kafka's consumer does.
	MetadataMaxAge time.Duration
}

func (c *GroupConfig) setDefaults() {
	if c.MetadataMaxAge <= 0 {
		c.MetadataMaxAge = 5 * time.Minute
	}
	if c.ClientID == "" {
		c.ClientID = "sluice"
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 45 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.MaxPollInterval <= 0 {
		c.MaxPollInterval = 5 * time.Minute
	}
	if c.AutoOffsetReset == "" {
		c.AutoOffsetReset = "latest"
	}
	if c.AutoCommitInterval <= 0 {
		c.AutoCommitInterval = 5 * time.Second
	}
	if len(c.Assignors) == 0 {
		c.Assignors = []assign.Assignor{assign.CooperativeSticky()}
	}
}

func (c *GroupConfig) validate() error {
	switch {
	case c.GroupID == "":
		return errors.New("client: group consumer: GroupID is required")
	case len(c.Topics) == 0:
		return errors.New("client: group consumer: no topics to subscribe to")
	case c.AutoOffsetReset != "latest" && c.AutoOffsetReset != "earliest" && c.AutoOffsetReset != "none":
		return fmt.Errorf("client: group consumer: auto.offset.reset %q: want latest, earliest or none", c.AutoOffsetReset)
	case c.HeartbeatInterval >= c.SessionTimeout:
		return fmt.Errorf("client: group consumer: heartbeat interval %v must be below the session timeout %v", c.HeartbeatInterval, c.SessionTimeout)
	}
	for _, a := range c.Assignors {
		if a == nil {
			return errors.New("client: group consumer: nil assignor")
		}
	}
	return nil
}

// GroupConsumer is a member of a consumer group: the group's members share
// the partitions of its topics, each partition read by one member at a
// time, and positions are committed to the group so that a partition's
// next owner resumes where the last one stopped.
//
// Poll drives everything the application sees: it joins the group, applies
// new assignments (calling the rebalance callbacks) and fetches. Heartbeats
// run on their own goroutine, so a long Poll or long processing between
// Polls (up to MaxPollInterval) keeps the membership. Membership requests
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) use a connection of their
// own, because the broker holds a JoinGroup until the rebalance ends;
// commits go on the client's shared connection and fetches on the
// consumer's.
//
// Call Poll from one goroutine; the commit methods are safe from any.
type GroupConsumer struct {
	cl          *Client
	cfg         GroupConfig
	k           *Consumer
	coord       *connPool // membership requests only
	cooperative bool

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	hbDone chan struct{}
	mdDone chan struct{}
	async  chan asyncCommit
	asyncW sync.WaitGroup

	// results carries the outcome of a join round to Poll.
	results chan joinRound

	mu         sync.Mutex
	coordAddr  string
	memberID   string
	generation int32
	joining    bool  // a join round was started and Poll has not taken its outcome
	inJoin     bool  // the round is waiting in JoinGroup or SyncGroup
	rejoin     bool  // the group is rebalancing: join again
	lost       bool  // the generation ended under us: partitions lost
	fatal      error // fenced: the consumer cannot go on
	lastPoll   time.Time
	closed     bool
	// ownedSnap is owned, for the commit methods (which may run inside a
	// callback, under pollMu).
	ownedSnap []TopicPartition
	// noOffset are owned partitions without a position under
	// auto.offset.reset=none: Poll fails until they are sought.
	noOffset    map[TopicPartition]bool
	asyncClosed bool
	// assigned is, while this member leads the group, the partition
	// count of every subscribed topic its last assignment used (0 for a
	// topic that did not exist); nil otherwise. See metadataLoop.
	assigned map[string]int32

	// Poll's own state (pollMu).
	pollMu     sync.Mutex
	owned      map[TopicPartition]bool
	ownedGen   int32
	unplaced   []TopicPartition // owned, position not set yet
	lastCommit time.Time
}

// NewGroupConsumer makes a group member. It joins at the first Poll.
func (cl *Client) NewGroupConsumer(cfg GroupConfig) (*GroupConsumer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &GroupConsumer{
		cl:          cl,
		cfg:         cfg,
		k:           cl.NewConsumer(cfg.Consumer),
		coord:       newConnPool(cl.cfg.DialTimeout, cl.logger),
		cooperative: true,
		hbDone:      make(chan struct{}),
		mdDone:      make(chan struct{}),
		async:       make(chan asyncCommit, 64),
		results:     make(chan joinRound, 1),
		generation:  -1,
		rejoin:      true,
		lastPoll:    time.Now(),
		owned:       map[TopicPartition]bool{},
		ownedGen:    -1,
		lastCommit:  time.Now(),
	}
	for _, a := range cfg.Assignors {
		g.cooperative = g.cooperative && a.Cooperative()
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	if err := cl.adopt(g, g.abort); err != nil {
		g.abort()
		return nil, err
	}
	go g.heartbeatLoop()
	go g.metadataLoop()
	g.asyncW.Add(1)
	go g.asyncLoop()
	return g, nil
}

// Assignment returns the partitions the member owns now, sorted.
func (g *GroupConsumer) Assignment() []TopicPartition {
	g.pollMu.Lock()
	defer g.pollMu.Unlock()
	return g.ownedList()
}

func (g *GroupConsumer) ownedList() []TopicPartition {
	out := make([]TopicPartition, 0, len(g.owned))
	for p := range g.owned {
		out = append(out, p)
	}
	slices.SortFunc(out, assign.Compare)
	return out
}

// Seek moves an owned partition's position: the next Poll reads from
// offset (and the next commit commits it).
func (g *GroupConsumer) Seek(p TopicPartition, offset int64) {
	g.mu.Lock()
	delete(g.noOffset, p)
	g.mu.Unlock()
	g.k.Seek(p.Topic, p.Partition, offset)
}

// Position is the offset of the next record Poll returns for a partition,
// -1 if the member does not own it.
func (g *GroupConsumer) Position(p TopicPartition) int64 { return g.k.Position(p.Topic, p.Partition) }

// Generation returns the member id and generation the member holds (-1
// before it has joined).
func (g *GroupConsumer) Generation() (memberID string, generation int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.memberID, g.generation
}

// Poll takes part in the group (joining, rebalancing, calling the rebalance
// callbacks) and fetches from the partitions the member owns. It returns
// the records read, possibly none (when the member owns nothing, or nothing
// arrived within the fetch wait). It fails with ErrClosed after Close, with
// protocol.ErrFencedInstanceID when another process took the member's
// group.instance.id, with ErrNoOffset under auto.offset.reset=none, or
// with ctx's error.
func (g *GroupConsumer) Poll(ctx context.Context) ([]ConsumerRecord, error) {
	g.pollMu.Lock()
	defer g.pollMu.Unlock()
	g.mu.Lock()
	g.lastPoll = time.Now()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := g.maintain(ctx); err != nil {
		return nil, err
	}
	g.mu.Lock()
	unset := len(g.noOffset)
	g.mu.Unlock()
	if unset > 0 {
		return nil, fmt.Errorf("group %s: %d partitions have no position: %w", g.cfg.GroupID, unset, ErrNoOffset)
	}
	if len(g.owned) == 0 {
		// Nothing to fetch: wait for a rebalance to end, or a fetch wait.
		t := time.NewTimer(g.k.cfg.MaxWait)
		defer t.Stop()
		select {
		case r := <-g.results:
			g.results <- r // maintain takes it
			return nil, g.maintain(ctx)
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.ctx.Done():
			return nil, ErrClosed
		}
	}
	if !g.cfg.DisableAutoCommit && time.Since(g.lastCommit) >= g.cfg.AutoCommitInterval {
		// The positions now are past the records earlier Polls returned,
		// which the caller has processed by calling Poll again.
		g.lastCommit = time.Now()
		if offs := g.positions(); len(offs) > 0 {
			g.CommitAsync(offs, nil)
		}
	}
	recs, err := g.k.Poll(ctx)
	if err != nil {
		var oor *OffsetOutOfRangeError
		if errors.As(err, &oor) && g.cfg.AutoOffsetReset != "none" && g.owned[TopicPartition{Topic: oor.Topic, Partition: oor.Partition}] {
			// auto.offset.reset applies to positions that fell out of the
			// log too.
			if rerr := g.reset(ctx, []TopicPartition{{Topic: oor.Topic, Partition: oor.Partition}}); rerr != nil {
				return nil, rerr
			}
			return nil, nil
		}
		return nil, err
	}
	return recs, nil
}

// maintain does the group work due before a fetch: lost partitions,
// finished join rounds, and starting a new one.
func (g *GroupConsumer) maintain(ctx context.Context) error {
	g.mu.Lock()
	fatal, lost := g.fatal, g.lost
	g.lost = false
	g.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if lost {
		g.loseAll(ctx)
	}
	if err := g.place(ctx); err != nil {
		return err
	}
	select {
	case r := <-g.results:
		if err := g.finishRound(ctx, r); err != nil {
			return err
		}
	default:
	}
	g.mu.Lock()
	start := g.rejoin && !g.joining && !g.closed
	g.mu.Unlock()
	if start {
		// The subscription names what the member owns even under the
		// eager protocol, where it is given up first: the sticky assignor
		// keeps it in place (Kafka's sticky assignor does the same through
		// its user data).
		sub := g.subscription()
		if !g.cooperative && len(g.owned) > 0 {
			g.revoke(ctx, g.ownedList())
		}
		g.mu.Lock()
		g.rejoin, g.joining, g.inJoin = false, true, true
		g.mu.Unlock()
		go g.joinRound(sub)
	}
	return nil
}

// finishRound applies the outcome of a join round.
func (g *GroupConsumer) finishRound(ctx context.Context, r joinRound) error {
	g.mu.Lock()
	g.joining = false
	if r.err != nil {
		switch {
		case errors.Is(r.err, protocol.ErrFencedInstanceID):
			g.fatal = fmt.Errorf("group %s: %w", g.cfg.GroupID, r.err)
		case errors.Is(r.err, protocol.ErrUnknownMemberID):
			g.memberID, g.generation = "", -1
			g.lost = true
		case errors.Is(r.err, protocol.ErrIllegalGeneration):
			// The member id is still good: only the generation is over.
			g.generation = -1
			g.lost = true
		}
		g.rejoin = !g.closed
		fatal := g.fatal
		g.mu.Unlock()
		g.cl.logger.Debug("join round failed", "group", g.cfg.GroupID, "err", r.err)
		if fatal != nil {
			return fatal
		}
		if errors.Is(r.err, ErrClosed) {
			return ErrClosed
		}
		if g.lostPending() {
			g.loseAll(ctx)
		}
		return nil
	}
	g.mu.Unlock()
	next := map[TopicPartition]bool{}
	for _, tps := range r.assignment.Partitions {
		for _, p := range tps.Partitions {
			next[TopicPartition{Topic: tps.Topic, Partition: p}] = true
		}
	}
	var revoked, added []TopicPartition
	for p := range g.owned {
		if !next[p] {
			revoked = append(revoked, p)
		}
	}
	for p := range next {
		if !g.owned[p] {
			added = append(added, p)
		}
	}
	slices.SortFunc(revoked, assign.Compare)
	slices.SortFunc(added, assign.Compare)
	if len(revoked) > 0 {
		// Cooperative: give up what moves, then rejoin so that the next
		// round can hand it to its new owner.
		g.revoke(ctx, revoked)
		g.mu.Lock()
		g.rejoin = true
		g.mu.Unlock()
	}
	g.ownedGen = r.generation
	for _, p := range added {
		g.owned[p] = true
	}
	g.snapshotOwned()
	// A partition is fetched only once its position is set (Seek assigns
	// it to the fetcher), so a failure here never reads from a wrong
	// offset: maintain tries again at the next Poll.
	g.unplaced = append(g.unplaced, added...)
	g.cl.logger.Info("partitions assigned", "group", g.cfg.GroupID, "generation", r.generation,
		"member", r.memberID, "added", len(added), "revoked", len(revoked), "owned", len(g.owned))
	if err := g.place(ctx); err != nil {
		return err
	}
	if g.cfg.OnPartitionsAssigned != nil {
		g.cfg.OnPartitionsAssigned(ctx, added)
	}
	return nil
}

// place sets the positions of the owned partitions that have none yet.
func (g *GroupConsumer) place(ctx context.Context) error {
	if len(g.unplaced) == 0 {
		return nil
	}
	err := g.setPositions(ctx, g.unplaced)
	if err == nil || errors.Is(err, ErrNoOffset) {
		g.unplaced = nil
	}
	return err
}

func (g *GroupConsumer) lostPending() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.lost
	g.lost = false
	return l
}

// revoke gives partitions up: their positions are committed (auto-commit),
// the callback runs, and fetching stops.
func (g *GroupConsumer) revoke(ctx context.Context, ps []TopicPartition) {
	if !g.cfg.DisableAutoCommit {
		offs := map[TopicPartition]int64{}
		for _, p := range ps {
			if pos := g.k.Position(p.Topic, p.Partition); pos >= 0 {
				offs[p] = pos
			}
		}
		if err := g.CommitOffsets(ctx, offs); err != nil {
			g.cl.logger.Warn("commit before revocation failed", "group", g.cfg.GroupID, "err", err)
		}
	}
	if g.cfg.OnPartitionsRevoked != nil {
		g.cfg.OnPartitionsRevoked(ctx, ps)
	}
	g.drop(ps)
}

// loseAll drops every partition without committing: the generation they
// belonged to is over.
func (g *GroupConsumer) loseAll(ctx context.Context) {
	ps := g.ownedList()
	if len(ps) == 0 {
		return
	}
	g.cl.logger.Warn("partitions lost", "group", g.cfg.GroupID, "partitions", len(ps))
	switch {
	case g.cfg.OnPartitionsLost != nil:
		g.cfg.OnPartitionsLost(ctx, ps)
	case g.cfg.OnPartitionsRevoked != nil:
		g.cfg.OnPartitionsRevoked(ctx, ps)
	}
	g.drop(ps)
}

func (g *GroupConsumer) drop(ps []TopicPartition) {
	for _, p := range ps {
		delete(g.owned, p)
		g.k.Unassign(p.Topic, p.Partition)
	}
	g.unplaced = slices.DeleteFunc(g.unplaced, func(p TopicPartition) bool { return !g.owned[p] })
	g.snapshotOwned()
}

func (g *GroupConsumer) snapshotOwned() {
	snap := g.ownedList()
	g.mu.Lock()
	g.ownedSnap = snap
	for p := range g.noOffset {
		if !g.owned[p] {
			delete(g.noOffset, p)
		}
	}
	g.mu.Unlock()
}

// positions snapshots the positions of the owned partitions.
func (g *GroupConsumer) positions() map[TopicPartition]int64 {
	offs := make(map[TopicPartition]int64, len(g.owned))
	for p := range g.owned {
		if pos := g.k.Position(p.Topic, p.Partition); pos >= 0 {
			offs[p] = pos
		}
	}
	return offs
}

// subscription is what the member tells the leader: its topics and what it
// owns.
func (g *GroupConsumer) subscription() protocol.ConsumerSubscription {
	sub := protocol.ConsumerSubscription{Topics: slices.Clone(g.cfg.Topics), Generation: -1}
	if len(g.owned) > 0 {
		sub.Generation = g.ownedGen
		byTopic := map[string][]int32{}
		for _, p := range g.ownedList() {
			byTopic[p.Topic] = append(byTopic[p.Topic], p.Partition)
		}
		for _, t := range sortedStrings(byTopic) {
			sub.Owned = append(sub.Owned, protocol.ConsumerTopicPartitions{Topic: t, Partitions: byTopic[t]})
		}
	}
	return sub
}

func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Close leaves the group: with auto-commit it commits the positions, calls
// OnPartitionsRevoked, sends LeaveGroup (not for a static member, whose
// partitions wait for it for SessionTimeout) and closes the connections.
func (g *GroupConsumer) Close() error {
	g.pollMu.Lock()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		g.pollMu.Unlock()
		return nil
	}
	g.closed = true
	memberID, gen := g.memberID, g.generation
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), g.cl.cfg.RequestTimeout)
	defer cancel()
	var err error
	if ps := g.ownedList(); len(ps) > 0 && gen >= 0 {
		g.revoke(ctx, ps)
	}
	g.pollMu.Unlock()
	if memberID != "" && g.cfg.InstanceID == "" {
		err = g.leave(ctx, memberID)
	}
	g.abort()
	g.cl.disown(g)
	return err
}

// abort stops the member without leaving the group, as a crash would: its
// partitions move only when its session times out.
func (g *GroupConsumer) abort() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.coord.closeAll()
	g.k.Close()
	<-g.hbDone
	<-g.mdDone
	g.stopAsync()
}
