package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %s: %v, %d bytes, want a gzipped pprof", path, err, len(b))
	}

	var stderr bytes.Buffer
	code := run([]string{"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.pprof")}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--cpuprofile") {
		t.Errorf("unwritable --cpuprofile: exit %d, %q", code, stderr.String())
	}
}
