package replica

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/request"
)

// Defaults, Kafka's.
const (
	// DefaultLagMax is replica.lag.time.max.ms.
	DefaultLagMax = 30 * time.Second
	// DefaultFetchWait is replica.fetch.wait.max.ms.
	DefaultFetchWait = 500 * time.Millisecond
	// DefaultFetchMaxBytes is replica.fetch.max.bytes (per partition);
	// DefaultFetchResponseMaxBytes is replica.fetch.response.max.bytes.
	DefaultFetchMaxBytes         = 1 << 20
	DefaultFetchResponseMaxBytes = 10 << 20
	// DefaultFetchBackoff is replica.fetch.backoff.ms.
	DefaultFetchBackoff = time.Second
	// proposeTimeout bounds an ISR change.
	proposeTimeout = 10 * time.Second
)

// Config configures a Manager.
type Config struct {
	NodeID int32
	Engine *engine.Engine
	// State is the metadata image this node applies.
	State *metadata.State
	// Propose proposes a record through the metadata quorum and returns
	// once this node applied it, with its Result (a PartitionChanges
	// record's answers each change in Result.Codes); the error is the
	// Result's refusal, or why the proposal failed.
	Propose func(ctx context.Context, rec metadata.Record) (metadata.Result, error)
	// Listener is the name of the Kafka-protocol listener in the brokers'
	// registrations (inter.broker.listener.name): followers fetch there.
	Listener string
	// Registered reports whether this broker process has registered. A
	// restarted process replays its predecessor's image, in which it may
	// lead; it takes no leadership up before it registered (and the
	// controller moved the old one's on). Nil means always.
	Registered func() bool
	// LagMax is replica.lag.time.max.ms; FetchWait replica.fetch.wait.max.ms;
	// FetchBackoff replica.fetch.backoff.ms.
	LagMax       time.Duration
	FetchWait    time.Duration
	FetchBackoff time.Duration
	Logger       *slog.Logger
}

