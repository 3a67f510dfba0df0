package ops_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicelog/sluice/net/ops"
)

// start serves cfg on 127.0.0.1:0 until the test ends and returns its
// base URL.
func start(t *testing.T, cfg ops.Config) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s := ops.New(cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestHealthz(t *testing.T) {
	base := start(t, ops.Config{})
	code, body := get(t, base+"/healthz")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("%d %s", code, body)
	}
}

func TestReadyz(t *testing.T) {
	var ready atomic.Bool
	base := start(t, ops.Config{Ready: func() (bool, map[string]string) {
		if ready.Load() {
			return true, nil
		}
		return false, map[string]string{"engine": "recovering logs"}
	}})

	code, body := get(t, base+"/readyz")
	var got struct {
		Ready   bool              `json:"ready"`
		Reasons map[string]string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if code != http.StatusServiceUnavailable || got.Ready || got.Reasons["engine"] != "recovering logs" {
		t.Fatalf("not ready: %d %s", code, body)
	}

	ready.Store(true)
	code, body = get(t, base+"/readyz")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"ready":true}` {
		t.Fatalf("ready: %d %s", code, body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_test_answer", Help: "A test gauge.",
	}, func() float64 { return 42 }))
	base := start(t, ops.Config{Registry: reg})

	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{"\ngo_goroutines ", "# HELP sluice_test_answer A test gauge.", "\nsluice_test_answer 42\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestPprof(t *testing.T) {
	base := start(t, ops.Config{})
	code, body := get(t, base+"/debug/pprof/")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") || !strings.Contains(body, "mutex") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	code, body = get(t, base+"/debug/pprof/goroutine?debug=1")
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile: total") {
		t.Fatalf("goroutine: %d %.200s", code, body)
	}
}
