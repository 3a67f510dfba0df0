package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

func TestBadConfigFailsStartup(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.properties")
	os.WriteFile(bad, []byte("num.partitions=lots\n"), 0o644)
	unknown := filepath.Join(dir, "unknown.properties")
	os.WriteFile(unknown, []byte("log.retention.fortnights=2\n"), 0o644)
	cases := map[string][]string{
		"malformed value":   {"--config", bad},
		"unknown property":  {"--config", unknown},
		"missing file":      {"--config", filepath.Join(dir, "nope")},
		"bad override":      {"--override", "num.partitions=0"},
		"override syntax":   {"--override", "num.partitions"},
		"bad topic default": {"--override", "log.segment.bytes=abc"},
		"stray argument":    {"server.properties"},
	}
	for name, args := range cases {
		var stderr bytes.Buffer
		if code := run(append(args, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"), &stderr); code == 0 {
			t.Errorf("%s: exit 0", name)
		}
		if !strings.Contains(stderr.String(), "sluiced") && !strings.Contains(stderr.String(), "invalid") {
			t.Errorf("%s: unclear message %q", name, stderr.String())
		}
	}
}

// TestBinaryServesAndShutsDownCleanly builds sluiced, starts it, talks to it
// over a real socket and stops it with SIGTERM.
func TestBinaryServesAndShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sluiced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "--data-dir", data, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0", "--override", "metrics.listeners=http://127.0.0.1:0", "--config", "sluiced.properties")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addrRe := regexp.MustCompile(`msg="broker started" .*listen=(\S+)`)
	var addr string
	deadline := time.After(30 * time.Second)
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("sluiced exited before listening")
			}
			if m := addrRe.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-deadline:
			t.Fatal("sluiced did not report its address")
		}
	}
	c := dialRaw(t, addr)
	var resp protocol.APIVersionsResponse
	c.call(&protocol.APIVersionsRequest{}, &resp)
	if resp.ErrorCode != protocol.NoError || len(resp.APIKeys) == 0 {
		t.Fatalf("ApiVersions: %+v", resp)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sluiced exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sluiced did not stop on SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(data, ".clean-shutdown")); err != nil {
		t.Fatalf("no clean-shutdown marker after SIGTERM: %v", err)
	}
}

// TestSIGTERMWhileStartingStopsCleanly sends SIGTERM as soon as sluiced
// says it is starting, before it has recovered its logs or bound its
// listeners: it must exit 0, not die of the signal.
func TestSIGTERMWhileStartingStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sluiced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for i := 0; i < 3; i++ {
		data := t.TempDir()
		cmd := exec.Command(bin, "--data-dir", data, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0", "--override", "metrics.listeners=http://127.0.0.1:0", "--config", "sluiced.properties")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Every wait below is bounded: a sluiced that never says it is
		// starting, or never stops, is killed and the test fails.
		watchdog := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		defer watchdog.Stop()
		sc := bufio.NewScanner(stderr)
		started := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), `msg=starting`) {
				started = true
				break
			}
		}
		if !started {
			cmd.Process.Kill()
			t.Fatal("sluiced never said it was starting")
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() {
			var rest strings.Builder
			for sc.Scan() {
				rest.WriteString(sc.Text() + "\n")
			}
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, rest.String())
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sluiced exited with %v after an early SIGTERM", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("sluiced did not stop on an early SIGTERM")
		}
	}
}
