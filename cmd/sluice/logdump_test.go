package main

import (
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// TestCLILogDump writes a partition through a real broker, stops it, and
// dumps the segment's files as a user would, then damaged copies of them.
func TestCLILogDump(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	data := t.TempDir()
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.KafkaListen, cfg.DataDir = "127.0.0.1:0", "", data
	b, err := broker.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := "--bootstrap-server=" + b.Addr().String()
	run := func(stdin string, args ...string) {
		t.Helper()
		if out, errOut, code := cli(t, bin, stdin, args...); code != 0 {
			t.Fatalf("sluice %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	// index.interval.bytes=0: an index entry for every batch.
	run("", "topics", "create", "dumped", "--partitions", "1", "--config", "index.interval.bytes=0", bs)
	run("k1:hello\nk2:two words\n", "produce", "dumped", "--key-separator", ":", bs)
	run("plain\n", "produce", "dumped", "--compression", "lz4", bs)
	run("x:null\n", "produce", "dumped", "--key-separator", ":", bs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var logPath string
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(filepath.Base(filepath.Dir(p)), "dumped-0") && d.Name() == "00000000000000000000.log" {
			logPath = p
		}
		return nil
	})
	if logPath == "" {
		t.Fatalf("no segment of dumped-0 under %s", data)
	}
	seg := strings.TrimSuffix(logPath, ".log")

	out, errOut, code := cli(t, bin, "", "log", "dump", "--files", logPath, "--print-data-log")
	if code != 0 {
		t.Fatalf("dump: exit %d %s", code, errOut)
	}
	batches := regexp.MustCompile(`(?m)^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) .* position: (\d+) CreateTime: \d+ .*compresscodec: (\w+) crc: \d+ isvalid: true$`).FindAllStringSubmatch(out, -1)
	if len(batches) != 3 || batches[0][1] != "0" || batches[0][2] != "1" || batches[0][3] != "2" || batches[0][4] != "0" ||
		batches[1][1] != "2" || batches[1][5] != "lz4" || batches[2][1] != "3" {
		t.Fatalf("batches %q in\n%s", batches, out)
	}
	for _, want := range []string{
		"Log starting offset: 0\n",
		"| offset: 0 CreateTime: ", "keySize: 2 valueSize: 5 sequence: 0 headerKeys: [] key: k1 value: hello\n",
		"key: k2 value: two words\n",
		"| offset: 2 ", "keySize: -1 valueSize: 5", "key: null value: plain\n",
		`key: x value: "null"` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("dump does not show %q:\n%s", want, out)
		}
	}

	out, errOut, code = cli(t, bin, "", "log", "dump", "--files", seg+".index,"+seg+".timeindex")
	if code != 0 || !regexp.MustCompile(`(?m)^offset: 2 position: \d+$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^timestamp: \d+ offset: \d+$`).MatchString(out) || strings.Count(out, "all match the log.") != 2 {
		t.Fatalf("index dump: exit %d %s\n%s", code, errOut, out)
	}
	out, _, code = cli(t, bin, "", "log", "dump", "--verify-index-only", "--files", seg+".index", "--files", seg+".timeindex")
	if code != 0 || strings.Contains(out, "offset: ") || strings.Count(out, "all match the log.") != 2 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}

	// Damaged copies.
	dir := t.TempDir()
	copyTo := func(suffix string, edit func([]byte) []byte) string {
		b, err := os.ReadFile(seg + suffix)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "00000000000000000000"+suffix)
		if err := os.WriteFile(p, edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first, _ := strconv.Atoi(batches[1][4]) // the second batch's position
	second, _ := strconv.Atoi(batches[2][4])
	flipped := copyTo(".log", func(b []byte) []byte { b[second-1] ^= 0xff; return b })
	out, _, code = cli(t, bin, "", "log", "dump", "--files", flipped)
	if code == 0 || strings.Count(out, "isvalid: false") != 1 || !strings.Contains(out, "CRC mismatch") || strings.Count(out, "baseOffset: ") != 3 {
		t.Fatalf("flipped byte: exit %d\n%s", code, out)
	}
	out, _, code = cli(t, bin, "", "log", "dump", "--verify-index-only", "--files", flipped)
	if code == 0 || strings.Count(out, "baseOffset: ") != 1 {
		t.Fatalf("flipped byte, problems only: exit %d\n%s", code, out)
	}
	torn := copyTo(".log", func(b []byte) []byte { return b[:len(b)-4] })
	out, errOut, code = cli(t, bin, "", "log", "dump", "--files", torn)
	if code == 0 || !strings.Contains(out, "Damage at position "+strconv.Itoa(second)+": torn batch") || strings.Count(out, "baseOffset: ") != 2 ||
		!strings.Contains(errOut, "damage or mismatches found in 1 of 1 files") {
		t.Fatalf("torn log: exit %d %s\n%s", code, errOut, out)
	}
	// The torn log is beside the index now: its last entry names a batch
	// the log no longer frames.
	idx := copyTo(".index", func(b []byte) []byte { return b })
	out, _, code = cli(t, bin, "", "log", "dump", "--verify-index-only", "--files", idx)
	if code == 0 || !strings.Contains(out, "Mismatch with the log: entry 1: offset 3 at position "+strconv.Itoa(second)+", in the log's damaged part") {
		t.Fatalf("index against a torn log: exit %d\n%s", code, out)
	}
	copyTo(".log", func(b []byte) []byte { return b })
	idx = copyTo(".index", func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], uint32(first+1)); return b })
	out, _, code = cli(t, bin, "", "log", "dump", "--files", idx)
	if code == 0 || !strings.Contains(out, "Mismatch with the log: entry 0: offset 2 at position "+strconv.Itoa(first+1)+", where no batch starts") {
		t.Fatalf("bad index entry: exit %d\n%s", code, out)
	}
	tidx := copyTo(".timeindex", func(b []byte) []byte { return append(b, 1, 2, 3) })
	out, _, code = cli(t, bin, "", "log", "dump", "--files", tidx)
	if code == 0 || !strings.Contains(out, "Damage at position ") {
		t.Fatalf("odd time index: exit %d\n%s", code, out)
	}

	if err := os.WriteFile(filepath.Join(dir, "00000000000000000009.index"), make([]byte, 16), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "dump"}, "give the files"},
		{[]string{"log", "dump", "--files", filepath.Join(dir, "x.snapshot")}, "not a segment file"},
		{[]string{"log", "dump", "--files", filepath.Join(dir, "00000000000000000007.log")}, "no such file"},
		{[]string{"log", "dump", "--files", filepath.Join(dir, "seg.index")}, "named by its base offset"},
		{[]string{"log", "dump", "--verify-index-only", "--files", filepath.Join(dir, "00000000000000000009.index")}, "checks an index against its log"},
	} {
		_, errOut, code := cli(t, bin, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", c.args, code, errOut, c.want)
		}
	}
}
