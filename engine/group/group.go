package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// Errors the coordinator returns. Each matches a Kafka error code of the
// same name, which a server sends for it.
var (
	ErrInvalidGroupID            = errors.New("invalid group id")
	ErrInvalidSessionTimeout     = errors.New("session timeout outside the broker's range")
	ErrInconsistentGroupProtocol = errors.New("inconsistent group protocol")
	ErrUnknownMemberID           = errors.New("unknown member id")
	ErrMemberIDRequired          = errors.New("member id required: join again with the id given")
	ErrIllegalGeneration         = errors.New("illegal generation")
	ErrRebalanceInProgress       = errors.New("rebalance in progress")
	ErrFencedInstanceID          = errors.New("fenced instance id")
	ErrGroupIDNotFound           = errors.New("group id not found")
	ErrNonEmptyGroup             = errors.New("group is not empty")
	ErrCoordinatorNotAvailable   = errors.New("coordinator not available")
	// ErrNotCoordinator: Config.Owns says another broker coordinates
	// the group; the client is to find its coordinator again.
	ErrNotCoordinator = errors.New("not the group's coordinator")
	// ErrCoordinatorLoadInProgress: Config.Owns says this broker has just
	// become the group's coordinator and is still loading its offsets and
	// members; the client retries.
	ErrCoordinatorLoadInProgress = errors.New("the group coordinator is loading")
)

// Protocol families: which wire protocol drives a group. A group is used by
// one family at a time; a member of the other is refused with
// ErrInconsistentGroupProtocol.
const (
	FamilyNative = "native"
	FamilyKafka  = "kafka"
)

// State is a group's state, named as in Kafka.
type State int

const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Store keeps committed offsets and group states durably; *engine.Engine
// is one.
type Store interface {
	CommitOffsets(group string, commits []engine.OffsetCommit) ([]error, error)
	FetchOffsets(group string) (map[engine.TopicPartition]engine.CommittedOffset, error)
	DeleteGroupOffsets(group string) error
	GroupsWithOffsets() ([]engine.GroupOffsetInfo, error)
	// Group states (see persist.go), opaque to the store.
	PutGroupState(group string, state []byte) error
	DeleteGroupState(group string) error
	GroupStates() (map[string][]byte, error)
}

// Defaults of Config, Kafka's.
const (
	DefaultMinSessionTimeout     = 6 * time.Second
	DefaultMaxSessionTimeout     = 30 * time.Minute
	DefaultInitialRebalanceDelay = 3 * time.Second
	DefaultOffsetsRetention      = 7 * 24 * time.Hour
	DefaultTickInterval          = 50 * time.Millisecond
	DefaultExpiryCheckInterval   = 10 * time.Minute
)

// Config configures a Coordinator. Zero durations take the defaults.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// member may ask for (group.min/max.session.timeout.ms).
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// InitialRebalanceDelay is how long the first rebalance of an empty
	// group waits for more members (group.initial.rebalance.delay.ms).
	// Negative means none.
	InitialRebalanceDelay time.Duration
	// OffsetsRetention is how long an empty group's offsets are kept
	// (offsets.retention.minutes).
	OffsetsRetention time.Duration
	// TickInterval is how often Run advances timers (50 ms);
	// ExpiryCheckInterval how often it looks for expired offsets (a tenth
	// of OffsetsRetention, at most 10 minutes).
	TickInterval, ExpiryCheckInterval time.Duration
	// Owns says whether this broker coordinates a group: nil when it
	// does, else an error wrapping ErrNotCoordinator (another broker
	// does) or ErrCoordinatorLoadInProgress (this one will, once it has
	// loaded the group). A nil Owns means every group (a single node). In
	// a cluster every broker runs a Coordinator, and each answers only the
	// groups it owns: the group APIs refuse the others with the error
	// Owns gave, so that a group's members and offsets live on one broker.
	// ListGroups is not asked: it lists what this broker holds, and a
	// client merges every broker's list. Owns is called on every group
	// request, outside the coordinator's lock.
	Owns func(group string) error
}

