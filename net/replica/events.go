package replica

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// The manager's notable events, one line each, logged once the roles
// follow a new image:
//
//	leader_change  this broker became a partition's leader, a follower of
//	               another leader, or lost its leader (leader -1); with
//	               topic, partition, leader, leader_epoch, isr, replicas
//	isr_change     the ISR of a partition this broker leads changed; with
//	               old_isr, isr, added, removed and reason: caught_up or
//	               lagging (this leader's proposal), controller (a broker
//	               fenced or shut down)
//
// A broker may see thousands of partitions change at once: a broker
// restarting, a controller failover, a preferred-leader rebalance. An
// image that changes more than summaryOver partitions logs them one by one
// at debug and one summary line with the count and a few examples. And
// changes that come one record at a time (the controller moving
// leaderships one by one, leaders proposing ISR changes) are let through
// one line each up to summaryOver within burstWindow; past that they go to
// debug, and a summary line counts them at the end of the window.
const (
	summaryOver = 20
	burstWindow = 5 * time.Second
)

// Reasons for an ISR change.
const (
	isrCaughtUp   = "caught_up"
	isrLagging    = "lagging"
	isrController = "controller"
)

// roleChange is a partition whose leadership changed for this broker.
type roleChange struct {
	key    key
	leader int32 // metadata.NoLeader when the partition has none
	epoch  int32
	mp     metadata.Partition
	ps     *partState // nil when leaderless
}

// isrChange is a led partition whose ISR changed in the image.
type isrChange struct {
	key    key
	epoch  int32
	old    []int32
	mp     metadata.Partition
	reason string
}

// sameMembers reports whether two ISRs hold the same brokers, in any order.
func sameMembers(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !slices.Contains(b, r) {
			return false
		}
	}
	return true
}

func (m *Manager) logRoles(roles []roleChange) {
	lines := make([]eventLine, 0, len(roles))
	for _, rc := range roles {
		args := []any{"topic", rc.key.topic, "partition", rc.key.partition, "leader", rc.leader, "leader_epoch", rc.epoch,
			"isr", rc.mp.ISR, "replicas", rc.mp.Replicas}
		l := eventLine{name: fmt.Sprintf("%s-%d", rc.key.topic, rc.key.partition), level: slog.LevelInfo}
		switch {
		case rc.leader == metadata.NoLeader:
			l.msg, l.kind = "partition has no leader", "leaderless"
		case rc.leader == m.cfg.NodeID:
			l.msg, l.kind = "became leader", "leading"
			args = append(args, "log_end", rc.ps.epochStart, "high_watermark", rc.ps.p.HighWatermark(),
				"under_replicated", len(rc.mp.ISR) < len(rc.mp.Replicas))
		default:
			l.msg, l.kind = "became follower", "following"
		}
		l.args = args
		lines = append(lines, l)
	}
	m.roleBurst.log(lines)
}

func (m *Manager) logISRs(isrs []isrChange) {
	lines := make([]eventLine, 0, len(isrs))
	for _, c := range isrs {
		var added, removed []int32
		for _, r := range c.mp.ISR {
			if !slices.Contains(c.old, r) {
				added = append(added, r)
			}
		}
		for _, r := range c.old {
			if !slices.Contains(c.mp.ISR, r) {
				removed = append(removed, r)
			}
		}
		l := eventLine{name: fmt.Sprintf("%s-%d", c.key.topic, c.key.partition), msg: "ISR expanded", kind: "expanded", level: slog.LevelInfo}
		if len(removed) > 0 {
			l.msg, l.kind = "ISR shrunk", "shrunk"
			if c.reason == isrLagging {
				// A follower that fell behind for replica.lag.time.max.ms:
				// dead, cut off or too slow. Anything else is routine.
				l.kind, l.level = "shrunk_lagging", slog.LevelWarn
			}
		}
		l.args = []any{"topic", c.key.topic, "partition", c.key.partition,
			"leader", m.cfg.NodeID, "leader_epoch", c.epoch, "old_isr", c.old, "isr", c.mp.ISR,
			"added", added, "removed", removed, "reason", c.reason, "replicas", c.mp.Replicas,
			"under_replicated", len(c.mp.ISR) < len(c.mp.Replicas)}
		lines = append(lines, l)
	}
	m.isrBurst.log(lines)
}

