package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	// BootstrapServers are host:port addresses of brokers to start from;
	// ["127.0.0.1:9192"] by default. After the first Metadata answer the
	// client uses the brokers the cluster advertises.
	BootstrapServers []string
	// DialTimeout bounds connecting to a broker (10s).
	DialTimeout time.Duration
	// RequestTimeout bounds every request (30s): a broker that does not
	// answer within it is presumed hung, and its connection is closed
	// (Fetch gets its MaxWait on top). Requests that are safe to repeat
	// are retried on a new connection within the same budget.
	RequestTimeout time.Duration
	// Logger receives the client's diagnostics; nil discards them.
	Logger *slog.Logger
}

// DefaultBootstrap is the broker address used when Config names none:
// Sluice's native port on this host.
const DefaultBootstrap = "127.0.0.1:9192"

func (c *Config) setDefaults() {
	if len(c.BootstrapServers) == 0 {
		c.BootstrapServers = []string{DefaultBootstrap}
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Client is a connection to a Sluice cluster: it holds the cluster
// metadata and the connections admin requests use, and makes producers and
// consumers, which have connections of their own. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	logger *slog.Logger
	pool   *connPool
	meta   metadata

	mu       sync.Mutex
	closed   bool
	lastGood string // the broker that answered last: tried first next time
	children map[any]func()
}

// New connects to the first bootstrap server that answers an ApiVersions
// request, so that a wrong address or something that is not a Sluice
// broker fails here, with an error naming every address tried.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg.setDefaults()
	cl := &Client{
		cfg:      cfg,
		logger:   cfg.Logger,
		children: map[any]func(){},
	}
	cl.pool = newConnPool(cfg.DialTimeout, cfg.Logger)
	cl.meta.init()
	var errs []error
	for _, addr := range cfg.BootstrapServers {
		err := cl.checkBroker(ctx, addr)
		if err == nil {
			cl.lastGood = addr
			return cl, nil
		}
		if ctx.Err() != nil {
			cl.pool.closeAll()
			return nil, fmt.Errorf("client: connecting to %s: %w", addr, ctx.Err())
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	cl.pool.closeAll()
	return nil, fmt.Errorf("client: no bootstrap server answered: %w", errors.Join(errs...))
}

// checkBroker dials addr and asks it for its API versions.
func (cl *Client) checkBroker(ctx context.Context, addr string) error {
	c, err := cl.pool.get(ctx, addr)
	if err != nil {
		return err
	}
	var resp protocol.APIVersionsResponse
	if err := c.roundTrip(ctx, &protocol.APIVersionsRequest{}, &resp, cl.cfg.RequestTimeout); err != nil {
		if errors.Is(err, protocol.ErrMalformed) || errors.Is(err, protocol.ErrFrameTooLarge) {
			err = fmt.Errorf("not a Sluice broker? %w", err)
		}
		return err
	}
	if err := brokerErr(protocol.APIVersions, resp.ErrorCode, "", -1, nil); err != nil {
		return err
	}
	have := map[protocol.APIKey]bool{}
	for _, k := range resp.APIKeys {
		have[k.APIKey] = k.MinVersion <= 0 && 0 <= k.MaxVersion
	}
	for _, need := range []protocol.APIKey{protocol.Metadata, protocol.Produce, protocol.Fetch} {
		if !have[need] {
			return fmt.Errorf("broker does not serve %v version 0: %w", need, protocol.ErrUnsupportedVersion)
		}
	}
	return nil
}

// Close closes the client's connections and stops the producers and
// consumers made from it that are still open, failing their unsent records
// with ErrClosed. Close producers first (Producer.Close flushes) to deliver
// what they hold. Close is idempotent.
func (cl *Client) Close() error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	cl.closed = true
	children := make([]func(), 0, len(cl.children))
	for _, stop := range cl.children {
		children = append(children, stop)
	}
	cl.children = nil
	cl.mu.Unlock()
	for _, stop := range children {
		stop()
	}
	cl.pool.closeAll()
	return nil
}

// adopt registers a producer or consumer so that Close stops it; it fails
// if the client is closed.
func (cl *Client) adopt(key any, stop func()) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return ErrClosed
	}
	cl.children[key] = stop
	return nil
}

