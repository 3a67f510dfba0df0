package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// TestClusterCommands: against a three-broker cluster, `topics create`
// with --replication-factor 3 spreads replicas and `topics describe` shows
// Leader, Replicas and Isr per partition from any broker; `cluster
// describe` lists the brokers and the controller, and a stopped broker
// turns fenced there while its partitions move to the other in-sync
// replicas and show as under-replicated. RF above the
// live brokers fails with Kafka's error and a non-zero exit.
func TestClusterCommands(t *testing.T) {
	sluice, _ := binaries(t)
	bs := broker.StartTestCluster(t, 3, nil)
	addr := func(i int) string { return bs[i].Addr().String() }

	out, errOut, code := cli(t, sluice, "", "topics", "create", "events", "--partitions", "3", "--replication-factor", "3", "--bootstrap-server", addr(1))
	if code != 0 {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = cli(t, sluice, "", "topics", "create", "wide", "--replication-factor", "4", "--bootstrap-server", addr(0))
	if code == 0 || !strings.Contains(errOut, "INVALID_REPLICATION_FACTOR") {
		t.Fatalf("RF 4 on 3 brokers: exit %d, stderr %q", code, errOut)
	}
	row := regexp.MustCompile(`(?m)^(\d)\s+(\d|none)\s+([\d,]+)\s+([\d,]+)\s`)
	var describe string
	for i := range bs {
		describe, errOut, code = cli(t, sluice, "", "topics", "describe", "events", "--bootstrap-server", addr(i))
		if code != 0 {
			t.Fatalf("describe from broker %d: exit %d %s", i+1, code, errOut)
		}
		rows := row.FindAllStringSubmatch(describe, -1)
		if !strings.Contains(describe, "LEADER") || len(rows) != 3 {
			t.Fatalf("describe from broker %d:\n%s", i+1, describe)
		}
		for _, r := range rows {
			if len(strings.Split(r[3], ",")) != 3 || r[4] != r[3] || !strings.HasPrefix(r[3], r[2]+",") {
				t.Fatalf("partition %s: leader %s replicas %s isr %s", r[1], r[2], r[3], r[4])
			}
		}
	}

	out, errOut, code = cli(t, sluice, "", "cluster", "describe", "--bootstrap-server", addr(2))
	if code != 0 {
		t.Fatalf("cluster describe: exit %d %s", code, errOut)
	}
	controller := regexp.MustCompile(`Controller: (\d)`).FindStringSubmatch(out)
	alive := regexp.MustCompile(`(?m)^\d\s+127\.0\.0\.1:\d+\s+alive`).FindAllString(out, -1)
	if controller == nil || len(alive) != 3 {
		t.Fatalf("cluster describe:\n%s", out)
	}

	// Stop a broker that is not the controller: it turns fenced, and the
	// partition it leads shows no leader.
	victim := -1
	for i, b := range bs {
		if b.Member().NodeID() != int32(controller[1][0]-'0') {
			victim = i
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bs[victim].Close(ctx); err != nil {
		t.Fatal(err)
	}
	other := addr((victim + 1) % 3)
	fenced := regexp.MustCompile(`(?m)^` + string(rune('1'+victim)) + `\s+\S+\s+fenced`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, _ = cli(t, sluice, "", "cluster", "describe", "--bootstrap-server", other)
		if fenced.MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker %d never shown fenced:\n%s", victim+1, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its partitions moved to other in-sync replicas, and every partition
	// is under-replicated without it.
	describe, errOut, code = cli(t, sluice, "", "topics", "describe", "events", "--under-replicated-partitions", "--bootstrap-server", other)
	rows := row.FindAllStringSubmatch(describe, -1)
	if code != 0 || len(rows) != 3 {
		t.Fatalf("describe --under-replicated-partitions with broker %d down: exit %d %s\n%s", victim+1, code, errOut, describe)
	}
	for _, r := range rows {
		if r[2] == string(rune('1'+victim)) || r[2] == "none" || strings.Contains(r[4], string(rune('1'+victim))) {
			t.Fatalf("with broker %d down, partition %s: leader %s isr %s\n%s", victim+1, r[1], r[2], r[4], describe)
		}
	}
}
