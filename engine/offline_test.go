package engine_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// TestStorageErrorTakesPartitionOffline: an EIO on one partition's log
// write fails that append with ErrStorage and takes the partition offline
// for good (appends and reads refused, the broker told once), while every
// other partition carries on; what was written before stays readable after
// a restart on a healthy disk.
func TestStorageErrorTakesPartitionOffline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   fsys.Fault
		configs map[string]string
	}{
		{"EIO on write", fsys.Fault{Ops: fsys.OpWrite, Err: syscall.EIO}, nil},
		{"ENOSPC on write", fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC}, nil},
		{"short write", fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, Short: 20}, nil},
		{"EIO on fdatasync", fsys.Fault{Ops: fsys.OpSync, Err: syscall.EIO}, map[string]string{"flush.on.ack": "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) { storageErrorOffline(t, tc.fault, tc.configs) })
	}
}

func storageErrorOffline(t *testing.T, fault fsys.Fault, configs map[string]string) {
	dir := t.TempDir()
	faulty := fsys.NewFaulty(fsys.OS{})
	var told atomic.Int32
	var toldWhat atomic.Value
	e, err := engine.Open(dir, engine.Options{FS: faulty, OnStorageError: func(topic string, partition int32, err error) {
		told.Add(1)
		toldWhat.Store(topic)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sick", "well"} {
		if err := e.CreateTopic(name, 1, configs); err != nil {
			t.Fatal(err)
		}
	}
	sick, _ := e.Partition("sick", 0)
	well, _ := e.Partition("well", 0)
	for _, p := range []*engine.Partition{sick, well} {
		if _, err := p.Append(buildBatch(t, batch.None, "before", 3, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	fault.Path = func(path string) bool { return strings.Contains(path, "sick-0") }
	faulty.Inject(fault)
	if _, err := sick.Append(buildBatch(t, batch.None, "lost", 3, 1000)); !errors.Is(err, engine.ErrStorage) {
		t.Fatalf("append on the fault: %v, want ErrStorage", err)
	}
	faulty.Clear()
	if !sick.Offline() || told.Load() != 1 || toldWhat.Load() != "sick" {
		t.Fatalf("offline %v, told %d times about %v", sick.Offline(), told.Load(), toldWhat.Load())
	}
	// Offline for good, even with the disk healthy again.
	if _, err := sick.Append(buildBatch(t, batch.None, "after", 1, 1000)); !errors.Is(err, engine.ErrStorage) {
		t.Fatalf("append after the error: %v, want ErrStorage", err)
	}
	if _, err := sick.Read(0, 1<<20); !errors.Is(err, engine.ErrStorage) {
		t.Fatalf("read after the error: %v, want ErrStorage", err)
	}
	if _, err := well.Append(buildBatch(t, batch.None, "more", 2, 1000)); err != nil {
		t.Fatalf("the healthy partition: %v", err)
	}
	if told.Load() != 1 {
		t.Fatalf("told %d times", told.Load())
	}
	e.Close()

	e = openEngine(t, dir, engine.Options{})
	sick, _ = e.Partition("sick", 0)
	well, _ = e.Partition("well", 0)
	// What was acknowledged is there; the failed append was not
	// acknowledged, so it may or may not be (a failed fdatasync leaves the
	// bytes in the file), and a producer retries it.
	if got := readAll(t, sick, 0); len(got) < 3 || got[2].value != "before-2" {
		t.Fatalf("after restart the sick partition holds %v", got)
	}
	if got := readAll(t, well, 0); len(got) != 5 {
		t.Fatalf("after restart the healthy partition holds %d records", len(got))
	}
}
