package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

// describedPartition is one row of `topics describe`.
type describedPartition struct {
	topic, partition, leader string
	replicas, isr            []string
}

var (
	describeTopicLine = regexp.MustCompile(`^Topic: (\S+)\tPartitionCount: \d+\tCleanupPolicy: (delete|compact|compact,delete|-)\tConfigs: `)
	describeRow       = regexp.MustCompile(`^(\d+)\s+(\d+|none)\s+([\d,]+)\s+([\d,]+)\s+(\d+|-)\s+(\d+|-)$`)
)

// parseDescribe reads `topics describe` output: each topic's line, its
// table header, then its rows. Anything else fails the test.
func parseDescribe(t *testing.T, out string) []describedPartition {
	t.Helper()
	var rows []describedPartition
	topic := ""
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		if m := describeTopicLine.FindStringSubmatch(line); m != nil {
			topic = m[1]
			continue
		}
		if strings.HasPrefix(line, "PARTITION ") && topic != "" {
			continue
		}
		m := describeRow.FindStringSubmatch(line)
		if m == nil || topic == "" {
			t.Fatalf("describe output line %q:\n%s", line, out)
		}
		rows = append(rows, describedPartition{topic: topic, partition: m[1], leader: m[2],
			replicas: strings.Split(m[3], ","), isr: strings.Split(m[4], ",")})
	}
	return rows
}

// TestCLIDescribeFilters: on a single node, `topics describe` without a
// topic covers every topic, and no partition is under-replicated or
// unavailable, so the filters print nothing (and succeed); a missing topic
// and bad arguments fail.
func TestCLIDescribeFilters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()
	for _, args := range [][]string{{"alpha", "--partitions", "2"}, {"beta", "--partitions", "1"}} {
		if out, errOut, code := cli(t, bin, "", append([]string{"topics", "create", bs}, args...)...); code != 0 {
			t.Fatalf("create %v: %d %s %s", args, code, out, errOut)
		}
	}
	out, errOut, code := cli(t, bin, "", "topics", "describe", bs)
	rows := parseDescribe(t, out)
	if code != 0 || len(rows) != 3 || rows[0].topic != "alpha" || rows[2].topic != "beta" || !strings.Contains(out, "Topic: alpha\tPartitionCount: 2") {
		t.Fatalf("describe every topic: %d %s\n%s", code, errOut, out)
	}
	for _, args := range [][]string{
		{"--under-replicated-partitions"},
		{"--unavailable-partitions"},
		{"--under-replicated-partitions", "--unavailable-partitions"},
		{"alpha", "--under-replicated-partitions"},
		{"--under-replicated-partitions=true", "beta"},
	} {
		out, errOut, code := cli(t, bin, "", append([]string{"topics", "describe", bs}, args...)...)
		if code != 0 || out != "" {
			t.Errorf("describe %v on a single node: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"missing", "--under-replicated-partitions"}, "UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"alpha", "beta"}, "accepts at most 1 arg"},
		{[]string{"--under-replicated-partitions=maybe"}, "invalid argument"},
		{[]string{"--under-replicated"}, "unknown flag"},
	} {
		_, errOut, code := cli(t, bin, "", append([]string{"topics", "describe", bs}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("describe %v: exit %d, stderr %q, want it to say %q", c.args, code, errOut, c.want)
		}
	}
}