// Coordinator runs every group of one broker. It is safe for concurrent
// use; JoinGroup and SyncGroup block until their phase of the rebalance
// completes or their context ends.
type Coordinator struct {
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex
	groups map[string]*group
}

// New returns a coordinator; call Run (or Tick) to make time pass.
func New(cfg Config) *Coordinator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if cfg.MaxSessionTimeout <= 0 {
		cfg.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if cfg.InitialRebalanceDelay == 0 {
		cfg.InitialRebalanceDelay = DefaultInitialRebalanceDelay
	}
	if cfg.OffsetsRetention <= 0 {
		cfg.OffsetsRetention = DefaultOffsetsRetention
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	if cfg.ExpiryCheckInterval <= 0 {
		// Often enough that a short retention is honoured closely.
		cfg.ExpiryCheckInterval = max(min(DefaultExpiryCheckInterval, cfg.OffsetsRetention/10), cfg.TickInterval)
	}
	return &Coordinator{cfg: cfg, logger: cfg.Logger, groups: map[string]*group{}}
}

// Run calls Tick every TickInterval and ExpireOffsets every
// ExpiryCheckInterval until ctx ends.
func (c *Coordinator) Run(ctx context.Context) {
	tick := time.NewTicker(c.cfg.TickInterval)
	defer tick.Stop()
	lastExpiry := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c.Tick()
		if time.Since(lastExpiry) >= c.cfg.ExpiryCheckInterval {
			lastExpiry = time.Now()
			if _, err := c.ExpireOffsets(); err != nil {
				c.logger.Warn("offset expiry failed", "err", err)
			}
		}
	}
}

// Protocol is one (name, metadata) pair of a JoinGroup: an assignment
// strategy the member supports, with its subscription.
type Protocol struct {
	Name     string
	Metadata []byte
}

// member is one member of a group.
type member struct {
	id, instanceID       string
	clientID, clientHost string
	protocolType         string
	protocols            []Protocol
	session, rebalance   time.Duration
	lastHeard            time.Time
	assignment           []byte

	// joinCh is set while the member waits in JoinGroup, syncCh while it
	// waits in SyncGroup; each is buffered, answered once, then cleared.
	joinCh chan joinOutcome
	syncCh chan syncOutcome
}

type joinOutcome struct {
	res JoinResult
	err error
}

type syncOutcome struct {
	assignment []byte
	err        error
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// answerJoin and answerSync complete a waiting call, if any.
func (m *member) answerJoin(o joinOutcome) {
	if m.joinCh != nil {
		m.joinCh <- o
		m.joinCh = nil
	}
}

func (m *member) answerSync(o syncOutcome) {
	if m.syncCh != nil {
		m.syncCh <- o
		m.syncCh = nil
	}
}

// group is one group's state.
type group struct {
	id           string
	state        State
	family       string
	generation   int32
	protocolType string
	protocol     string
	leader       string

	members map[string]*member
	order   []string          // member ids in join order: the leader is the first
	statics map[string]string // instance id -> member id
	// pending are member ids handed out with MEMBER_ID_REQUIRED, with the
	// time they lapse if the member does not come back.
	pending map[string]time.Time

	// removed are the members this rebalance dropped for not rejoining
	// in time, for the line that ends it.
	removed []string

	joinDeadline time.Time // PreparingRebalance ends by it
	joinMax      time.Time // the latest the initial delay may push it
	initialDelay bool      // the join phase waits for joinDeadline
	syncDeadline time.Time // CompletingRebalance ends by it
	emptySince   time.Time
}

func newGroup(id string, now time.Time) *group {
	return &group{id: id, members: map[string]*member{}, statics: map[string]string{},
		pending: map[string]time.Time{}, emptySince: now}
}

func (c *Coordinator) now() time.Time { return c.cfg.Now() }

func newMemberID(clientID string) string {
	if clientID == "" {
		clientID = "member"
	}
	var b [8]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

func validateGroupID(id string) error {
	if err := engine.ValidateGroupID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidGroupID, err)
	}
	return nil
}

