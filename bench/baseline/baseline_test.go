package baseline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/netbench"
)

// TestMain lets the test binary serve as netbench's -sink and -source
// helpers.
func TestMain(m *testing.M) {
	if code, ok := netbench.HelperMain(os.Args[1:]); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestRunTiny runs two tiny rounds with the working tree's sluiced as both
// builds (building the baseline from git is the command's job, and slow):
// the runs alternate, every figure is there, and the
// markdown has a row per round. No timing is asserted.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs sluiced")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluiced")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sluicelog/sluice/cmd/sluiced")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rep, err := Run(ctx, Config{Rev: "HEAD", Rounds: 2, Records: 20000, LatencyDuration: 200 * time.Millisecond,
		BaselineSluiced: bin, CurrentSluiced: bin, Dir: dir, Command: "baseline test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("problems: %q", rep.Problems)
	}
	// B C B C B: the rounds share their middle baseline run.
	if len(rep.Rounds) != 2 || rep.Rounds[0].After.ProduceMBps != rep.Rounds[1].Before.ProduceMBps || rep.Rounds[0].Before.Build != "baseline" || rep.Rounds[0].Current.Build != "current" {
		t.Fatalf("rounds %+v", rep.Rounds)
	}
	for i, r := range rep.Rounds {
		for _, res := range []Result{r.Before, r.Current, r.After} {
			if res.ProduceMBps <= 0 || res.ConsumeMBps <= 0 || res.RawFetchMBps <= 0 {
				t.Errorf("round %d: %+v", i+1, res)
			}
		}
	}
	if rep.Median.Produce <= 0 || rep.ControlMedian.Produce <= 0 || rep.Min.Consume > rep.Median.Consume || rep.Max.Consume < rep.Median.Consume {
		t.Errorf("median %+v, min %+v, max %+v", rep.Median, rep.Min, rep.Max)
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "`baseline test`") || !strings.Contains(md.String(), "| **median** |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

// TestExtract checks that a revision's tree lands where the build expects
// it.
func TestExtract(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git archive")
	}
	ctx := context.Background()
	top, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Skipf("not in a git work tree: %v", err)
	}
	dst := t.TempDir()
	if err := extract(ctx, top, "HEAD", dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "cmd/sluiced/sluiced.properties"} {
		if _, err := os.Stat(filepath.Join(dst, f)); err != nil {
			t.Error(err)
		}
	}
}
