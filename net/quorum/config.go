package quorum

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for the Config fields left zero. The timeouts suit a loopback or LAN
// cluster: a follower starts an election after about HeartbeatTimeout without
// hearing from the leader, so a failed leader is replaced in roughly a second.
const (
	DefaultHeartbeatTimeout   = 500 * time.Millisecond
	DefaultElectionTimeout    = 1000 * time.Millisecond
	DefaultLeaderLeaseTimeout = 500 * time.Millisecond
	DefaultCommitTimeout      = 10 * time.Millisecond
	DefaultSnapshotThreshold  = 8192
	DefaultTrailingLogs       = 10240
	DefaultSnapshotInterval   = 2 * time.Minute
	DefaultSnapshotRetain     = 2
	DefaultIOTimeout          = 10 * time.Second
	DefaultMaxCallBytes       = 16 << 20
)

// Voter is one entry of controller.quorum.voters: a node id and the address of
// its CONTROLLER listener.
type Voter struct {
	ID   int32
	Addr string
}

func (v Voter) String() string { return strconv.Itoa(int(v.ID)) + "@" + v.Addr }

// Config configures a Node. NodeID, Dir, Voters and StateMachine are required;
// every other field has a documented default.
type Config struct {
	// NodeID is this node's id; it must appear in Voters, unless Nonvoter.
	NodeID int32
	// Nonvoter makes this node a raft nonvoter (Kafka's process.roles=broker):
	// it is not in Voters, receives the log from the leader and applies it,
	// forwards Propose and LeaderCall, but never votes, never leads and never
	// counts toward a majority. It has no bootstrap configuration: at Start
	// it asks the voters to add it (see join.go). Default false: a voter.
	Nonvoter bool
	// Advertise is, on a Nonvoter, the CONTROLLER address the leader sends
	// it the log at. Default: Listen, or the bound listener's address when
	// Listen's port is 0 or Listener is set. Its host must not be
	// unspecified (0.0.0.0). Voters advertise their Voters entry instead.
	Advertise string
	// Dir holds the raft state: a pebble database with the log and the stable
	// store (Dir/raft), and raft's file snapshot store (Dir/snapshots).
	Dir string
	// Listen is the CONTROLLER listener's host:port. On a voter it must be
	// the address this node's Voters entry names (an unspecified host such as 0.0.0.0
	// matches any host with the same port). Ignored when Listener is set.
	Listen string
	// Listener, when set, is an already bound CONTROLLER listener that the
	// Node takes over (and closes on Close). Tests use it to learn every
	// voter's port before any node starts.
	Listener net.Listener
	// Voters is the static quorum, as parsed by ParseVoters. Every node of a
	// cluster must be given the same set.
	Voters []Voter
	// ClusterID returns the cluster id this node believes in, "" while
	// unknown. Peers that both know an id refuse each other when they differ.
	// It is called for every handshake, from several goroutines, and must be
	// cheap and safe for concurrent use. Connections already accepted are not
	// re-checked when the id becomes known. Nil means always unknown.
	ClusterID func() string
	// StateMachine receives the committed commands.
	StateMachine StateMachine
	// LeaderHandler serves Node.LeaderCall on the current leader, possibly
	// for several callers at once. ctx ends when the caller stops waiting or
	// the node closes; Close waits for handlers to return. Nil makes every
	// LeaderCall fail with a HandlerError.
	LeaderHandler func(ctx context.Context, kind uint8, payload []byte) ([]byte, error)
	// Logger receives the node's own logs and raft's, with raft's info lines
	// lowered to debug, and its per-retry and routine warnings and errors
	// too (see the package's Logs). Nil discards.
	Logger *slog.Logger

	// HeartbeatTimeout is how long a follower waits without contact before it
	// becomes a candidate. Default DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits before retrying an
	// election. Default DefaultElectionTimeout; never below HeartbeatTimeout.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without reaching a
	// majority. Default DefaultLeaderLeaseTimeout; never above HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is how often, at most, an idle leader sends each
	// follower an AppendEntries, which is how followers learn the commit
	// index: a Propose on a follower waits about this long more than one on
	// the leader (it returns only once the follower applied the entry).
	// Smaller costs idle RPCs. Default DefaultCommitTimeout.
	CommitTimeout time.Duration
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one. Default DefaultSnapshotThreshold.
	SnapshotThreshold uint64
	// TrailingLogs is how many entries are kept after a snapshot so slow
	// followers can catch up from the log. Default DefaultTrailingLogs.
	TrailingLogs uint64
	// SnapshotInterval is how often raft checks SnapshotThreshold.
	// Default DefaultSnapshotInterval.
	SnapshotInterval time.Duration
	// SnapshotRetain is how many snapshots stay on disk. Default DefaultSnapshotRetain.
	SnapshotRetain int
	// IOTimeout bounds dials, handshakes and single raft RPCs. Default DefaultIOTimeout.
	IOTimeout time.Duration
	// MaxCallBytes bounds a LeaderCall or Propose frame. Default DefaultMaxCallBytes.
	MaxCallBytes int
}

