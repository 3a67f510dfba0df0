//go:build linux

package engine_test

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// partitionDirs lists the data directory's entries that belong to topic:
// its partitions' directories, and any of them being deleted.
func partitionDirs(t *testing.T, dir, topic string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), topic+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func softNofile(t *testing.T) int64 {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	return int64(rl.Cur)
}

// TestLimitsReported: Open reports the process's limits and budgets that
// add up.
func TestLimitsReported(t *testing.T) {
	e := openEngine(t, t.TempDir(), engine.Options{ReservedDescriptors: 1000})
	l := e.Limits()
	if l.OpenFiles != softNofile(t) || l.ReservedDescriptors <= 1000 || l.Descriptors != l.OpenFiles-l.ReservedDescriptors ||
		l.Descriptors < engine.MinDescriptorBudget {
		t.Errorf("limits %+v do not add up (soft RLIMIT_NOFILE %d)", l, softNofile(t))
	}
	if l.MaxMapCount > 0 && (l.Mappings < engine.MinMappingBudget || l.Mappings >= l.MaxMapCount || l.MappingsAtOpen <= 0) {
		t.Errorf("mapping budget %d of vm.max_map_count %d", l.Mappings, l.MaxMapCount)
	}
}

// openWithDescriptorBudget opens an engine whose descriptor budget is
// budget: the soft RLIMIT_NOFILE is lowered for the Open, which reads it,
// and restored right after.
func openWithDescriptorBudget(t *testing.T, dir string, budget int64) *engine.Engine {
	t.Helper()
	probe := openEngine(t, t.TempDir(), engine.Options{})
	overhead := probe.Limits().ReservedDescriptors
	probe.Close()
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	low := orig
	low.Cur = uint64(overhead + budget)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(dir, engine.Options{})
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if got := e.Limits().Descriptors; got != budget {
		t.Fatalf("descriptor budget %d, want %d", got, budget)
	}
	return e
}

// TestCreateRefusedUpFront: the descriptor budget does not bound how many
// partitions a create makes (idle partitions give their descriptors back,
// so a create of five times the budget succeeds and stays within it, and
// every partition takes a record). (A create that would not fit the free
// space or inodes is refused before it makes anything: TestFitCreate.)
func TestCreateRefusedUpFront(t *testing.T) {
	dir := t.TempDir()
	e := openWithDescriptorBudget(t, dir, 100)
	if err := e.CreateTopic("big", 500, nil); err != nil {
		t.Fatalf("create of 500 partitions with 100 descriptors: %v", err)
	}
	if files, _ := e.OpenSegments(); files > 100 {
		t.Fatalf("after the create %d segments hold a descriptor; the budget is 100", files)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 500 {
		t.Fatalf("create of 500 made %d directories", len(d))
	}
	for i := range int32(500) {
		p, err := e.Partition("big", i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(buildBatch(t, batch.None, "v", 1, 1)); err != nil {
			t.Fatalf("append to partition %d: %v", i, err)
		}
		if i%50 == 49 {
			e.ParkIdle(0) // what the closer does past its high-water mark
		}
	}
	if files, _ := e.OpenSegments(); files > 100 {
		t.Fatalf("after appends to every partition %d segments hold a descriptor; the budget is 100", files)
	}
}

// TestCreateFailureLeavesNothing: a create that runs out of descriptors
// part-way (EMFILE on the hundredth partition's files) reports
// ErrResourceLimit, removes every directory it made, and leaves the
// engine serving; the same create succeeds once descriptors are back, and
// a failed CreatePartitions leaves the partitions that were there.
func TestCreateFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	faulty := fsys.NewFaulty(nil)
	e := openEngine(t, dir, engine.Options{FS: faulty})
	if err := e.CreateTopic("live", 1, nil); err != nil {
		t.Fatal(err)
	}
	faulty.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: syscall.EMFILE, After: 300})
	err := e.CreateTopic("big", 400, nil)
	if !errors.Is(err, engine.ErrResourceLimit) || !errors.Is(err, syscall.EMFILE) || !strings.Contains(err.Error(), "ulimit -n") {
		t.Fatalf("create with EMFILE part-way: %v", err)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 0 {
		t.Fatalf("failed create left %d directories: %v", len(d), d[:min(len(d), 5)])
	}
	if _, err := e.DescribeTopic("big"); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("failed topic visible: %v", err)
	}
	p, err := e.Partition("live", 0)
	if err != nil {
		t.Fatal(err)
	}
	faulty.Clear()
	if _, err := p.Append(buildBatch(t, 0, "v", 3, 1)); err != nil {
		t.Fatalf("append after failed create: %v", err)
	}
	if err := e.CreateTopic("big", 400, nil); err != nil {
		t.Fatalf("create again: %v", err)
	}
	faulty.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: syscall.EMFILE, After: 30})
	if err := e.CreatePartitions("big", 500); !errors.Is(err, engine.ErrResourceLimit) {
		t.Fatalf("grow with EMFILE part-way: %v", err)
	}
	faulty.Clear()
	if d := partitionDirs(t, dir, "big"); len(d) != 400 {
		t.Fatalf("after failed grow: %d directories, want 400", len(d))
	}
	e.Close()
	e = openEngine(t, dir, engine.Options{})
	if d, err := e.DescribeTopic("big"); err != nil || d.PartitionCount != 400 || len(d.Partitions) != 400 {
		t.Fatalf("reopened: %+v %v", d.PartitionCount, err)
	}
}

// TestCreateCrashLeavesNothing: a copy of the data directory taken in the
// middle of a create, as a kill -9 would leave it, opens with no trace of
// the topic: neither in the topic list nor as directories.
func TestCreateCrashLeavesNothing(t *testing.T) {
	for _, grow := range []bool{false, true} {
		t.Run(map[bool]string{false: "create", true: "grow"}[grow], func(t *testing.T) {
			dir := t.TempDir()
			var opens atomic.Int64
			var snapshot atomic.Pointer[string]
			faulty := fsys.NewFaulty(nil)
			e := openEngine(t, dir, engine.Options{FS: faulty})
			if grow {
				if err := e.CreateTopic("big", 10, nil); err != nil {
					t.Fatal(err)
				}
			}
			// The fault fails nothing: its path filter is the hook that
			// copies the directory once 150 segment files are open.
			faulty.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: syscall.EIO, Path: func(string) bool {
				if opens.Add(1) == 150 {
					c := crashCopy(t, dir)
					snapshot.Store(&c)
				}
				return false
			}})
			var err error
			if grow {
				err = e.CreatePartitions("big", 200)
			} else {
				err = e.CreateTopic("big", 200, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			crashed := *snapshot.Load()
			if len(partitionDirs(t, crashed, "big")) <= 10 {
				t.Fatalf("the copy holds %d directories: not taken mid-create", len(partitionDirs(t, crashed, "big")))
			}
			r := openEngine(t, crashed, engine.Options{})
			want := 0
			if grow {
				want = 10
			}
			if d := partitionDirs(t, crashed, "big"); len(d) != want {
				t.Fatalf("after restart %d directories of big, want %d", len(d), want)
			}
			d, err := r.DescribeTopic("big")
			if grow && (err != nil || d.PartitionCount != 10) {
				t.Fatalf("grown topic after restart: %d partitions, %v", d.PartitionCount, err)
			}
			if !grow && !errors.Is(err, engine.ErrUnknownTopic) {
				t.Fatalf("half-created topic after restart: %v", err)
			}
			if err := r.CreateTopic("again", 5, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
