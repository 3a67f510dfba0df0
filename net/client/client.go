package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// coords caches where each group's coordinator was (coordinator.go).
	coords coordinators

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
		coords:   coordinators{m: map[string]coordinatorEntry{}},
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
