package broker_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

func getOps(t *testing.T, b *broker.Broker, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + b.MetricsAddr().String() + path)
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

// TestOpsListener: metrics.listeners serves /readyz and the broker's
// metrics; it is off by default.
func TestOpsListener(t *testing.T) {
	if b := broker.StartTest(t, nil); b.MetricsAddr() != nil {
		t.Fatalf("metrics listener on by default at %v", b.MetricsAddr())
	}
	b := broker.StartTest(t, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	if err := b.Engine.CreateTopic("t", 3, nil); err != nil {
		t.Fatal(err)
	}
	if code, body := getOps(t, b, "/readyz"); code != http.StatusOK || strings.TrimSpace(body) != `{"ready":true}` {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	code, body := getOps(t, b, "/metrics")
	for _, want := range []string{"# HELP sluice_partitions ", "\nsluice_partitions 3\n", "\ngo_goroutines ", "\nprocess_open_fds "} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
	// Prometheus's own linter, where it is installed (apt: prometheus).
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
}

// TestOpsListenerCluster: a cluster member is ready once registered.
func TestOpsListenerCluster(t *testing.T) {
	bs := broker.StartTestCluster(t, 1, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	b := bs[0]
	if !b.Member().Registered() {
		t.Fatal("started but not registered")
	}
	if code, body := getOps(t, b, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	// Close shuts the listener down.
	addr := b.MetricsAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("ops listener answers after Close")
	}
}

func TestMetricsListenersProperty(t *testing.T) {
	c := broker.DefaultConfig()
	if c.MetricsListen != "" {
		t.Fatalf("default %q", c.MetricsListen)
	}
	if err := c.ApplyProperties(map[string]string{"metrics.listeners": "http://127.0.0.1:9644"}); err != nil {
		t.Fatal(err)
	}
	if c.MetricsListen != "127.0.0.1:9644" {
		t.Fatalf("%q", c.MetricsListen)
	}
	if err := c.ApplyProperties(map[string]string{"metrics.listeners": ""}); err != nil || c.MetricsListen != "" {
		t.Fatalf("empty: %v %q", err, c.MetricsListen)
	}
	for _, bad := range []string{"127.0.0.1:9644", "https://127.0.0.1:9644", "http://127.0.0.1", "http://a:1,http://b:2"} {
		if err := c.ApplyProperties(map[string]string{"metrics.listeners": bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
