package broker_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

// eventLog keeps every log record that carries an event attribute.
type eventLog struct {
	mu     sync.Mutex
	events []map[string]string
	attrs  []slog.Attr
}

func (l *eventLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *eventLog) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"level": r.Level.String(), "msg": r.Message}
	for _, a := range l.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	if m["event"] == "" {
		return nil
	}
	l.mu.Lock()
	l.events = append(l.events, m)
	l.mu.Unlock()
	return nil
}

func (l *eventLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventChild{parent: l, attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

func (l *eventLog) WithGroup(string) slog.Handler { return l }

// eventChild is the eventLog with attributes added (logger.With).
type eventChild struct {
	parent *eventLog
	attrs  []slog.Attr
}

func (c *eventChild) Enabled(context.Context, slog.Level) bool { return true }
func (c *eventChild) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(c.attrs...)
	return c.parent.Handle(ctx, r)
}
func (c *eventChild) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventChild{parent: c.parent, attrs: append(append([]slog.Attr(nil), c.attrs...), as...)}
}
func (c *eventChild) WithGroup(string) slog.Handler { return c }

// find returns the events called name whose attributes include want.
func (l *eventLog) find(name string, want ...string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
next:
	for _, e := range l.events {
		if e["event"] != name {
			continue
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if e[k] != v {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func startLogged(t *testing.T, edit func(*broker.Config)) (*broker.Broker, *eventLog) {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.KafkaListen, cfg.MetricsListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	log := &eventLog{}
	b, err := broker.Start(cfg, slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return b, log
}

// TestStartEvents: start-up logs one event line per step with stable
// keys: the engine opened, each listener bound, the broker started.
func TestStartEvents(t *testing.T) {
	_, log := startLogged(t, nil)
	if len(log.find("engine_opened")) != 1 || len(log.find("start")) != 1 {
		t.Errorf("engine_opened %v, start %v", log.find("engine_opened"), log.find("start"))
	}
	for _, proto := range []string{"sluice", "kafka", "http"} {
		if got := log.find("listener_bound", "protocol="+proto); len(got) != 1 || got[0]["addr"] == "" {
			t.Errorf("listener_bound protocol=%s: %v", proto, got)
		}
	}
}

// TestSlowRequestEvents: a request over slow.request.log.threshold.ms is
// logged once with its API and counted; with the threshold at 0 none is.
func TestSlowRequestEvents(t *testing.T) {
	produce := func(b *broker.Broker) {
		t.Helper()
		kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()), kgo.DefaultProduceTopic("slow"))
		if err != nil {
			t.Fatal(err)
		}
		defer kc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := kc.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// A threshold of a nanosecond makes every request slow.
	b, log := startLogged(t, func(c *broker.Config) { c.SlowRequestThreshold = time.Nanosecond })
	if err := b.Engine.CreateTopic("slow", 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(b)
	// The line is written after the response, so it may trail the client.
	var got []map[string]string
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got = log.find("slow_request", "api=Produce")
	}
	if len(got) == 0 || got[0]["took"] == "" || got[0]["level"] != "WARN" {
		t.Fatalf("no slow_request event for Produce: %v", got)
	}
	if v := scrapeMetrics(t, b).must(t, "sluice_slow_requests_total", "listener=kafka", "api=Produce"); v < 1 {
		t.Fatalf("sluice_slow_requests_total{api=Produce} = %v", v)
	}

	off, offLog := startLogged(t, func(c *broker.Config) { c.SlowRequestThreshold = 0 })
	if err := off.Engine.CreateTopic("slow", 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(off)
	if got := offLog.find("slow_request"); len(got) != 0 {
		t.Fatalf("slow_request logged with the threshold off: %v", got)
	}
}
