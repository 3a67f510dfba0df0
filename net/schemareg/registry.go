package schemareg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// Backend is where the registry keeps its records: partition 0 of Topic,
// replicated like any topic's partition in a cluster.
type Backend interface {
	// Log returns this broker's replica of the partition, nil while it
	// has none (the topic does not exist yet, or this broker holds no
	// replica of it).
	Log() *engine.Partition
	// Leader returns "" when this broker writes the registry (it leads
	// the partition, or it is a single node), else the base URL of the
	// registry of the broker that does; an error when no broker does.
	Leader() (string, error)
	// Create creates the topic when it does not exist.
	Create(ctx context.Context) error
	// Append appends records to the partition as its leader and returns
	// the offset past them once they are committed (acks=all).
	Append(ctx context.Context, records []byte) (int64, error)
}

// DefaultTimeout bounds a write: catching up with the log, replication,
// the applier.
const DefaultTimeout = 10 * time.Second

// Config configures a Registry.
type Config struct {
	Backend Backend
	// Timeout bounds a write (DefaultTimeout when 0).
	Timeout time.Duration
	// Now stamps records (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Registry is the schema registry of one broker: the state its replica of
// the topic says, and writes through the topic's leader.
type Registry struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.RWMutex
	st      *state
	log     *engine.Partition // the replica st was built from
	applied int64             // the offset after the last record applied
	moved   chan struct{}     // closed when applied moves, then replaced
	// ready is set once the state holds the replica's records up to the
	// high watermark seen when it began loading them: until then reads
	// would answer from a partial registry.
	ready atomic.Bool

	writeMu sync.Mutex // one write at a time: the state it was decided on is the state it lands on

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Registry; Start runs its applier.
func New(cfg Config) *Registry {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, logger: cfg.Logger, st: newState(), moved: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Start runs the applier, which follows this broker's replica of the topic.
func (r *Registry) Start() {
	r.wg.Add(1)
	go r.run()
}

// WaitReady returns once the state holds this broker's replica up to the
// high watermark it had when loading began, or when ctx ends: a registry
// that answers before then answers from part of its schemas.
func (r *Registry) WaitReady(ctx context.Context) error {
	for !r.ready.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// Close stops the applier.
func (r *Registry) Close() {
	r.cancel()
	r.wg.Wait()
}

// pollInterval is how often the applier looks for a replica it does not
// have yet, and how long it trusts a replica's change signal alone.
const pollInterval = 200 * time.Millisecond

func (r *Registry) run() {
	defer r.wg.Done()
	var buf []byte
	var rd batch.Reader
	for {
		var changed <-chan struct{}
		if p := r.cfg.Backend.Log(); p != nil {
			changed = p.Changed() // before reading: no wake-up is missed
			var err error
			if buf, err = r.catchUp(p, buf, &rd); err != nil && !errors.Is(err, engine.ErrClosed) {
				r.logger.Warn("reading the schemas topic failed", "event", "schema_registry_read_failed", "err", err)
			}
		} else {
			// No replica here (no topic yet, or a broker that holds
			// none): nothing to load; reads go to the leader.
			r.ready.Store(true)
		}
		select {
		case <-r.ctx.Done():
			return
		case <-changed:
		case <-time.After(pollInterval):
		}
	}
}

// catchUp applies p's records from where the state is up to its high
// watermark. A replica other than the one the state was built from (the
// topic deleted and created again, the replica moved back here) or one cut
// below what was applied (a follower's truncation) is replayed from its
// start.
func (r *Registry) catchUp(p *engine.Partition, buf []byte, rd *batch.Reader) ([]byte, error) {
	r.mu.Lock()
	if p != r.log || p.HighWatermark() < r.applied {
		r.st, r.log, r.applied = newState(), p, p.LogStartOffset()
		r.ready.Store(false)
	}
	from := max(r.applied, p.LogStartOffset())
	r.mu.Unlock()
	hw := p.HighWatermark()
	defer func() {
		r.mu.RLock()
		caughtUp := r.log == p && r.applied >= hw
		r.mu.RUnlock()
		if caughtUp {
			r.ready.Store(true)
		}
	}()
	for from < hw {
		b, err := p.ReadBytes(buf[:0], from, 1<<20)
		buf = b
		if err != nil {
			return buf, fmt.Errorf("%s at %d: %w", Topic, from, err)
		}
		if len(b) == 0 {
			break
		}
		next := from
		r.mu.Lock()
		for rest := b; len(rest) > 0; {
			first, tail, err := batch.Split(rest)
			if err != nil {
				r.mu.Unlock()
				return buf, fmt.Errorf("%s at %d: %w", Topic, from, err)
			}
			rest = tail
			h, err := rd.Reset(first)
			if err != nil {
				r.mu.Unlock()
				return buf, fmt.Errorf("%s batch at %d: %w", Topic, h.BaseOffset, err)
			}
			next = max(next, h.NextOffset())
			if h.Control() {
				continue
			}
			for {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					r.mu.Unlock()
					return buf, fmt.Errorf("%s batch at %d: %w", Topic, h.BaseOffset, err)
				}
				if rec.Offset < from || rec.Offset >= hw {
					continue
				}
				dec, err := decodeRecord(rec.Key, rec.Value)
				if err != nil {
					r.logger.Warn("skipping a schemas record", "offset", rec.Offset, "err", err)
					continue
				}
				r.st.apply(dec)
			}
		}
		next = min(next, hw)
		if next <= from {
			r.mu.Unlock()
			break
		}
		from = next
		r.applied = next
		close(r.moved)
		r.moved = make(chan struct{})
		r.mu.Unlock()
	}
	return buf, nil
}

// waitApplied returns once the state holds p's records below end.
func (r *Registry) waitApplied(ctx context.Context, p *engine.Partition, end int64) error {
	for {
		r.mu.RLock()
		done, moved := r.log == p && r.applied >= end, r.moved
		r.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("%w: the registry's state did not reach offset %d of %s", errTimeout, end, Topic)
		case <-time.After(pollInterval):
		}
	}
}

// pending is what a write decided: the records to append and the answer
// to give once they are in.
type pending struct {
	keys, values [][]byte // a nil value is a tombstone
}

func (w *pending) add(k recordKey, v any) {
	w.keys = append(w.keys, encodeKey(k))
	if v == nil {
		w.values = append(w.values, nil)
		return
	}
	w.values = append(w.values, encodeValue(v))
}

// errForward says another broker's registry writes: the request goes
// there.
type errForward struct{ url string }

func (e *errForward) Error() string { return "the registry's writes go to " + e.url }

// write decides a change on the current state with decide, appends its
// records through the topic's leader, and returns once the state holds
// them. decide sees a state that every earlier write is part of.
func (r *Registry) write(decide func(st *state) (*pending, error)) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	// Any broker may create the topic; the broker that leads it writes.
	if err := r.cfg.Backend.Create(ctx); err != nil {
		return fmt.Errorf("%w: creating %s: %w", errBackend, Topic, err)
	}
	url, err := r.leader(ctx)
	if err != nil {
		return err
	}
	if url != "" {
		return &errForward{url: url}
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	p, err := r.replica(ctx)
	if err != nil {
		return err
	}
	// A new leader first applies its whole log (what its followers will
	// converge on), so that it decides on everything written before it.
	if err := r.waitApplied(ctx, p, p.LogEndOffset()); err != nil {
		return err
	}
	// What the decision rests on: the log as it ends now, under this
	// leadership. If either moves before the append (leadership went
	// away and came back, a write of another leader arrived), the
	// decision may hand out an id twice: refuse, and let the client
	// retry.
	epoch, leo := p.LeaderEpoch(), p.LogEndOffset()
	r.mu.RLock()
	w, err := decide(r.st)
	r.mu.RUnlock()
	if err != nil || w == nil || len(w.keys) == 0 {
		return err
	}
	if p.LeaderEpoch() != epoch || p.LogEndOffset() != leo {
		return fmt.Errorf("%w: the schemas topic changed leader or grew during the write; retry", errTimeout)
	}
	var b batch.Builder
	now := r.cfg.Now().UnixMilli()
	for i := range w.keys {
		b.Append(now, w.keys[i], w.values[i], nil)
	}
	records, err := b.Build()
	if err != nil {
		return fmt.Errorf("%w: %w", errBackend, err)
	}
	end, err := r.cfg.Backend.Append(ctx, records)
	if err != nil {
		return fmt.Errorf("%w: appending to %s: %w", errBackend, Topic, err)
	}
	return r.waitApplied(ctx, p, end)
}

// leader waits for the topic to have a leader (just created, or between
// leaders) and returns Backend.Leader's answer.
func (r *Registry) leader(ctx context.Context) (string, error) {
	for {
		url, err := r.cfg.Backend.Leader()
		if err == nil {
			return url, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %w: %w", errTimeout, errNoLeader, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replica waits for this broker's replica of the topic (just created, it
// may take a moment to appear).
func (r *Registry) replica(ctx context.Context) (*engine.Partition, error) {
	for {
		if p := r.cfg.Backend.Log(); p != nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no local replica of %s", errTimeout, Topic)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// appliedOffset is the offset after the last record the state holds.
func (r *Registry) appliedOffset() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.applied
}

// read runs fn on the current state.
func (r *Registry) read(fn func(st *state) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return fn(r.st)
}

// EngineBackend is a single node's Backend: the topic in the node's own
// engine, which the node alone writes.
type EngineBackend struct{ Engine *engine.Engine }

// Log returns the engine's partition of the topic, nil while there is none.
func (b EngineBackend) Log() *engine.Partition {
	p, err := b.Engine.Partition(Topic, 0)
	if err != nil {
		return nil
	}
	return p
}

// Leader is always this node.
func (b EngineBackend) Leader() (string, error) { return "", nil }

// Create creates the topic in the engine.
func (b EngineBackend) Create(context.Context) error {
	if err := b.Engine.CreateTopic(Topic, 1, TopicConfigs(1)); err != nil && !errors.Is(err, engine.ErrTopicExists) {
		return err
	}
	return nil
}

// Append appends to the engine's partition; a single node's append is
// committed when it returns.
func (b EngineBackend) Append(_ context.Context, records []byte) (int64, error) {
	p, err := b.Engine.Partition(Topic, 0)
	if err != nil {
		return 0, err
	}
	res, err := p.Append(records)
	if err != nil {
		return 0, err
	}
	return res.LastOffset + 1, nil
}
