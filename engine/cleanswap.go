package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/segment"
)

// The cleaner replaces a group of sealed segments [base, end) with one
// cleaned segment named base, by a protocol a crash at any step leaves
// recoverable (finishSwaps):
//
//  1. The cleaned segment is written under <partition>/.cleaning/ with
//     its indexes, and synced. A crash here leaves .cleaning/, which
//     recovery deletes: the old segments stand.
//  2. Its log is renamed to <partition>/<base>.log.<end>.swap and the
//     directory synced: the commit point. From here recovery completes
//     the replacement.
//  3. The old segments of [base, end) are deleted, the .swap renamed to
//     <base>.log and the new indexes moved beside it; the directory is
//     synced. Recovery redoes whatever of this a crash interrupted; a
//     missing index is rebuilt from the log.
//
// So after any crash a group is either wholly old or wholly cleaned, and a
// key is never lost: a cleaned group drops only records that a later
// offset of the same key supersedes, and later offsets are never in the
// group being replaced.
const (
	cleaningDirName = ".cleaning"
	swapSuffix      = ".swap"
)

// swapName is the committed name of a cleaned segment's log.
func swapName(base, end int64) string {
	return segment.FileName(base, ".log") + "." + fmt.Sprintf("%020d", end) + swapSuffix
}

// parseSwapName reads swapName back.
func parseSwapName(name string) (base, end int64, ok bool) {
	rest, found := strings.CutSuffix(name, swapSuffix)
	if !found {
		return 0, 0, false
	}
	b, e, found := strings.Cut(rest, ".log.")
	if !found || len(b) != 20 || len(e) != 20 {
		return 0, 0, false
	}
	base, err1 := strconv.ParseInt(b, 10, 64)
	end, err2 := strconv.ParseInt(e, 10, 64)
	if err1 != nil || err2 != nil || base < 0 || end <= base {
		return 0, 0, false
	}
	return base, end, true
}

// finishSwaps completes the replacements a crash interrupted in dir and
// drops unfinished cleanings: step 3 of the protocol, from wherever it
// stopped. It runs before the partition's segments are listed.
func finishSwaps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	changed := false
	for _, e := range entries {
		base, end, ok := parseSwapName(e.Name())
		if !ok {
			continue
		}
		if err := completeSwap(dir, e.Name(), base, end, entries); err != nil {
			return fmt.Errorf("finishing the cleaning of segment %d: %w", base, err)
		}
		changed = true
	}
	cleaning := filepath.Join(dir, cleaningDirName)
	if _, err := os.Stat(cleaning); err == nil {
		if err := os.RemoveAll(cleaning); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		return syncDir(dir)
	}
	return nil
}

// completeSwap deletes the old segments of [base, end) and puts the swap
// file in their place.
func completeSwap(dir, swap string, base, end int64, entries []os.DirEntry) error {
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if ext != ".log" && ext != ".index" && ext != ".timeindex" {
			continue
		}
		b, err := strconv.ParseInt(strings.TrimSuffix(name, ext), 10, 64)
		if err != nil || len(name)-len(ext) != 20 || b < base || b >= end {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// The cleaned indexes may still be in .cleaning/ (or gone); the
	// segment rebuilds missing ones from its log.
	return os.Rename(filepath.Join(dir, swap), filepath.Join(dir, segment.FileName(base, ".log")))
}