func (cl *Client) disown(key any) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	delete(cl.children, key)
}

func (cl *Client) isClosed() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.closed
}

// brokers lists addresses to try for a request any broker can answer: the
// last one that answered, then those in the metadata, then the bootstrap
// servers.
func (cl *Client) brokers() []string {
	cl.mu.Lock()
	last := cl.lastGood
	cl.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(last)
	for _, a := range cl.meta.brokerAddrs() {
		add(a)
	}
	for _, a := range cl.cfg.BootstrapServers {
		add(a)
	}
	return out
}

// call sends req to addr (any broker when addr is "") on the client's
// shared connections and decodes the answer into resp. A connection
// failure is retried on a new connection, after a short backoff and within
// RequestTimeout, when that is safe: always if the request never reached
// the broker (dial or write failed), otherwise only if idempotent says
// that repeating the request cannot change its outcome.
func (cl *Client) call(ctx context.Context, addr string, req protocol.Request, resp protocol.Response, idempotent bool) error {
	budget := time.Now().Add(cl.cfg.RequestTimeout)
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		target := addr
		if target == "" {
			all := cl.brokers()
			target = all[attempt%len(all)]
		}
		c, err := cl.pool.get(ctx, target)
		if err == nil {
			if err = c.roundTrip(ctx, req, resp, cl.cfg.RequestTimeout); err == nil {
				cl.mu.Lock()
				cl.lastGood = target
				cl.mu.Unlock()
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%v: %w", req.Key(), ctx.Err())
		}
		var ne *netError
		if !errors.As(err, &ne) {
			return err
		}
		safe := idempotent || ne.op == "dial" || ne.op == "write"
		if !safe || time.Now().Add(backoff).After(budget) {
			return fmt.Errorf("%v: %w", req.Key(), err)
		}
		cl.logger.Debug("retrying request", "api", req.Key().String(), "broker", target, "err", err)
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("%v: %w", req.Key(), err)
		}
		backoff = min(2*backoff, time.Second)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// connPool holds one connection per broker address, redialled when it
// breaks. The Client has one for admin and metadata requests; each
// Consumer has its own, so that long-poll fetches never queue in front of
// anything else.
type connPool struct {
	dialTimeout time.Duration
	logger      *slog.Logger

	mu     sync.Mutex
	closed bool
	slots  map[string]*connSlot
}

type connSlot struct {
	mu sync.Mutex // held while dialling, so that callers share one dial
	c  *conn
}

func newConnPool(dialTimeout time.Duration, logger *slog.Logger) *connPool {
	return &connPool{dialTimeout: dialTimeout, logger: logger, slots: map[string]*connSlot{}}
}

// get returns a live connection to addr, dialling one if needed.
func (p *connPool) get(ctx context.Context, addr string) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	s := p.slots[addr]
	if s == nil {
		s = &connSlot{}
		p.slots[addr] = s
	}
	p.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		if s.c.broken() == nil {
			return s.c, nil
		}
		s.c.close() // reap its reader
		s.c = nil
	}
	c, err := dial(ctx, addr, p.dialTimeout, p.logger)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		c.close()
		return nil, ErrClosed
	}
	s.c = c
	return c, nil
}

// closeAll closes every connection; later gets fail with ErrClosed.
func (p *connPool) closeAll() {
	p.mu.Lock()
	p.closed = true
	slots := p.slots
	p.slots = map[string]*connSlot{}
	p.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		if s.c != nil {
			s.c.close()
			s.c = nil
		}
		s.mu.Unlock()
	}
}

// metadataMaxAge is how long cached topic metadata is trusted without an
// error to say it is wrong (Kafka's metadata.max.age.ms): partitions
// added to a topic show up within it.
const metadataMaxAge = 5 * time.Minute

// metadata caches what the brokers said about the cluster and topics.
type metadata struct {
	mu         sync.Mutex
	brokers    map[int32]string
	controller int32
	topics     map[string]*topicMeta
}

// topicMeta is one topic's partitions as last seen.
type topicMeta struct {
	name       string
	err        error // the topic's error, a *BrokerError
	partitions []protocol.MetadataResponsePartition
	at         time.Time
}