// TestCLIDescribeFiltersCluster: in a three-broker cluster, once a broker
// stops and is fenced, --under-replicated-partitions lists every partition
// of a topic replicated three times (one replica is gone) and none of a
// topic with one replica, and --unavailable-partitions lists the
// single-replica partitions the stopped broker held, leaderless; each
// filter lists only what it says, whatever replication has done so far.
func TestCLIDescribeFiltersCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts a cluster")
	}
	sluice, _ := binaries(t)
	bs := broker.StartTestCluster(t, 3, nil)
	all := "--bootstrap-server=" + bs[0].Addr().String() + "," + bs[1].Addr().String() + "," + bs[2].Addr().String()
	for _, args := range [][]string{{"wide", "--replication-factor", "3"}, {"narrow", "--replication-factor", "1"}} {
		if out, errOut, code := cli(t, sluice, "", append([]string{"topics", "create", all, "--partitions", "3"}, args...)...); code != 0 {
			t.Fatalf("create %v: %d %s %s", args, code, out, errOut)
		}
	}
	describe := func(bootstrap string, args ...string) []describedPartition {
		t.Helper()
		out, errOut, code := cli(t, sluice, "", append([]string{"topics", "describe", bootstrap}, args...)...)
		if code != 0 {
			t.Fatalf("describe %v: exit %d %s", args, code, errOut)
		}
		return parseDescribe(t, out)
	}
	// checkFilters holds each filter to its meaning.
	checkFilters := func(bootstrap string) (under, unavailable []describedPartition) {
		t.Helper()
		under = describe(bootstrap, "--under-replicated-partitions")
		for _, r := range under {
			if len(r.isr) >= len(r.replicas) || r.topic == "narrow" {
				t.Fatalf("listed as under-replicated: %+v", r)
			}
		}
		unavailable = describe(bootstrap, "--unavailable-partitions")
		for _, r := range unavailable {
			if r.leader != "none" {
				t.Fatalf("listed as unavailable: %+v", r)
			}
		}
		both := describe(bootstrap, "--unavailable-partitions", "--under-replicated-partitions")
		for _, r := range both {
			if len(r.isr) >= len(r.replicas) && r.leader != "none" {
				t.Fatalf("listed by both filters: %+v", r)
			}
		}
		return under, unavailable
	}

	rows := describe(all)
	if len(rows) != 6 {
		t.Fatalf("describe every topic: %+v", rows)
	}
	if _, unavailable := checkFilters(all); len(unavailable) != 0 {
		t.Fatalf("unavailable with every broker up: %+v", unavailable)
	}

	// Stop a broker that leads a partition of narrow (its only replica).
	victim := ""
	for _, r := range rows {
		if r.topic == "narrow" && r.leader != "none" {
			victim = r.leader
		}
	}
	if victim == "" {
		t.Fatalf("narrow has no leader: %+v", rows)
	}
	var live []string
	for _, b := range bs {
		if strconv.Itoa(int(b.Member().NodeID())) == victim {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			continue
		}
		live = append(live, b.Addr().String())
	}
	if len(live) != 2 {
		t.Fatalf("victim %s not among the brokers", victim)
	}
	rest := "--bootstrap-server=" + strings.Join(live, ",")

	deadline := time.Now().Add(45 * time.Second)
	for {
		under, unavailable := checkFilters(rest)
		wide, narrow := 0, 0
		for _, r := range under {
			if r.topic == "wide" {
				wide++
			}
		}
		for _, r := range unavailable {
			if r.topic == "narrow" {
				if r.replicas[0] != victim {
					t.Fatalf("a narrow partition on a live broker listed unavailable: %+v", r)
				}
				narrow++
			}
		}
		want := 0
		for _, r := range rows {
			if r.topic == "narrow" && r.leader == victim {
				want++
			}
		}
		if wide == 3 && narrow == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker %s stopped: %d of wide's 3 partitions under-replicated, %d of narrow's %d on it unavailable\nunder: %+v\nunavailable: %+v",
				victim, wide, narrow, want, under, unavailable)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDescribeCleanupPolicy: a topic's line says its effective