func (c *Config) setDefaults() {
	if c.LagMax <= 0 {
		c.LagMax = DefaultLagMax
	}
	if c.FetchWait <= 0 {
		c.FetchWait = DefaultFetchWait
	}
	if c.FetchBackoff <= 0 {
		c.FetchBackoff = DefaultFetchBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// key names a partition.
type key struct {
	topic     string
	partition int32
}

// partState is one local replica's role. A leader's state lives as long as
// its leader epoch; the image only updates its ISR.
type partState struct {
	key    key
	p      *engine.Partition
	leader bool
	epoch  int32 // the leader epoch this role belongs to
	// leaderID is the leader's broker id (this node when leader).
	leaderID int32
	// isrLen mirrors len(isr) for the produce path's min.insync check.
	isrLen atomic.Int32

	mu             sync.Mutex
	replicas       []int32
	isr            []int32
	partitionEpoch int32
	// proposed is an ISR this leader proposed and may already be the
	// quorum's: until the image shows the outcome, the high watermark
	// counts its members too (Kafka's maximal ISR), so no write is
	// acknowledged that a member the quorum already counts lacks.
	proposed        []int32
	proposedAtEpoch int32
	// isrWant is the ISR this leader last proposed, for the reason
	// isrReason (isrCaughtUp, isrLagging), until the image moves: an ISR
	// change the image shows is this leader's when it is isrWant, the
	// controller's otherwise.
	isrWant   []int32
	isrReason string
	followers map[int32]*followerState // leader only
	proposing bool
	// epochStart is the log end when this leadership began: a follower
	// joins the ISR only once it holds everything of earlier epochs.
	epochStart int64
	resigning  bool
}

// followerState is what a leader knows of one follower.
type followerState struct {
	leo          int64 // -1 until it fetches
	logStart     int64 // its own log start, from its fetches; -1 until one says
	lastCaughtUp time.Time
	lastFetch    time.Time
	// lastFetchLeaderEnd is the leader's log end at the last fetch:
	// Kafka's rule counts a follower as caught up at that fetch's time if
	// its next fetch reaches it.
	lastFetchLeaderEnd int64
}

// Manager runs the broker's replicas. The cluster member answers the
// request layer's request.Replication with it (and checks
// min.insync.replicas itself, from the image in log order).
type Manager struct {
	cfg    Config
	logger *slog.Logger

	// parts is every local replica's role, by topic (sync.go).
	parts  atomic.Pointer[map[string]*topicRoles]
	signal chan struct{}
	// pending is what changed since the last sync (sync.go).
	pending pendingSync
	// follow is the partitions each leader has this node follow; the
	// run goroutine's alone.
	follow map[int32][]*partState

	fetchersMu sync.Mutex
	fetchers   map[int32]*fetcher

	isr isrQueue // ISR changes waiting to be proposed (isr.go)

	// roleBurst and isrBurst log leader_change and isr_change (events.go).
	roleBurst, isrBurst *eventBurst

	ctx  context.Context
	stop context.CancelFunc
	// bg counts the background goroutines; spawnMu and closed keep a
	// request goroutine from adding one while Close waits.
	bg      sync.WaitGroup
	spawnMu sync.Mutex
	closed  bool
}

// spawn runs fn in the background unless the manager is closing.
func (m *Manager) spawn(fn func()) {
	m.spawnMu.Lock()
	defer m.spawnMu.Unlock()
	if m.closed {
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		fn()
	}()
}

// New returns a Manager; Start runs it.
func New(cfg Config) *Manager {
	cfg.setDefaults()
	m := &Manager{cfg: cfg, logger: cfg.Logger.With("component", "replica"),
		signal: make(chan struct{}, 1), fetchers: map[int32]*fetcher{}}
	m.isr.wake = make(chan struct{}, 1)
	m.roleBurst = newEventBurst(m.logger, "leader_change", "leadership changed for many partitions")
	m.isrBurst = newEventBurst(m.logger, "isr_change", "ISR changed for many partitions")
	m.ctx, m.stop = context.WithCancel(context.Background())
	empty := map[string]*topicRoles{}
	m.parts.Store(&empty)
	m.follow = map[int32][]*partState{}
	return m
}

// Start begins following the image.
func (m *Manager) Start() {
	m.spawn(m.run)
	m.spawn(m.shrinkLoop)
	m.spawn(m.isrLoop)
	m.ImageChanged()
}

// Close stops every fetcher and loop.
func (m *Manager) Close() {
	m.spawnMu.Lock()
	m.closed = true
	m.spawnMu.Unlock()
	m.stop()
	m.bg.Wait()
	m.roleBurst.close()
	m.isrBurst.close()
}

// becomeLeader starts a leadership: batches get the new epoch, and every
// follower starts as caught up now (Kafka's rule), unknown log end.
func (m *Manager) becomeLeader(ps *partState, mp metadata.Partition, now time.Time) {
	ps.p.SetLeaderEpoch(mp.LeaderEpoch)
	ps.followers = map[int32]*followerState{}
	ps.epochStart = ps.p.LogEndOffset()
}

// resign hands a led partition whose local replica went offline (a
// storage error) to another live ISR member, leaving the ISR; with none,
// the partition goes leaderless until this broker's replica comes back
// (a restart), as Kafka does with an offline log directory.
func (m *Manager) resign(ps *partState) {
	ps.mu.Lock()
	if ps.resigning {
		ps.mu.Unlock()
		return
	}
	ps.resigning = true
	isr := slices.DeleteFunc(slices.Clone(ps.isr), func(r int32) bool { return r == m.cfg.NodeID })
	pe := ps.partitionEpoch
	ps.mu.Unlock()
	leader := metadata.NoLeader
	for _, r := range ps.replicas {
		if slices.Contains(isr, r) {
			if b, ok := m.cfg.State.Broker(r); ok && !b.Fenced {
				leader = r
				break
			}
		}
	}
	change := metadata.PartitionChange{Topic: ps.key.topic, Partition: ps.key.partition,
		LeaderEpoch: ps.epoch, PartitionEpoch: &pe, Leader: &leader}
	if leader != metadata.NoLeader {
		change.ISR = isr
	}
	m.logger.Error("local replica offline after a storage error: handing leadership over", "topic", ps.key.topic,
		"partition", ps.key.partition, "new_leader", leader)
	m.spawn(func() {
		ctx, cancel := context.WithTimeout(m.ctx, proposeTimeout)
		defer cancel()
		if _, err := m.cfg.Propose(ctx, change); err != nil {
			m.logger.Warn("handing leadership over failed", "topic", ps.key.topic, "partition", ps.key.partition, "err", err)
			ps.mu.Lock()
			ps.resigning = false
			ps.mu.Unlock()
		}
	})
}

// StorageFailed is told when a local replica goes offline; the manager
// re-reads its roles and hands over what it led.
func (m *Manager) StorageFailed() { m.ImageChanged() }

// highWatermarkLocked is the smallest log end in the ISR, or -1 while a
// member's is unknown.
func (m *Manager) highWatermarkLocked(ps *partState) int64 {
	hw := ps.p.LocalEnd()
	for _, isr := range [2][]int32{ps.isr, ps.proposed} {
		for _, r := range isr {
			if r == m.cfg.NodeID {
				continue
			}
			f := ps.followers[r]
			if f == nil || f.leo < 0 {
				return -1
			}
			hw = min(hw, f.leo)
		}
	}
	return hw
}

// advance moves a led partition's high watermark as far as the ISR allows.
func (m *Manager) advance(ps *partState) {
	ps.mu.Lock()
	hw := m.highWatermarkLocked(ps)
	ps.mu.Unlock()
	if hw >= 0 {
		ps.p.SetHighWatermark(hw)
	}
}

// current returns the partition's role when the manager has caught up
// with the leadership the request layer acts on (the epoch the partition
// stamps), nil while it lags behind the image.
func (m *Manager) current(p *engine.Partition) *partState {
	ps := m.lookup(p.Topic(), p.ID())
	if ps == nil || ps.p != p || !ps.leader || ps.epoch != p.LeaderEpoch() {
		return nil
	}
	return ps
}

// Appended is request.Replication's: see there.
func (m *Manager) Appended(p *engine.Partition) {
	if ps := m.current(p); ps != nil {
		m.advance(ps)
	}
}

// AwaitReplicated is request.Replication's: see there.
func (m *Manager) AwaitReplicated(ctx context.Context, p *engine.Partition, end int64, epoch int32, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		ch := p.Changed()
		// The high watermark is read before the epoch is checked: a
		// leader that lost its leadership stamps -1 before it truncates
		// and fetches the new leader's records, so a high watermark that
		// already covers those is always seen with the epoch gone, and
		// never taken for the replication of this append.
		hw := p.HighWatermark()
		if now := p.LeaderEpoch(); now < 0 || now != epoch {
			return request.Refuse(request.ErrNotLeader, fmt.Sprintf("%s-%d: leadership moved before the write was replicated", p.Topic(), p.ID()))
		}
		if hw >= end {
			// Kafka's rule: replicated, but to fewer in-sync replicas than
			// min.insync.replicas asks is NOT_ENOUGH_REPLICAS_AFTER_APPEND.
			if ps := m.current(p); ps != nil {
				if n := int(ps.isrLen.Load()); n < p.MinInsyncReplicas() {
					return request.Refuse(request.ErrNotEnoughReplicasAfterAppend,
						fmt.Sprintf("%s-%d: replicated to an ISR of %d, min.insync.replicas is %d", p.Topic(), p.ID(), n, p.MinInsyncReplicas()))
				}
			}
			return nil
		}
		if p.Offline() {
			return fmt.Errorf("%s-%d: %w", p.Topic(), p.ID(), engine.ErrStorage)
		}
		// ps is nil for a moment after a leadership change, until the
		// manager has caught up with the image: keep waiting then.
		if ps := m.current(p); ps != nil {
			if n := int(ps.isrLen.Load()); n < p.MinInsyncReplicas() {
				return request.Refuse(request.ErrNotEnoughReplicasAfterAppend,
					fmt.Sprintf("%s-%d: ISR fell to %d, min.insync.replicas is %d", p.Topic(), p.ID(), n, p.MinInsyncReplicas()))
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s-%d: not replicated to the ISR within %v: %w", p.Topic(), p.ID(), timeout, context.DeadlineExceeded)
		}
		// Wake at least every 100 ms to see leadership and ISR changes,
		// which do not move the high watermark.
		wait := min(left, 100*time.Millisecond)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ch:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// FollowerFetched is request.Replication's: see there.
func (m *Manager) FollowerFetched(p *engine.Partition, replica int32, offset, logStart int64) error {
	ps := m.lookup(p.Topic(), p.ID())
	if ps == nil || !ps.leader || ps.p != p {
		return request.ErrNotLeader
	}
	now := time.Now()
	leaderEnd := p.LogEndOffset()
	ps.mu.Lock()
	f := ps.followers[replica]
	if f == nil {
		ps.mu.Unlock()
		return request.Refuse(request.ErrNotLeader, fmt.Sprintf("%s-%d: broker %d is not a replica", p.Topic(), p.ID(), replica))
	}
	if logStart >= 0 {
		f.logStart = logStart
	}
	if offset > leaderEnd {
		// A divergent tail the follower has yet to truncate: the read
		// refuses it (OFFSET_OUT_OF_RANGE), and it asks where to cut.
		ps.mu.Unlock()
		return nil
	}
	if offset >= leaderEnd {
		f.lastCaughtUp = now
	} else if f.lastFetchLeaderEnd >= 0 && offset >= f.lastFetchLeaderEnd {
		f.lastCaughtUp = f.lastFetch
	}
	f.lastFetchLeaderEnd, f.lastFetch, f.leo = leaderEnd, now, offset
	hw := m.highWatermarkLocked(ps)
	var grow []int32
	if !ps.proposing && !slices.Contains(ps.isr, replica) && offset >= max(p.HighWatermark(), hw) && offset >= ps.epochStart {
		grow = append(slices.Clone(ps.isr), replica)
		ps.proposing = true
		ps.proposed, ps.proposedAtEpoch = grow, ps.partitionEpoch
		ps.isrWant, ps.isrReason = grow, isrCaughtUp
	}
	pe := ps.partitionEpoch
	ps.mu.Unlock()
	if hw >= 0 {
		p.SetHighWatermark(hw)
	}
	if grow != nil {
		m.logger.Debug("proposing an ISR expansion", "topic", ps.key.topic, "partition", ps.key.partition, "add", replica, "isr", grow)
		m.proposeISR(ps, pe, grow)
	}
	return nil
}

// AwaitLowWatermark is request.Replication's: see there. Followers report
// their log start in every fetch, which a leader's move of its own
// reaches in the next fetch answer (at most replica.fetch.wait.max.ms
// later), so it polls rather than adding a wake-up to the fetch path.
func (m *Manager) AwaitLowWatermark(ctx context.Context, p *engine.Partition, offset int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	var tick *time.Ticker
	for {
		ps := m.lookup(p.Topic(), p.ID())
		if ps == nil || !ps.leader || ps.p != p {
			return -1, request.Refuse(request.ErrNotLeader, fmt.Sprintf("%s-%d: leadership moved before the replicas deleted the records", p.Topic(), p.ID()))
		}
		low := p.LogStartOffset()
		ps.mu.Lock()
		for _, r := range ps.isr {
			if f := ps.followers[r]; f != nil {
				low = min(low, f.logStart) // -1 until the follower says
			}
		}
		ps.mu.Unlock()
		if low >= offset {
			return low, nil
		}
		if !time.Now().Before(deadline) {
			return -1, fmt.Errorf("%s-%d: the in-sync replicas' low watermark is %d, not yet %d: %w", p.Topic(), p.ID(), low, offset, context.DeadlineExceeded)
		}
		if tick == nil {
			tick = time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
}

// shrinkLoop takes lagging followers out of the ISRs this node leads,
// checking every half replica.lag.time.max.ms as Kafka does. It also asks
// for a full sync each time: syncs between follow the topics that changed
// only, and a replica that was not ready then (its local storage not yet
// created) is picked up here.
func (m *Manager) shrinkLoop() {
	t := time.NewTicker(m.cfg.LagMax / 2)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.ImageChanged()
		now := time.Now()
		for _, ps := range m.allParts() {
			if !ps.leader {
				continue
			}
			ps.mu.Lock()
			var keep, out []int32
			for _, r := range ps.isr {
				if f := ps.followers[r]; r != m.cfg.NodeID && f != nil && now.Sub(f.lastCaughtUp) > m.cfg.LagMax {
					out = append(out, r)
					continue
				}
				keep = append(keep, r)
			}
			propose := len(out) > 0 && len(keep) > 0 && !ps.proposing
			if propose {
				ps.proposing = true
				ps.isrWant, ps.isrReason = keep, isrLagging
			}
			pe := ps.partitionEpoch
			ps.mu.Unlock()
			if propose {
				m.logger.Debug("proposing an ISR shrink: followers lag", "topic", ps.key.topic, "partition", ps.key.partition,
					"remove", out, "isr", keep, "replica_lag_time_max", m.cfg.LagMax)
				m.proposeISR(ps, pe, keep)
			}
		}
	}
}
