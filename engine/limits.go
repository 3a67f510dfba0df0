package engine

// Operating-system limits that bound how many partitions an engine can
// hold: file descriptors (RLIMIT_NOFILE), memory mappings
// (vm.max_map_count), and the data directory's free space and inodes.
//
// Open reads them once and derives budgets (Engine.Limits); it refuses to
// start when the budgets are below a floor, with an error naming the limit
// and how to raise it. Topic creation checks, before it makes anything,
// that the new partitions fit in what is left, and refuses with
// ErrResourceLimit otherwise: a create fails whole and early instead of
// running into EMFILE or ENOSPC half-way through.
//
// What one partition costs lives in one place, newPartitionCost: the
// handle budget (idle partitions giving their files back) changes it.

import (
	"errors"
	"fmt"
	"syscall"
)

const (
	// metaMaxOpenFiles caps the metadata store's open table files
	// (pebble's MaxOpenFiles): a known number that the descriptor budget
	// sets aside. The store is small (a few keys per partition), so its
	// tables are few; past the cap pebble closes the least used.
	metaMaxOpenFiles = 256
	// descriptorMargin is kept for everything else a process opens: the
	// lock file, pebble's WAL and manifest, directory syncs, sealed
	// segments read now and then, the standard streams.
	descriptorMargin = 128
	// mappingMargin is kept for the Go runtime, shared libraries and
	// pebble (which maps nothing much, but the heap grows in mappings).
	mappingMargin = 1024
	// MinDescriptorBudget and MinMappingBudget are the floors below which
	// Open refuses to start: fewer would not hold a few dozen partitions.
	MinDescriptorBudget = 64
	MinMappingBudget    = 64
	// diskReserve is free space a create leaves untouched, so that the
	// partitions already there can still append and roll.
	diskReserve = 64 << 20
)

// Limits are the operating-system limits Open found and the budgets it
// derived from them. A budget of -1 means the limit is unknown on this
// platform (or unlimited): nothing is checked against it.
//
// Descriptors and Mappings are what segment files (logs and their
// indexes) may hold at once: a handle budget that parks idle segments
// should keep the engine's open segment files within Descriptors and its
// index mappings within Mappings.
type Limits struct {
	// OpenFiles is the soft RLIMIT_NOFILE (ulimit -n) of the process.
	OpenFiles int64
	// ReservedDescriptors is the part of OpenFiles kept for other uses:
	// Options.ReservedDescriptors (the broker's connections and other
	// stores), the metadata store's table files and a margin.
	ReservedDescriptors int64
	// Descriptors is OpenFiles less ReservedDescriptors.
	Descriptors int64
	// MaxMapCount is vm.max_map_count; MappingsAtOpen is how many
	// mappings the process had when the engine opened.
	MaxMapCount    int64
	MappingsAtOpen int64
	// Mappings is MaxMapCount less MappingsAtOpen and a margin.
	Mappings int64
}

// sysLimits is what the platform reports; -1 for what it cannot tell.
type sysLimits struct {
	openFiles   int64
	maxMapCount int64
	mappings    int64
}

// diskSpace is the free space of the data directory's file system; -1
// for what it cannot tell (some file systems report no inode counts).
type diskSpace struct {
	freeBytes  int64
	freeInodes int64
}

// partitionCost is what one new partition takes of the disk.
type partitionCost struct {
	bytes  int64
	inodes int64
}

// newPartitionCost is what a newly created partition takes of the limited
// resources. Descriptors and mappings are not counted per partition: the
// handle budget (handles.go) bounds every open segment's files and
// mappings together, parking idle partitions, so any number of partitions
// fits in them. A create itself writes nothing but the topic's record
// (partitions make their directory and files on their first append), so
// what is checked is room for that first append: the directory's block
// and the log's first block, and an inode each for the directory, the log
// and its two indexes.
func newPartitionCost() partitionCost {
	return partitionCost{
		bytes:  8192,
		inodes: 4,
	}
}

