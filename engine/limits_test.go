//go:build linux

package engine_test

import (
	"errors"
	"os"
	"strings"
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

// TestCreateBeyondDescriptorBudget: the descriptor budget does not bound how many
// partitions a create makes (idle partitions give their descriptors back,
// so a create of five times the budget succeeds and stays within it, and
// every partition takes a record). (A create that would not fit the free
// space or inodes is refused before it makes anything: TestFitCreate.)
func TestCreateBeyondDescriptorBudget(t *testing.T) {
	dir := t.TempDir()
	e := openWithDescriptorBudget(t, dir, 100)
	if err := e.CreateTopic("big", 500, nil); err != nil {
		t.Fatalf("create of 500 partitions with 100 descriptors: %v", err)
	}
	if files, _ := e.OpenSegments(); files > 100 {
		t.Fatalf("after the create %d segments hold a descriptor; the budget is 100", files)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 0 {
		t.Fatalf("create of 500 made %d directories; they wait for the first append", len(d))
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
	if d := partitionDirs(t, dir, "big"); len(d) != 500 {
		t.Fatalf("appends to 500 partitions made %d directories", len(d))
	}
}

// TestCreateFailureLeavesNothing: a create opens no file (partitions
// are made on their first append), so running out of descriptors cannot
// fail it part-way: with every open failing, a create and a grow still
// succeed and make no directory; the first append then reports the
// shortage as ErrResourceLimit-retriable and leaves the partition
// serving, and appends once descriptors are back.
func TestCreateFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	faulty := fsys.NewFaulty(nil)
	e := openEngine(t, dir, engine.Options{FS: faulty})
	faulty.Inject(fsys.Fault{Ops: fsys.OpOpen, Err: syscall.EMFILE})
	if err := e.CreateTopic("big", 400, nil); err != nil {
		t.Fatalf("create with every open failing: %v", err)
	}
	if err := e.CreatePartitions("big", 500); err != nil {
		t.Fatalf("grow with every open failing: %v", err)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 0 {
		t.Fatalf("create made %d directories before any append", len(d))
	}
	p, err := e.Partition("big", 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(buildBatch(t, 0, "v", 3, 1)); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("append with every open failing: %v", err)
	}
	faulty.Clear()
	if _, err := p.Append(buildBatch(t, 0, "v", 3, 1)); err != nil {
		t.Fatalf("append once descriptors are back: %v", err)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 1 {
		t.Fatalf("one append made %d directories, want 1", len(d))
	}
	e.Close()
	e = openEngine(t, dir, engine.Options{})
	if d, err := e.DescribeTopic("big"); err != nil || d.PartitionCount != 500 || len(d.Partitions) != 500 {
		t.Fatalf("reopened: %+v %v", d.PartitionCount, err)
	}
	if p, _ := e.Partition("big", 7); p.HighWatermark() != 3 {
		t.Fatalf("reopened partition 7 ends at %d, want 3", p.HighWatermark())
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 1 {
		t.Fatalf("reopen made %d directories, want 1", len(d))
	}
}

// TestCreateCrashLeavesNothing: a create writes nothing but its commit
// in pebble, so a kill -9 at any point of it leaves no directory: a copy
// of the data directory taken right after the create (as a crash would
// leave it) opens with the topic whole and still no directory; reads of
// its partitions are empty and open nothing, and the first append makes
// the one directory it needs, which survives a restart.
func TestCreateCrashLeavesNothing(t *testing.T) {
	for _, grow := range []bool{false, true} {
		t.Run(map[bool]string{false: "create", true: "grow"}[grow], func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, dir, engine.Options{})
			want := int32(200)
			if grow {
				if err := e.CreateTopic("big", 10, nil); err != nil {
					t.Fatal(err)
				}
				if err := e.CreatePartitions("big", 200); err != nil {
					t.Fatal(err)
				}
			} else if err := e.CreateTopic("big", 200, nil); err != nil {
				t.Fatal(err)
			}
			if d := partitionDirs(t, dir, "big"); len(d) != 0 {
				t.Fatalf("create made %d directories", len(d))
			}
			crashed := crashCopy(t, dir)
			r := openEngine(t, crashed, engine.Options{})
			if d := partitionDirs(t, crashed, "big"); len(d) != 0 {
				t.Fatalf("after restart %d directories of big, want none", len(d))
			}
			d, err := r.DescribeTopic("big")
			if err != nil || d.PartitionCount != want || len(d.Partitions) != int(want) {
				t.Fatalf("topic after restart: %d partitions, %v", d.PartitionCount, err)
			}
			p, err := r.Partition("big", 150)
			if err != nil {
				t.Fatal(err)
			}
			if reg, err := p.Read(0, 1<<20); err != nil || reg.Len != 0 {
				t.Fatalf("read of an empty partition: %+v, %v", reg, err)
			}
			if files, maps := r.OpenSegments(); files != 0 || maps != 0 {
				t.Fatalf("restart opened %d files, %d mappings", files, maps)
			}
			if _, err := p.Append(buildBatch(t, batch.None, "v", 2, 1)); err != nil {
				t.Fatal(err)
			}
			if d := partitionDirs(t, crashed, "big"); len(d) != 1 {
				t.Fatalf("after an append %d directories of big, want 1", len(d))
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r = openEngine(t, crashed, engine.Options{})
			if p, _ := r.Partition("big", 150); p.HighWatermark() != 2 {
				t.Fatalf("appended partition ends at %d after restart, want 2", p.HighWatermark())
			}
			if d := partitionDirs(t, crashed, "big"); len(d) != 1 {
				t.Fatalf("after restart %d directories of big, want 1", len(d))
			}
		})
	}
}
