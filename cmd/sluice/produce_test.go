package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

// partitionsOf consumes n records of topic with the CLI and returns, per
// partition, the lines it printed as KEY<tab>VALUE.
func partitionsOf(t *testing.T, bin, bs, topic string, n int) map[string][]string {
	t.Helper()
	out, errOut, code := cli(t, bin, "", "consume", topic, "--from-beginning", "--print-partition", "--print-key",
		"--max-messages", fmt.Sprint(n), "--timeout", "20s", bs)
	if code != 0 {
		t.Fatalf("consume %s: exit %d: %s", topic, code, errOut)
	}
	got := map[string][]string{}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		part, rest, _ := strings.Cut(l, "\t")
		got[part] = append(got[part], rest)
	}
	if len(lines) != n {
		t.Fatalf("consume %s: %d lines, want %d:\n%s", topic, len(lines), n, out)
	}
	return got
}

// TestProducePartitioners: without --partition the partitioner decides
// (keys by Kafka's murmur2 placement by default, round robin on request),
// --partition pins every record, and contradictory or unknown choices
// exit non-zero naming the flag.
func TestProducePartitioners(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()
	for _, topic := range []string{"keyed", "rr", "pinned"} {
		if _, errOut, code := cli(t, bin, "", "topics", "create", topic, "--partitions", "4", bs); code != 0 {
			t.Fatalf("create %s: %s", topic, errOut)
		}
	}

	// Default: a key always lands on its murmur2 partition.
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "user-%d:event %d\n", i%8, i)
	}
	if _, errOut, code := cli(t, bin, in.String(), "produce", "keyed", "--key-separator", ":", bs); code != 0 {
		t.Fatalf("produce keyed: %s", errOut)
	}
	for part, lines := range partitionsOf(t, bin, bs, "keyed", 40) {
		for _, l := range lines {
			key, _, _ := strings.Cut(l, "\t")
			if want := fmt.Sprintf("Partition:%d", client.KeyPartition([]byte(key), 4)); part != want {
				t.Fatalf("key %s in %s, want %s", key, part, want)
			}
		}
	}

	// Round robin, by short name and by Kafka's class name: even spread.
	in.Reset()
	for i := range 20 {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	for _, name := range []string{"round-robin", "org.apache.kafka.clients.producer.RoundRobinPartitioner"} {
		if _, errOut, code := cli(t, bin, in.String(), "produce", "rr", "--partitioner", name, bs); code != 0 {
			t.Fatalf("produce --partitioner %s: %s", name, errOut)
		}
	}
	got := partitionsOf(t, bin, bs, "rr", 40)
	for part, lines := range got {
		if len(lines) != 10 {
			t.Fatalf("round robin: %s got %d of 40 lines: %v", part, len(lines), got)
		}
	}
	if len(got) != 4 {
		t.Fatalf("round robin used %d partitions", len(got))
	}

	// --partition pins every record, keyed or not, alone or with
	// --partitioner manual.
	if _, errOut, code := cli(t, bin, "a:1\nb:2\nc:3\n", "produce", "pinned", "--key-separator", ":", "--partition", "2", bs); code != 0 {
		t.Fatalf("produce --partition 2: %s", errOut)
	}
	if _, errOut, code := cli(t, bin, "d\n", "produce", "pinned", "--partition", "2", "--partitioner", "manual", bs); code != 0 {
		t.Fatalf("produce --partition 2 --partitioner manual: %s", errOut)
	}
	if got := partitionsOf(t, bin, bs, "pinned", 4); len(got["Partition:2"]) != 4 {
		t.Fatalf("--partition 2: %v", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--partition", "1", "--partitioner", "round-robin"}, "drop --partitioner round-robin"},
		{[]string{"--partitioner", "manual"}, "--partitioner manual needs --partition"},
		{[]string{"--partitioner", "org.example.Mine"}, `unknown partitioner "org.example.Mine"`},
		{[]string{"--partition", "9"}, "UNKNOWN_TOPIC_OR_PARTITION"},
	} {
		_, errOut, code := cli(t, bin, "x\n", append([]string{"produce", "pinned", "--max-block", "2s", bs}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("produce %v: exit %d, %q; want an error with %q", tc.args, code, errOut, tc.want)
		}
	}
}