// check is the gate of every per-group request: a valid id, of a group
// this broker coordinates.
func (c *Coordinator) check(id string) error {
	if err := validateGroupID(id); err != nil {
		return err
	}
	return c.Owned(id)
}

// Owned is nil when this broker coordinates the group (Config.Owns), an
// error wrapping ErrNotCoordinator or ErrCoordinatorLoadInProgress
// otherwise. A request handler that touches a group's state outside the
// coordinator (OffsetDelete) asks it first.
func (c *Coordinator) Owned(id string) error {
	if c.cfg.Owns == nil {
		return nil
	}
	return c.cfg.Owns(id)
}

// maxRebalance is the longest rebalance timeout of the members.
func (g *group) maxRebalance() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalance)
	}
	return d
}

// candidates are the protocol names every member supports, in the first
// member's order of preference.
func (g *group) candidates(extra []Protocol) []string {
	var out []string
	first := extra
	if len(g.order) > 0 {
		first = g.members[g.order[0]].protocols
	}
outer:
	for _, p := range first {
		for _, m := range g.members {
			if !hasProtocol(m.protocols, p.Name) {
				continue outer
			}
		}
		if extra != nil && !hasProtocol(extra, p.Name) {
			continue
		}
		out = append(out, p.Name)
	}
	return out
}

