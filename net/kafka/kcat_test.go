package kafka_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// TestKcat runs Debian's kcat (librdkafka) against the broker: -L, keyed
// produce with Kafka's murmur2 partitioner and with every codec, and
// consumption back, plainly and as a consumer group. CI installs kcat (.ci/run); without it the test skips,
// loudly.
func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		fmt.Fprintln(os.Stderr, "\n*** TestKcat SKIPPED: kcat is not installed (apt-get install kcat); the Kafka listener was NOT checked against librdkafka ***")
		t.Skip("kcat not in PATH")
	}
	_, addr := startBroker(t, func(c *broker.Config) { c.GroupInitialDelay = 0 })
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx(t), kcat, append([]string{"-b", addr}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}

	if out := run("", "-L"); !strings.Contains(out, "broker 0 at "+addr) {
		t.Fatalf("kcat -L:\n%s", out)
	}
	const partitions = 3
	createTopic(t, newAdmin(t, addr), "kcat", partitions, nil)
	var in strings.Builder
	want := map[string]bool{}
	for i, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		in.Reset()
		for j := 0; j < 10; j++ {
			line := fmt.Sprintf("key%d:%s-%d", j, codec, i*10+j)
			in.WriteString(line + "\n")
			want[line] = true
		}
		run(in.String(), "-P", "-t", "kcat", "-K:", "-z", codec, "-X", "partitioner=murmur2_random")
	}
	out := run("", "-C", "-t", "kcat", "-e", "-o", "beginning", "-f", "%k:%s %p\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("kcat consumed %d records, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		rec, p, _ := strings.Cut(l, " ")
		if !want[rec] {
			t.Fatalf("unexpected record %q", l)
		}
		key, _, _ := strings.Cut(rec, ":")
		partition, _ := strconv.Atoi(p)
		if wantP := keyPartition([]byte(key), partitions); int32(partition) != wantP {
			t.Fatalf("%s in partition %d, murmur2 says %d", key, partition, wantP)
		}
		delete(want, rec)
	}

	// As a consumer group (librdkafka's balanced consumer): everything
	// once, then, with the offsets committed, nothing on a second run.
	out = run("", "-G", "kcat-group", "kcat", "-e", "-o", "beginning", "-f", "%k:%s\n")
	if got := strings.Split(strings.TrimSpace(out), "\n"); len(got) != len(lines) {
		t.Fatalf("kcat -G consumed %d records, want %d:\n%s", len(got), len(lines), out)
	}
	if out := run("", "-G", "kcat-group", "kcat", "-e", "-f", "%k:%s\n"); strings.TrimSpace(out) != "" {
		t.Fatalf("kcat -G again, after committing, consumed:\n%s", out)
	}
}

// TestKcatCompactedTopic: kcat (librdkafka) produces keyed records with
// every codec to a compacted topic, the log is cleaned, and kcat reads it
// from the beginning across the cleaned segments: each key's newest value,
// once, with librdkafka coping with the gaps in offsets.
func TestKcatCompactedTopic(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		fmt.Fprintln(os.Stderr, "\n*** TestKcatCompactedTopic SKIPPED: kcat is not installed (apt-get install kcat) ***")
		t.Skip("kcat not in PATH")
	}
	b, addr := startBroker(t, nil)
	if err := b.Engine.CreateTopic("table", 1, map[string]string{"cleanup.policy": "compact", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx(t), kcat, append([]string{"-b", addr}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}
	newest := map[string]string{}
	for i, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		var in strings.Builder
		for j := 0; j < 40; j++ {
			key, value := fmt.Sprint("row", j%8), fmt.Sprintf("%s-%d", codec, i*40+j)
			fmt.Fprintf(&in, "%s:%s\n", key, value)
			newest[key] = value
		}
		run(in.String(), "-P", "-t", "table", "-K:", "-z", codec)
	}
	p, err := b.Engine.Partition("table", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Clean(); err != nil || st.RecordsRemoved == 0 {
		t.Fatalf("clean: %+v %v", st, err)
	}
	out := run("", "-C", "-t", "table", "-e", "-o", "beginning", "-f", "%k:%s\n")
	got := map[string]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		got[k] = v
	}
	if len(lines) >= 200 {
		t.Fatalf("kcat read %d records of 200 written to 8 keys after cleaning", len(lines))
	}
	for k, v := range newest {
		if got[k] != v {
			t.Errorf("key %s: kcat's last value %q, newest %q", k, got[k], v)
		}
	}
}
