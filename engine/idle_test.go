package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// openFilesUnder counts this process's file descriptors on files in dir.
func openFilesUnder(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(os.PathSeparator)) {
			n++
		}
	}
	return n
}

func TestIdleSegmentsGiveBackFiles(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{SegmentIdleTimeout: -1})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "600"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	for i := 0; i < 40; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, "x", 5, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, dir, engine.Options{SegmentIdleTimeout: -1})
	p, _ = e.Partition("t", 0)
	partDir := filepath.Join(dir, "t-0")
	lazy := openFilesUnder(t, partDir)
	segments := len(segmentFiles(t, dir, "t", 0))
	// The active segment keeps its log open, and its indexes mapped
	// without descriptors.
	if lazy > 1 {
		t.Fatalf("%d files open right after a clean open of %d segments; only the active one's log should be", lazy, segments)
	}
	readAll(t, p, 0)
	if got := openFilesUnder(t, partDir); got < segments {
		t.Fatalf("after reading everything %d files are open, want one per segment (%d)", got, segments)
	}
	if n := e.CloseIdleSegments(-time.Hour); n != segments-1 {
		t.Fatalf("closed %d idle segments, want %d", n, segments-1)
	}
	if got := openFilesUnder(t, partDir); got > 1 {
		t.Fatalf("%d files open after closing idle segments, want at most 1 (the active segment's)", got)
	}
	if got := readAll(t, p, 0); len(got) != 200 {
		t.Fatalf("read %d records after reopening", len(got))
	}
}