func hasProtocol(ps []Protocol, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// selectProtocol lets each member vote for its most preferred candidate,
// as Kafka does; ties go to the candidate the first member prefers.
func (g *group) selectProtocol() string {
	cands := g.candidates(nil)
	if len(cands) == 0 {
		return ""
	}
	votes := map[string]int{}
	for _, id := range g.order {
		for _, p := range g.members[id].protocols {
			if hasProtocol(protocolsOf(cands), p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := cands[0]
	for _, name := range cands {
		if votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

func protocolsOf(names []string) []Protocol {
	out := make([]Protocol, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

// removeMember drops a member, answering any call it has waiting with
// ErrUnknownMemberID.
func (g *group) removeMember(m *member) {
	m.answerJoin(joinOutcome{err: ErrUnknownMemberID})
	m.answerSync(syncOutcome{err: ErrUnknownMemberID})
	delete(g.members, m.id)
	for i, id := range g.order {
		if id == m.id {
			g.order = append(g.order[:i:i], g.order[i+1:]...)
			break
		}
	}
	if m.instanceID != "" && g.statics[m.instanceID] == m.id {
		delete(g.statics, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
	}
}

// Reasons a group rebalances, in its group_rebalance line.
const (
	reasonMemberJoined   = "member_joined"
	reasonMemberLeft     = "member_left"
	reasonSessionTimeout = "session_timeout"
	reasonSyncTimeout    = "sync_timeout"
)

// prepareRebalance starts a join phase, for reason, because of members
// (their ids; none for a sync timeout). Members waiting in SyncGroup are
// told to rejoin.
func (c *Coordinator) prepareRebalance(g *group, reason string, members ...string) {
	now := c.now()
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.answerSync(syncOutcome{err: ErrRebalanceInProgress})
		}
	}
	wasEmpty := g.state == Empty
	g.state = PreparingRebalance
	timeout := g.maxRebalance()
	g.initialDelay = wasEmpty && c.cfg.InitialRebalanceDelay > 0
	if g.initialDelay {
		g.joinMax = now.Add(timeout)
		g.joinDeadline = minTime(now.Add(c.cfg.InitialRebalanceDelay), g.joinMax)
	} else {
		g.joinDeadline = now.Add(timeout)
	}
	g.removed = nil
	args := []any{"event", "group_rebalance", "group", g.id, "generation", g.generation, "members", len(g.members), "reason", reason}
	if len(members) > 0 {
		args = append(args, "member", strings.Join(members, " "))
	}
	c.logger.Info("group rebalancing", args...)
}

// removedArg is the members the rebalance dropped, as log arguments, if any.
func removedArg(g *group) []any {
	if len(g.removed) == 0 {
		return nil
	}
	return []any{"removed", strings.Join(g.removed, " ")}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// maybeCompleteJoin ends the join phase once every member (and every member
// id handed out but not yet used) has joined, unless the initial delay
// still runs.
func (c *Coordinator) maybeCompleteJoin(g *group) {
	if g.state != PreparingRebalance || g.initialDelay {
		return
	}
	if len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	c.completeJoin(g)
}

// completeJoin ends the join phase: members that did not rejoin are
// removed, a new generation begins and every joined member is answered,
// the leader with the members' subscriptions.
func (c *Coordinator) completeJoin(g *group) {
	now := c.now()
	for _, id := range append([]string(nil), g.order...) {
		if m := g.members[id]; m.joinCh == nil {
			c.logger.Debug("member removed: did not rejoin in time", "group", g.id, "member", id)
			g.removed = append(g.removed, id)
			g.removeMember(m)
		}
	}
	g.pending = map[string]time.Time{}
	g.generation++
	g.initialDelay = false
	if len(g.members) == 0 {
		g.state, g.protocol, g.protocolType, g.leader = Empty, "", "", ""
		g.emptySince = now
		c.forget(g.id)
		c.logger.Info("group is empty", append([]any{"event", "group_empty", "group", g.id, "generation", g.generation, "members", 0},
			removedArg(g)...)...)
		return
	}
	g.protocolType = g.members[g.order[0]].protocolType
	g.protocol = g.selectProtocol()
	if g.leader == "" {
		g.leader = g.order[0]
	}
	g.state = CompletingRebalance
	g.syncDeadline = now.Add(g.maxRebalance())
	var all []MemberMetadata
	for _, id := range g.order {
		m := g.members[id]
		all = append(all, MemberMetadata{MemberID: id, InstanceID: m.instanceID, Metadata: m.metadataFor(g.protocol)})
	}
	for _, id := range g.order {
		m := g.members[id]
		m.lastHeard = now
		m.assignment = nil
		res := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: id}
		if id == g.leader {
			res.Members = all
		}
		m.answerJoin(joinOutcome{res: res})
	}
	c.logger.Debug("join phase complete", "group", g.id, "generation", g.generation, "members", len(g.members), "protocol", g.protocol, "leader", g.leader)
}

// Tick advances every group's timers: join and sync phases that ran out of
// time end, and members whose session lapsed are removed.
func (c *Coordinator) Tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, g := range c.groups {
		for id, until := range g.pending {
			if now.After(until) {
				delete(g.pending, id)
			}
		}
		for _, id := range append([]string(nil), g.order...) {
			m := g.members[id]
			if m.joinCh == nil && m.syncCh == nil && now.Sub(m.lastHeard) > m.session {
				// The group_rebalance line says so, when one starts; in
				// one that runs, the line that ends it counts the members.
				c.logger.Debug("member removed: session timed out", "group", g.id, "member", id, "session_timeout", m.session)
				g.removeMember(m)
				switch g.state {
				case Stable, CompletingRebalance:
					c.prepareRebalance(g, reasonSessionTimeout, id)
				}
			}
		}
		switch g.state {
		case PreparingRebalance:
			if !now.Before(g.joinDeadline) {
				c.completeJoin(g)
			} else {
				c.maybeCompleteJoin(g)
			}
		case CompletingRebalance:
			if !now.Before(g.syncDeadline) {
				var gone []string
				for _, id := range append([]string(nil), g.order...) {
					if m := g.members[id]; m.syncCh == nil {
						c.logger.Debug("member removed: no SyncGroup in time", "group", g.id, "member", id)
						gone = append(gone, id)
						g.removeMember(m)
					}
				}
				c.prepareRebalance(g, reasonSyncTimeout, gone...)
				c.maybeCompleteJoin(g)
			}
		}
	}
}
