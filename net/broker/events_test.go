package broker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/internal/logtest"
)

// startLogged starts a broker logging to a recorder (and to stderr with
// BROKER_TEST_LOG set).
func startLogged(t *testing.T, edit func(*broker.Config)) (*broker.Broker, *logtest.Recorder) {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.KafkaListen, cfg.MetricsListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	log := logtest.New()
	b, err := broker.Start(cfg, log.Logger("BROKER_TEST_LOG"))
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
	opened, started := log.Records(logtest.Event("engine_opened")), log.Records(logtest.Event("start"))
	if len(opened) != 1 || len(started) != 1 {
		t.Errorf("engine_opened %v, start %v", opened, started)
	}
	for _, proto := range []string{"sluice", "kafka", "http"} {
		if got := log.Records(logtest.Event("listener_bound", "protocol", proto)); len(got) != 1 || got[0].Attrs["addr"] == "" {
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
	if got := logtest.WaitEvent(t, log, 10*time.Second, logtest.Event("slow_request", "api", "Produce")); got.Attrs["took"] == "" || got.Level != slog.LevelWarn {
		t.Fatalf("slow_request event for Produce: %v", got)
	}
	if v := scrapeMetrics(t, b).must(t, "sluice_slow_requests_total", "listener=kafka", "api=Produce"); v < 1 {
		t.Fatalf("sluice_slow_requests_total{api=Produce} = %v", v)
	}

	off, offLog := startLogged(t, func(c *broker.Config) { c.SlowRequestThreshold = 0 })
	if err := off.Engine.CreateTopic("slow", 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(off)
	// produce closed its client: once the broker has closed the
	// connection too, every request on it is past Finished, where a slow
	// line would have been written.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if scrapeMetrics(t, off).must(t, "sluice_connections", "listener=kafka") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kafka connection stays open after its client closed")
		}
	}
	if got := offLog.Records(logtest.Event("slow_request")); len(got) != 0 {
		t.Fatalf("slow_request logged with the threshold off: %v", got)
	}
}