// withDefaults returns a copy with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.ElectionTimeout, max(DefaultElectionTimeout, c.HeartbeatTimeout))
	def(&c.LeaderLeaseTimeout, min(DefaultLeaderLeaseTimeout, c.HeartbeatTimeout))
	def(&c.CommitTimeout, DefaultCommitTimeout)
	def(&c.SnapshotInterval, DefaultSnapshotInterval)
	def(&c.IOTimeout, DefaultIOTimeout)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.SnapshotRetain == 0 {
		c.SnapshotRetain = DefaultSnapshotRetain
	}
	if c.MaxCallBytes == 0 {
		c.MaxCallBytes = DefaultMaxCallBytes
	}
	if c.ClusterID == nil {
		c.ClusterID = func() string { return "" }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks the fields Start cannot do without; it runs after withDefaults.
func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("quorum: Config.Dir is empty")
	}
	if c.StateMachine == nil {
		return errors.New("quorum: Config.StateMachine is nil")
	}
	if c.Listener == nil && c.Listen == "" {
		return errors.New("quorum: Config.Listen is empty (the CONTROLLER listener's host:port)")
	}
	if len(c.Voters) == 0 {
		return errors.New("quorum: controller.quorum.voters is empty")
	}
	if err := checkVoters(c.Voters); err != nil {
		return err
	}
	_, isVoter := c.self()
	switch {
	case c.Nonvoter && isVoter:
		return fmt.Errorf("quorum: node.id %d is in controller.quorum.voters (%s), so it cannot be a nonvoter (process.roles=broker)", c.NodeID, FormatVoters(c.Voters))
	case !c.Nonvoter && !isVoter:
		return fmt.Errorf("quorum: node.id %d is not in controller.quorum.voters (%s)", c.NodeID, FormatVoters(c.Voters))
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return fmt.Errorf("quorum: ElectionTimeout %v is below HeartbeatTimeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return fmt.Errorf("quorum: LeaderLeaseTimeout %v is above HeartbeatTimeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	return nil
}

// self returns this node's Voters entry; ok is false on a nonvoter.
func (c *Config) self() (Voter, bool) {
	for _, v := range c.Voters {
		if v.ID == c.NodeID {
			return v, true
		}
	}
	return Voter{}, false
}

// ParseVoters parses Kafka's controller.quorum.voters syntax:
// "1@host1:9093,2@host2:9093,3@host3:9093". Spaces around entries are
// ignored. Ids must be non-negative and unique, addresses unique.
func ParseVoters(s string) ([]Voter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("controller.quorum.voters is empty")
	}
	var vs []Voter
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		idText, addr, ok := strings.Cut(e, "@")
		if !ok {
			return nil, fmt.Errorf("controller.quorum.voters entry %d %q: want id@host:port", i+1, e)
		}
		id, err := strconv.ParseInt(idText, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("controller.quorum.voters entry %d %q: id %q is not a non-negative 32-bit integer", i+1, e, idText)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("controller.quorum.voters entry %d %q: address: %w", i+1, e, err)
		}
		if host == "" {
			return nil, fmt.Errorf("controller.quorum.voters entry %d %q: address has no host", i+1, e)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return nil, fmt.Errorf("controller.quorum.voters entry %d %q: port %q is not in 1-65535", i+1, e, port)
		}
		vs = append(vs, Voter{ID: int32(id), Addr: addr})
	}
	if err := checkVoters(vs); err != nil {
		return nil, err
	}
	return vs, nil
}

// checkVoters reports duplicate ids and addresses.
func checkVoters(vs []Voter) error {
	ids := make(map[int32]string, len(vs))
	addrs := make(map[string]int32, len(vs))
	for _, v := range vs {
		if v.Addr == "" {
			return fmt.Errorf("controller.quorum.voters: node %d has no address", v.ID)
		}
		if prev, ok := ids[v.ID]; ok {
			return fmt.Errorf("controller.quorum.voters: duplicate id %d (%s and %s)", v.ID, prev, v.Addr)
		}
		if prev, ok := addrs[v.Addr]; ok {
			return fmt.Errorf("controller.quorum.voters: duplicate address %s (nodes %d and %d)", v.Addr, prev, v.ID)
		}
		ids[v.ID] = v.Addr
		addrs[v.Addr] = v.ID
	}
	return nil
}

// FormatVoters renders voters in controller.quorum.voters syntax, sorted by
// id. It is the canonical form peers compare during the handshake.
func FormatVoters(vs []Voter) string {
	s := slices.Clone(vs)
	slices.SortFunc(s, func(a, b Voter) int { return cmp.Compare(a.ID, b.ID) })
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = v.String()
	}
	return strings.Join(parts, ",")
}

// nonvoterAddr returns the address a nonvoter advertises, given the
// address its listener is bound to.
func (c *Config) nonvoterAddr(bound string) (string, error) {
	addr := c.Advertise
	if addr == "" {
		addr = bound
		if _, port, err := net.SplitHostPort(c.Listen); c.Listener == nil && err == nil && port != "0" {
			addr = c.Listen
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("quorum: nonvoter node.id %d advertises %q: %w", c.NodeID, addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "", fmt.Errorf("quorum: nonvoter node.id %d would advertise %s, which the leader cannot dial; listen on (or advertise) a routable host", c.NodeID, addr)
	}
	for _, v := range c.Voters {
		if v.Addr == addr {
			return "", fmt.Errorf("quorum: nonvoter node.id %d advertises %s, the address of voter %d", c.NodeID, addr, v.ID)
		}
	}
	return addr, nil
}

// addrMatches reports whether a bound address serves the advertised one: the
// same port, and the same host unless the bound host is unspecified.
func addrMatches(bound, advertised string) bool {
	bh, bp, err1 := net.SplitHostPort(bound)
	ah, ap, err2 := net.SplitHostPort(advertised)
	if err1 != nil || err2 != nil || bp != ap {
		return false
	}
	if bh == ah {
		return true
	}
	if ip := net.ParseIP(bh); bh == "" || (ip != nil && ip.IsUnspecified()) {
		return true
	}
	// Compare resolved literals, so "127.0.0.1" and "[::ffff:127.0.0.1]" agree.
	bi, ai := net.ParseIP(bh), net.ParseIP(ah)
	return bi != nil && ai != nil && bi.Equal(ai)
}
