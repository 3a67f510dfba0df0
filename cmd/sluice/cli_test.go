package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds sluice and sluiced once per test run.
func binaries(t *testing.T) (sluice, sluiced string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = mkdirTemp()
		if buildErr != nil {
			return
		}
		for _, name := range []string{"sluice", "sluiced"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "../"+name).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "sluice"), filepath.Join(binDir, "sluiced")
}

// cli runs the built sluice binary and returns stdout, stderr and the exit
// code.
func cli(t *testing.T, bin, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCLIRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()

	if out, errOut, code := cli(t, bin, "", "topics", "create", "lines", "--partitions", "3", "--config", "retention.ms=3600000", bs); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	out, _, code := cli(t, bin, "", "topics", "list", bs)
	if code != 0 || strings.TrimSpace(out) != "lines" {
		t.Fatalf("list: %d %q", code, out)
	}
	var input []string
	for i := 0; i < 50; i++ {
		input = append(input, fmt.Sprintf("key%d:value %d", i%5, i))
	}
	for _, codec := range []string{"none", "lz4", "zstd"} {
		if out, errOut, code := cli(t, bin, strings.Join(input, "\n")+"\n", "produce", "lines", "--key-separator", ":", "--compression", codec, bs); code != 0 {
			t.Fatalf("produce %s: %d %s %s", codec, code, out, errOut)
		}
	}
	out, errOut, code := cli(t, bin, "", "consume", "lines", "--from-beginning", "--max-messages", "150", "--print-key", "--timeout", "20s", bs)
	if code != 0 {
		t.Fatalf("consume: %d %s", code, errOut)
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 150 {
		t.Fatalf("consumed %d lines, want 150:\n%s", len(got), out)
	}
	counts := map[string]int{}
	for _, l := range got {
		counts[l]++
	}
	for i := 0; i < 50; i++ {
		want := fmt.Sprintf("key%d\tvalue %d", i%5, i)
		if counts[want] != 3 {
			t.Fatalf("%q seen %d times, want 3", want, counts[want])
		}
	}
	// One key, one partition: per partition order is the produce order.
	out, _, _ = cli(t, bin, "", "consume", "lines", "--from-beginning", "--max-messages", "150", "--json", "--timeout", "20s", bs)
	if !strings.Contains(out, `"key":"key3"`) || !strings.Contains(out, `"partition":`) {
		t.Fatalf("json lines: %s", out[:min(len(out), 300)])
	}

	out, _, code = cli(t, bin, "", "topics", "describe", "lines", bs)
	if code != 0 || !strings.Contains(out, "PartitionCount: 3") || !strings.Contains(out, "retention.ms=3600000") {
		t.Fatalf("describe: %d\n%s", code, out)
	}
	if _, errOut, code := cli(t, bin, "", "topics", "alter-config", "lines", "--config", "retention.bytes=1000000", bs); code != 0 {
		t.Fatalf("alter-config: %s", errOut)
	}
	out, _, _ = cli(t, bin, "", "topics", "describe", "lines", bs)
	if !strings.Contains(out, "retention.bytes=1000000") {
		t.Fatalf("alter-config not visible:\n%s", out)
	}
	// Partitions are only added: growing works, shrinking or standing
	// still is refused with Kafka's INVALID_PARTITIONS and changes nothing.
	if out, errOut, code := cli(t, bin, "", "topics", "alter", "lines", "--partitions", "5", bs); code != 0 || !strings.Contains(out, "now has 5 partitions") {
		t.Fatalf("alter --partitions 5: %d %s %s", code, out, errOut)
	}
	for _, n := range []string{"5", "2"} {
		if _, errOut, code := cli(t, bin, "", "topics", "alter", "lines", "--partitions", n, bs); code == 0 || !strings.Contains(errOut, "INVALID_PARTITIONS") {
			t.Fatalf("alter --partitions %s: exit %d, %s", n, code, errOut)
		}
	}
	if _, errOut, code := cli(t, bin, "", "topics", "alter", "lines", bs); code == 0 || !strings.Contains(errOut, "--partitions") {
		t.Fatalf("alter without --partitions: exit %d, %s", code, errOut)
	}
	out, _, _ = cli(t, bin, "", "topics", "describe", "lines", bs)
	if !strings.Contains(out, "PartitionCount: 5") {
		t.Fatalf("after alter:\n%s", out)
	}
	if _, errOut, code := cli(t, bin, "on a new partition\n", "produce", "lines", "--partition", "4", bs); code != 0 {
		t.Fatalf("produce to a new partition: %s", errOut)
	}
	if out, errOut, code := cli(t, bin, "", "consume", "lines", "--partition", "4", "--from-beginning", "--max-messages", "1", "--timeout", "20s", bs); code != 0 || out != "on a new partition\n" {
		t.Fatalf("consume the new partition: %d %q %s", code, out, errOut)
	}
	if _, errOut, code := cli(t, bin, "", "topics", "delete", "lines", bs); code != 0 {
		t.Fatalf("delete: %s", errOut)
	}
}

func TestCLIErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, func(c *broker.Config) { c.AutoCreateTopics = false })
	bs := "--bootstrap-server=" + b.Addr().String()
	// A port with nobody listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "--bootstrap-server=" + l.Addr().String()
	l.Close()

	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no broker", "", []string{"topics", "list", dead}, "connect"},
		{"unknown topic produce", "a\n", []string{"produce", "missing", "--max-block", "2s", bs}, "missing"},
		{"unknown topic consume", "", []string{"consume", "missing", "--timeout", "2s", bs}, "missing"},
		{"bad acks", "a\n", []string{"produce", "x", "--acks", "2", bs}, "--acks"},
		{"bad compression", "a\n", []string{"produce", "x", "--compression", "brotli", bs}, "compression"},
		{"offset without partition", "", []string{"consume", "x", "--offset", "5", bs}, "--partition"},
		{"bad config flag", "", []string{"topics", "create", "x", "--config", "retention.ms", bs}, "key=value"},
		{"invalid topic name", "", []string{"topics", "create", "bad name", bs}, "invalid"},
		{"missing separator", "no separator here\n", []string{"produce", "x", "--key-separator", ":", bs}, "separator"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
	}
	// A record the broker refuses: too large for the topic.
	if _, errOut, code := cli(t, bin, "", "topics", "create", "small", "--config", "max.message.bytes=200", bs); code != 0 {
		t.Fatalf("create small: %s", errOut)
	}
	cases = append(cases, struct {
		name  string
		stdin string
		args  []string
		want  string
	}{"record too large", "ok\n" + strings.Repeat("x", 1000) + "\n", []string{"produce", "small", "--acks", "1", bs}, "not acknowledged"})
	for _, c := range cases {
		_, errOut, code := cli(t, bin, c.stdin, c.args...)
		if code == 0 {
			t.Errorf("%s: exit 0", c.name)
			continue
		}
		if !strings.Contains(strings.ToLower(errOut), strings.ToLower(c.want)) {
			t.Errorf("%s: stderr %q does not mention %q", c.name, errOut, c.want)
		}
	}
}