// cleanup.policy, whether it is the default or an override, and "-" when
// the broker does not report it.
func TestDescribeCleanupPolicy(t *testing.T) {
	info := client.TopicInfo{Name: "users", Partitions: []client.PartitionInfo{{Partition: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}
	for _, c := range []struct {
		cfgs []client.ConfigEntry
		want string
	}{
		{[]client.ConfigEntry{{Name: "cleanup.policy", Value: "delete", IsDefault: true}, {Name: "retention.ms", Value: "1000"}},
			"Topic: users\tPartitionCount: 1\tCleanupPolicy: delete\tConfigs: retention.ms=1000\n"},
		{[]client.ConfigEntry{{Name: "cleanup.policy", Value: "compact"}},
			"Topic: users\tPartitionCount: 1\tCleanupPolicy: compact\tConfigs: cleanup.policy=compact\n"},
		{nil, "Topic: users\tPartitionCount: 1\tCleanupPolicy: -\tConfigs: \n"},
	} {
		var buf bytes.Buffer
		if err := printTopic(&buf, info, info.Partitions, c.cfgs); err != nil {
			t.Fatal(err)
		}
		if line, _, _ := strings.Cut(buf.String(), "PARTITION"); line != c.want {
			t.Errorf("topic line %q, want %q", line, c.want)
		}
		if rows := parseDescribe(t, buf.String()); len(rows) != 1 || rows[0].topic != "users" {
			t.Errorf("parsed %+v from\n%s", rows, buf.String())
		}
	}
}

// TestCLIDescribeCleanupPolicy: `topics create --config cleanup.policy=...`
// reaches the broker, which keeps the policy normalised, and `topics
// describe` shows it; a policy Sluice does not know is refused with the
// ones it does.
func TestCLIDescribeCleanupPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()
	want := map[string]string{"plain": "delete", "users": "compact", "both": "compact,delete"}
	for _, args := range [][]string{{"plain"}, {"users", "--config", "cleanup.policy=compact"}, {"both", "--config", "cleanup.policy=delete, compact"}} {
		if out, errOut, code := cli(t, bin, "", append([]string{"topics", "create", bs}, args...)...); code != 0 {
			t.Fatalf("create %v: %d %s %s", args, code, out, errOut)
		}
	}
	out, errOut, code := cli(t, bin, "", "topics", "describe", bs)
	if code != 0 || len(parseDescribe(t, out)) != 3 {
		t.Fatalf("describe: %d %s\n%s", code, errOut, out)
	}
	for topic, policy := range want {
		if !strings.Contains(out, "Topic: "+topic+"\tPartitionCount: 1\tCleanupPolicy: "+policy+"\t") {
			t.Errorf("%s: want CleanupPolicy: %s in\n%s", topic, policy, out)
		}
	}
	if !strings.Contains(out, "Configs: cleanup.policy=compact,delete\n") {
		t.Errorf("the override of both is not shown normalised:\n%s", out)
	}
	if cfg, _ := b.Engine.TopicConfig("users"); !cfg.Compact || cfg.Delete {
		t.Errorf("users on the broker: %+v", cfg)
	}

	// Alter it to compact and delete, then back to the default.
	if _, errOut, code := cli(t, bin, "", "topics", "alter-config", "plain", "--config", "cleanup.policy=compact,delete", bs); code != 0 {
		t.Fatalf("alter-config: %s", errOut)
	}
	if out, _, _ := cli(t, bin, "", "topics", "describe", "plain", bs); !strings.Contains(out, "CleanupPolicy: compact,delete\t") {
		t.Fatalf("after alter-config:\n%s", out)
	}
	if _, errOut, code := cli(t, bin, "", "topics", "alter-config", "plain", "--delete-config", "cleanup.policy", bs); code != 0 {
		t.Fatalf("alter-config --delete-config: %s", errOut)
	}
	if out, _, _ := cli(t, bin, "", "topics", "describe", "plain", bs); !strings.Contains(out, "CleanupPolicy: delete\tConfigs: \n") {
		t.Fatalf("after --delete-config:\n%s", out)
	}

	_, errOut, code = cli(t, bin, "", "topics", "create", "bad", "--config", "cleanup.policy=archive", bs)
	if code == 0 || !strings.Contains(errOut, "INVALID_CONFIG") || !strings.Contains(errOut, "delete, compact") {
		t.Fatalf("create with cleanup.policy=archive: exit %d, stderr %q", code, errOut)
	}
}
