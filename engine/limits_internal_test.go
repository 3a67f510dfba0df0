package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestComputeLimits(t *testing.T) {
	// Too low a limit: refused, naming it and the ways to raise it.
	_, _, err := computeLimits(sysLimits{openFiles: 300, maxMapCount: -1}, 10000)
	if !errors.Is(err, ErrResourceLimit) {
		t.Fatalf("300 open files: %v", err)
	}
	for _, want := range []string{"RLIMIT_NOFILE", "is 300", "ulimit -n", "LimitNOFILE", "max.connections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
	// A max.connections the limit cannot serve is capped with a warning.
	l, warn, err := computeLimits(sysLimits{openFiles: 1024, maxMapCount: -1}, 10000)
	if err != nil || !strings.Contains(warn, "max.connections") || l.Descriptors != 1024-512-metaMaxOpenFiles-descriptorMargin {
		t.Fatalf("1024 open files, 10000 connections: %+v %q %v", l, warn, err)
	}
	l, warn, err = computeLimits(sysLimits{openFiles: 20000, maxMapCount: 65530, mappings: 500}, 10000)
	if err != nil || warn != "" || l.Descriptors != 20000-10000-metaMaxOpenFiles-descriptorMargin || l.Mappings != 65530-500-mappingMargin {
		t.Fatalf("default limits: %+v %q %v", l, warn, err)
	}
	// Unknown limits are not checked.
	if l, _, err := computeLimits(sysLimits{openFiles: -1, maxMapCount: -1, mappings: -1}, 10000); err != nil || l.Descriptors != -1 || l.Mappings != -1 {
		t.Fatalf("unknown limits: %+v %v", l, err)
	}
	_, _, err = computeLimits(sysLimits{openFiles: 20000, maxMapCount: 1100, mappings: 60}, 0)
	if !errors.Is(err, ErrResourceLimit) || !strings.Contains(err.Error(), "vm.max_map_count") || !strings.Contains(err.Error(), "sysctl") {
		t.Fatalf("max_map_count 1100: %v", err)
	}
}

// A create is refused whole when its partitions' first index chunks or
// inodes do not fit what the file system has free, naming what is short;
// unknown free counts are not checked.
func TestFitCreate(t *testing.T) {
	c := newPartitionCost()
	enough := diskSpace{freeBytes: 1000*c.bytes + diskReserve, freeInodes: 4000}
	if err := fitCreate(1000, c, enough, "/data"); err != nil {
		t.Fatalf("1000 partitions in room for 1000: %v", err)
	}
	if err := fitCreate(1001, c, enough, "/data"); !errors.Is(err, ErrResourceLimit) || !strings.Contains(err.Error(), "MiB of disk") || !strings.Contains(err.Error(), "/data") {
		t.Fatalf("1001 partitions in room for 1000: %v", err)
	}
	if err := fitCreate(1001, c, diskSpace{freeBytes: -1, freeInodes: 4000}, "/data"); !errors.Is(err, ErrResourceLimit) || !strings.Contains(err.Error(), "inodes") {
		t.Fatalf("1001 partitions with inodes for 1000: %v", err)
	}
	if err := fitCreate(100000, c, diskSpace{freeBytes: -1, freeInodes: -1}, "/data"); err != nil {
		t.Fatalf("unknown free space: %v", err)
	}
}
