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

// TestCreateRefusedUpFront: a create whose partitions would not fit the
// descriptor budget is refused before it makes anything; what fits is
// created, and a CreatePartitions past the budget leaves the topic as it
// was. A create whose preallocated indexes would not fit the free space
// is refused too.
func TestCreateRefusedUpFront(t *testing.T) {
	dir := t.TempDir()
	e := openWithDescriptorBudget(t, dir, 100) // 33 partitions at three each
	err := e.CreateTopic("big", 50, nil)
	if !errors.Is(err, engine.ErrResourceLimit) || !strings.Contains(err.Error(), "RLIMIT_NOFILE") {
		t.Fatalf("create of 50: %v, want ErrResourceLimit naming RLIMIT_NOFILE", err)
	}
	if d := partitionDirs(t, dir, "big"); len(d) != 0 {
		t.Fatalf("refused create left %v", d)
	}
	if err := e.CreateTopic("big", 20, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.CreatePartitions("big", 40); !errors.Is(err, engine.ErrResourceLimit) {
		t.Fatalf("grow to 40: %v, want ErrResourceLimit", err)
	}
	d, err := e.DescribeTopic("big")
	if err != nil || d.PartitionCount != 20 || len(partitionDirs(t, dir, "big")) != 20 {
		t.Fatalf("after refused grow: %d partitions, dirs %v, err %v", d.PartitionCount, partitionDirs(t, dir, "big"), err)
	}
	if err := e.CreatePartitions("big", 30); err != nil {
		t.Fatalf("grow within budget: %v", err)
	}

	dir = t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free > 300<<30 {
		t.Skipf("%d GiB free: more than the create below needs", free>>30)
	}
	// An index entry per batch of 1 GiB segments: about 350 MB of
	// preallocated indexes a partition, 350 GB for the topic.
	wide := openEngine(t, dir, engine.Options{})
	err = wide.CreateTopic("wide", 1000, map[string]string{"segment.bytes": "1073741824", "segment.index.bytes": "2147483647", "index.interval.bytes": "0"})
	if !errors.Is(err, engine.ErrResourceLimit) || !strings.Contains(err.Error(), "MiB of disk") {
		t.Fatalf("create needing 350 GB: %v", err)
	}
	if d := partitionDirs(t, dir, "wide"); len(d) != 0 {
		t.Fatalf("refused create left %d directories", len(d))
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
