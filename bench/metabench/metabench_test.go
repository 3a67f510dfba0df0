package metabench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunTiny runs the whole harness at a tiny size: a single-node broker
// and a cluster of three, a few creates, deletes and leader moves, and the
// limits. It checks counts and the report's shape, not timings.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four brokers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Topics: 4, Concurrency: 2, Moves: 6, Syncs: 5, Dir: t.TempDir(), Command: "metabench test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	// Single node: create and delete, 1 and 2 workers; cluster: the same
	// for RF 1 and RF 3, and two move phases.
	if got, want := len(rep.Phases), 4+8+2; got != want {
		t.Fatalf("%d phases, want %d: %+v", got, want, rep.Phases)
	}
	for _, ph := range rep.Phases {
		if ph.Count <= 0 || ph.PerSec <= 0 || ph.P50us <= 0 || ph.P99us < ph.P50us || ph.MaxUs < ph.P99us || ph.LimitPS <= 0 || ph.Ratio <= 0 {
			t.Errorf("phase %+v", ph)
		}
	}
	for _, want := range []struct {
		target, op string
		workers    int
	}{{targetSingle, "create RF 1", 2}, {targetCluster, "create RF 3", 1}, {targetCluster, "delete RF 3", 2}, {targetCluster, "leader move", 2}} {
		if _, ok := rep.Find(want.target, want.op, want.workers); !ok {
			t.Errorf("no phase %s, %s, %d workers", want.target, want.op, want.workers)
		}
	}
	// One measurement before each target's first phase, one after each
	// phase.
	if len(rep.Syncs) != len(rep.Phases)+2 || rep.LogStorePS <= 0 || rep.FdatasyncPS <= 0 {
		t.Errorf("limits %+v, median %.0f and %.0f", rep.Syncs, rep.LogStorePS, rep.FdatasyncPS)
	}
	if rep.Controller < 1 || rep.Controller > ClusterSize {
		t.Errorf("controller %d", rep.Controller)
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "`metabench test`") || strings.Count(md.String(), "\n| ") != len(rep.Phases)+1 {
		t.Errorf("markdown:\n%s", md.String())
	}
}
