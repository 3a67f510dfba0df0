package broker_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// gatedFS holds every file open until the gate closes: a disk so slow
// that log recovery waits on it.
type gatedFS struct {
	fsys.OS
	gate chan struct{}
}

func (g gatedFS) OpenFile(name string, flag int, perm os.FileMode) (fsys.File, error) {
	<-g.gate
	return g.OS.OpenFile(name, flag, perm)
}

// readyz asks addr's /readyz; it returns the status code and reasons.
func readyz(t *testing.T, addr string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Ready   bool              `json:"ready"`
		Reasons map[string]string `json:"reasons"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	if body.Ready != (resp.StatusCode == http.StatusOK) {
		t.Fatalf("/readyz: status %d but ready %v", resp.StatusCode, body.Ready)
	}
	return resp.StatusCode, body.Reasons
}

// waitReadyz polls /readyz until it answers code, or fails the test.
func waitReadyz(t *testing.T, addr string, code int, within time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, reasons := readyz(t, addr)
		if got == code {
			return reasons
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %v after %v, want %d", got, reasons, within, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadyzDuringRecovery: while the logs are being recovered the
// operations listener already answers, /healthz says the process is up
// and /readyz says why it is not ready; once recovery ends it is ready.
func TestReadyzDuringRecovery(t *testing.T) {
	dir := t.TempDir()
	// A data directory with logs in it.
	first := broker.StartTest(t, func(c *broker.Config) { c.DataDir = dir })
	if err := first.Engine.CreateTopic("logs", 4, nil); err != nil {
		t.Fatal(err)
	}
	// Partitions make their files on their first append: give each one.
	bld := batch.NewBuilder(batch.None)
	bld.Append(1, nil, []byte("v"), nil)
	rec, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	for id := int32(0); id < 4; id++ {
		p, err := first.Engine.Partition("logs", id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// As after a crash: without the clean-shutdown marker every log is
	// scanned at start-up.
	if err := os.Remove(filepath.Join(dir, ".clean-shutdown")); err != nil {
		t.Fatal(err)
	}
	// and with torn tails, so that the logs are not as Close left them.
	for id := 0; id < 4; id++ {
		f, err := os.OpenFile(filepath.Join(dir, "logs-"+string(rune('0'+id)), "00000000000000000000.log"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("torn")); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	gate := make(chan struct{})
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.KafkaListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.MetricsListener = ln
	cfg.FS = gatedFS{gate: gate}
	started := make(chan *broker.Broker, 1)
	go func() {
		b, err := broker.Start(cfg, nil)
		if err != nil {
			t.Errorf("start: %v", err)
		}
		started <- b
	}()
	var release sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	defer open() // a test failing below must not leave Start blocked

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz during recovery: %s", resp.Status)
	}
	code, reasons := readyz(t, addr)
	if code != http.StatusServiceUnavailable || !strings.Contains(reasons["startup"], "recovering its logs") {
		t.Fatalf("/readyz during recovery: %d %v", code, reasons)
	}

	// Recovery goes on; the broker comes up and says so.
	open()
	b := <-started
	if b == nil {
		t.FailNow()
	}
	defer b.Close(context.Background())
	waitReadyz(t, addr, http.StatusOK, 10*time.Second)
	page := scrapeMetrics(t, b)
	if got := page.must(t, "sluice_partitions"); got != 4 {
		t.Fatalf("sluice_partitions %v after recovery, want 4", got)
	}
	if got := page.must(t, "sluice_recovery_partitions"); got != 4 {
		t.Fatalf("sluice_recovery_partitions %v after an unclean restart, want 4", got)
	}
}

// TestReadyzCutOffFromQuorum: a cluster broker that loses its quorum says
// why it is not ready.
func TestReadyzCutOffFromQuorum(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
	for _, b := range bs {
		waitReadyz(t, b.MetricsAddr().String(), http.StatusOK, 20*time.Second)
	}
	// Two of three voters go: the last has no quorum, so no controller
	// acknowledges its heartbeats and no raft leader is known.
	for _, b := range bs[1:] {
		b.Member().SkipControlledShutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		b.Close(ctx)
		cancel()
	}
	reasons := waitReadyz(t, bs[0].MetricsAddr().String(), http.StatusServiceUnavailable, 30*time.Second)
	why := reasons["cluster"]
	if !strings.Contains(why, "heartbeat") && !strings.Contains(why, "quorum leader") {
		t.Fatalf("/readyz reasons %v do not say the broker is cut off", reasons)
	}
	t.Logf("cut-off broker: %v", reasons)
}