// eventLine is one partition's line of an event.
type eventLine struct {
	name  string // topic-partition, for a summary's examples
	kind  string // what a summary counts it as
	msg   string
	level slog.Level
	args  []any
}

// eventBurst logs one event's per-partition lines within the limits above.
type eventBurst struct {
	logger     *slog.Logger
	event, msg string        // the event, and its summary line's message
	window     time.Duration // burstWindow
	now        func() time.Time

	mu     sync.Mutex
	start  time.Time // of the current window
	logged int       // lines logged in it, summaryOver once saturated
	held   []eventLine
	timer  *time.Timer // flushes held at the window's end
	closed bool
}

func newEventBurst(logger *slog.Logger, event, msg string) *eventBurst {
	return &eventBurst{logger: logger, event: event, msg: msg, window: burstWindow, now: time.Now}
}

// log logs the lines of one image change.
func (b *eventBurst) log(lines []eventLine) {
	if len(lines) == 0 {
		return
	}
	if len(lines) > summaryOver {
		for _, l := range lines {
			b.logger.Debug(l.msg, l.args...)
		}
		b.summarize(lines)
		b.mu.Lock()
		b.start, b.logged = b.now(), summaryOver
		b.mu.Unlock()
		return
	}
	now := b.now()
	b.mu.Lock()
	if now.Sub(b.start) >= b.window && b.timer == nil {
		b.start, b.logged = now, 0
	}
	var own, held []eventLine
	for _, l := range lines {
		if b.logged < summaryOver {
			b.logged++
			own = append(own, l)
		} else {
			held = append(held, l)
		}
	}
	b.held = append(b.held, held...)
	if len(b.held) > 0 && b.timer == nil && !b.closed {
		b.timer = time.AfterFunc(max(b.window-now.Sub(b.start), 0), b.flush)
	}
	b.mu.Unlock()
	for _, l := range own {
		b.logger.Log(context.Background(), l.level, l.msg, append([]any{"event", b.event}, l.args...)...)
	}
	for _, l := range held {
		b.logger.Debug(l.msg, l.args...)
	}
}

// flush logs the summary of the lines held back in a window. The window
// after one that held lines starts saturated: a burst usually goes on.
func (b *eventBurst) flush() {
	b.mu.Lock()
	held := b.held
	b.held, b.timer = nil, nil
	b.start, b.logged = b.now(), summaryOver
	b.mu.Unlock()
	if len(held) > 0 {
		b.summarize(held)
	}
}

// close flushes what is held and stops the timer.
func (b *eventBurst) close() {
	b.mu.Lock()
	b.closed = true
	t := b.timer
	b.mu.Unlock()
	if t != nil && t.Stop() {
		b.flush()
	}
}

func (b *eventBurst) summarize(lines []eventLine) {
	lv := slog.LevelInfo
	counts := map[string]int{}
	names := make([]string, 0, len(lines))
	for _, l := range lines {
		lv = max(lv, l.level)
		counts[l.kind]++
		names = append(names, l.name)
	}
	args := []any{"event", b.event, "partitions", len(lines)}
	kinds := slices.Sorted(maps.Keys(counts))
	for _, k := range kinds {
		args = append(args, k, counts[k])
	}
	args = append(args, "examples", examples(names))
	b.logger.Log(context.Background(), lv, b.msg, args...)
}

// examples is a few of names, for a summary line.
func examples(names []string) string {
	const few = 5
	if len(names) <= few {
		return strings.Join(names, " ")
	}
	return strings.Join(names[:few], " ") + fmt.Sprintf(" (and %d more)", len(names)-few)
}