func (m *metadata) init() {
	m.brokers = map[int32]string{}
	m.topics = map[string]*topicMeta{}
	m.controller = -1
}

func (m *metadata) brokerAddrs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int32, 0, len(m.brokers))
	for id := range m.brokers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = m.brokers[id]
	}
	return out
}

// update records a Metadata answer.
func (m *metadata) update(resp *protocol.MetadataResponse, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(resp.Brokers) > 0 {
		m.brokers = make(map[int32]string, len(resp.Brokers))
		for _, b := range resp.Brokers {
			m.brokers[b.NodeID] = b.Host + ":" + strconv.Itoa(int(b.Port))
		}
	}
	m.controller = resp.ControllerID
	for _, t := range resp.Topics {
		tm := &topicMeta{name: t.Name, at: now, err: brokerErr(protocol.Metadata, t.ErrorCode, t.Name, -1, nil)}
		if tm.err == nil {
			tm.partitions = append([]protocol.MetadataResponsePartition(nil), t.Partitions...)
			sort.Slice(tm.partitions, func(i, j int) bool { return tm.partitions[i].Partition < tm.partitions[j].Partition })
		}
		m.topics[t.Name] = tm
	}
}

// addr returns the address of a broker by node id, or "".
func (m *metadata) addr(node int32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.brokers[node]
}

// leader returns the address of the partition's leader from the cache, or
// "" when the cache does not know it.
func (m *metadata) leader(topic string, partition int32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topics[topic]
	if t == nil || t.err != nil || partition < 0 || int(partition) >= len(t.partitions) {
		return ""
	}
	p := t.partitions[partition]
	if p.Partition != partition || p.Leader < 0 {
		return ""
	}
	return m.brokers[p.Leader]
}

func (m *metadata) cached(topic string) *topicMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.topics[topic]
}

// forget drops a topic so the next lookup asks a broker.
func (m *metadata) forget(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, topic)
}

// refreshMetadata asks a broker about topics (nil: all of them) and
// updates the cache. autoCreate lets the broker create missing topics when
// its auto.create.topics.enable is on, as a Kafka producer does.
func (cl *Client) refreshMetadata(ctx context.Context, topics []string, autoCreate bool) (*protocol.MetadataResponse, error) {
	req := &protocol.MetadataRequest{Topics: topics, AllowAutoTopicCreation: autoCreate}
	if topics == nil {
		req.AllowAutoTopicCreation = false
	}
	var resp protocol.MetadataResponse
	// Metadata creates topics only as a side effect the broker allows for
	// exactly this use, and a second request finds them made: idempotent.
	if err := cl.call(ctx, "", req, &resp, true); err != nil {
		return nil, err
	}
	if err := brokerErr(protocol.Metadata, resp.ErrorCode, "", -1, nil); err != nil {
		return nil, err
	}
	cl.meta.update(&resp, time.Now())
	return &resp, nil
}

// topic returns the topic's metadata, from the cache when it is younger
// than metadataMaxAge and asking a broker otherwise. The topic's own error
// (unknown topic, ...) is returned as an error.
func (cl *Client) topic(ctx context.Context, name string, autoCreate bool) (*topicMeta, error) {
	if t := cl.meta.cached(name); t != nil && t.err == nil && time.Since(t.at) < metadataMaxAge {
		return t, nil
	}
	if _, err := cl.refreshMetadata(ctx, []string{name}, autoCreate); err != nil {
		return nil, err
	}
	t := cl.meta.cached(name)
	if t == nil {
		return nil, &BrokerError{API: protocol.Metadata, Code: protocol.ErrUnknownTopicOrPartition, Topic: name, Partition: -1,
			Message: "the broker's answer did not include the topic"}
	}
	if t.err != nil {
		return nil, t.err
	}
	return t, nil
}

// leaderAddr returns where to send requests for a partition: its leader if
// the metadata names one, any broker ("") otherwise.
func (cl *Client) leaderAddr(topic string, partition int32) string {
	return cl.meta.leader(topic, partition)
}

// controllerAddr is where topic changes go: the controller if known.
func (cl *Client) controllerAddr() string {
	cl.meta.mu.Lock()
	defer cl.meta.mu.Unlock()
	return cl.meta.brokers[cl.meta.controller]
}