// computeLimits derives the budgets from what the platform reports and
// checks them against the floors. The descriptors reserved for others
// (connections, mostly) are capped at half the limit: a max.connections
// the limit cannot serve anyway (Kafka's default is unbounded) then costs
// a warning, not a refusal to start. warn says so when it happens.
func computeLimits(s sysLimits, reserved int64) (l Limits, warn string, err error) {
	l = Limits{OpenFiles: s.openFiles, Descriptors: -1, MaxMapCount: s.maxMapCount, MappingsAtOpen: s.mappings, Mappings: -1}
	reserved = max(reserved, 0)
	if s.openFiles >= 0 && reserved > s.openFiles/2 {
		warn = fmt.Sprintf("the open files limit (RLIMIT_NOFILE) is %d, too low for the %d descriptors asked for connections "+
			"(max.connections) and other stores: they get %d, and connections past that fail to open; raise the limit "+
			"(ulimit -n, LimitNOFILE= in a systemd unit) or lower max.connections", s.openFiles, reserved, s.openFiles/2)
		reserved = s.openFiles / 2
	}
	l.ReservedDescriptors = reserved + metaMaxOpenFiles + descriptorMargin
	if s.openFiles >= 0 {
		l.Descriptors = s.openFiles - l.ReservedDescriptors
		if l.Descriptors < MinDescriptorBudget {
			return l, warn, fmt.Errorf("%w: the open files limit (RLIMIT_NOFILE) is %d, and %d of it are reserved "+
				"(%d for connections and other stores, %d for the metadata store, %d spare), leaving %d for partitions, "+
				"below the %d needed: raise it (ulimit -n in the shell that starts sluiced, LimitNOFILE= in its "+
				"systemd unit, nofile in /etc/security/limits.conf), or lower max.connections",
				ErrResourceLimit, s.openFiles, l.ReservedDescriptors, reserved, metaMaxOpenFiles, descriptorMargin,
				l.Descriptors, MinDescriptorBudget)
		}
	}
	if s.maxMapCount >= 0 {
		l.Mappings = s.maxMapCount - max(s.mappings, 0) - mappingMargin
		if l.Mappings < MinMappingBudget {
			return l, warn, fmt.Errorf("%w: the memory map limit (vm.max_map_count) is %d and the process already has %d mappings, "+
				"leaving %d for partition indexes, below the %d needed: raise it (sysctl -w vm.max_map_count=262144, "+
				"and in /etc/sysctl.d to keep it)", ErrResourceLimit, s.maxMapCount, s.mappings, l.Mappings, MinMappingBudget)
		}
	}
	return l, warn, nil
}

// Limits returns the limits and budgets Open derived.
func (e *Engine) Limits() Limits { return e.limits }

// checkCreate refuses, with ErrResourceLimit, adding n partitions of cost
// c to an engine whose partitions already take their share. Callers hold
// e.mu.
func (e *Engine) checkCreate(n int64, c partitionCost) error {
	if n <= 0 {
		return nil
	}
	d, err := readDiskSpace(e.dir)
	if err != nil {
		return fmt.Errorf("free space of %s: %w", e.dir, err)
	}
	return fitCreate(n, c, d, e.dir)
}

// fitCreate is checkCreate's decision: whether n new partitions of cost c
// fit in the free space d of dir. Descriptors and mappings need no check
// here: the handle budget keeps every partition's within the limits.
func fitCreate(n int64, c partitionCost, d diskSpace, dir string) error {
	if d.freeBytes >= 0 {
		if need := n*c.bytes + diskReserve; need > d.freeBytes {
			return fmt.Errorf("%w: %d new partitions need %d MiB of disk (their first writes, and %d MiB kept "+
				"for the partitions here), but %s has %d MiB free: free some space",
				ErrResourceLimit, n, need>>20, diskReserve>>20, dir, d.freeBytes>>20)
		}
	}
	if d.freeInodes >= 0 {
		if need := n * c.inodes; need > d.freeInodes {
			return fmt.Errorf("%w: %d new partitions need %d inodes (a directory and three files each), but the "+
				"file system of %s has %d free", ErrResourceLimit, n, need, dir, d.freeInodes)
		}
	}
	return nil
}

// resourceError marks an error of creating a partition's files that came
// from an exhausted limit as ErrResourceLimit, with the way to raise it,
// so that a client is told which limit, not a storage failure.
func resourceError(err error) error {
	var hint string
	switch {
	case errors.Is(err, syscall.EMFILE):
		hint = "the open files limit (RLIMIT_NOFILE) was reached: raise it (ulimit -n, LimitNOFILE= in a systemd unit)"
	case errors.Is(err, syscall.ENFILE):
		hint = "the system-wide open files limit was reached: raise fs.file-max"
	case errors.Is(err, syscall.ENOMEM):
		hint = "out of memory mappings (vm.max_map_count) or memory: raise it with sysctl -w vm.max_map_count=262144"
	case errors.Is(err, syscall.ENOSPC):
		hint = "the data directory's file system is full (space or inodes)"
	case errors.Is(err, syscall.EDQUOT):
		hint = "the disk quota of the data directory is used up"
	default:
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrResourceLimit, hint, err)
}
