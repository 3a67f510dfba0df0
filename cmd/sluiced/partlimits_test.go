//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startLimited starts sluiced under an open files limit (hard and soft:
// Go raises the soft limit to the hard one at start; the soft one goes
// down first, as it may not exceed the hard one) through sh, which
// execs it so that the process group holds sluiced alone.
func startLimited(t *testing.T, bin string, nofile string, args ...string) *proc {
	t.Helper()
	script := `ulimit -Sn ` + nofile + ` && ulimit -Hn ` + nofile + ` && exec "$0" "$@"`
	return startProc(t, "sluiced", "sh", append([]string{"-c", script, bin}, args...)...)
}

// topicDirs lists the entries of the data directory that belong to
// topic: its partitions' directories and any being deleted.
func topicDirs(t *testing.T, data, topic string) []string {
	t.Helper()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), topic+"-") || strings.HasSuffix(e.Name(), "-delete") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSluicedRefusesTooLowOpenFilesLimit: under an open files limit below
// what max.connections and the stores reserve, sluiced exits non-zero
// with a message naming the limit and how to raise it.
func TestSluicedRefusesTooLowOpenFilesLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildSluiced(t)
	addrs := freeAddrs(t, 2)
	p := startLimited(t, bin, "300", "--data-dir", t.TempDir(), "--listen", addrs[0], "--kafka-listen", addrs[1])
	if code := p.waitExit(t, 30*time.Second); code == 0 {
		t.Fatalf("sluiced started under ulimit -n 300:\n%s", p.out)
	}
	for _, want := range []string{"RLIMIT_NOFILE", "is 300", "ulimit -n", "LimitNOFILE", "max.connections"} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("output does not mention %q:\n%s", want, p.out)
		}
	}
}

// TestSluicedManyPartitionsUnderLowOpenFilesLimit: under ulimit -n 1024
// (with max.connections=10, a budget of about 570 open segments), a topic
// of 3,000 partitions is created, takes a record in every partition and
// reads them all back: partitions past the budget park their active
// segments and reopen them on use, so no produce meets EMFILE and no
// partition goes offline, and the broker's descriptors stay under the
// limit throughout.
func TestSluicedManyPartitionsUnderLowOpenFilesLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const n = 3000
	bin := buildSluiced(t)
	data := t.TempDir()
	addrs := freeAddrs(t, 2)
	p := startLimited(t, bin, "1024", "--data-dir", data, "--listen", addrs[0], "--kafka-listen", addrs[1],
		"--override", "max.connections=10")
	p.waitLog(t, "broker started", 30*time.Second)
	defer p.stop(t)
	fds := func() int {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]), kgo.DefaultProduceTopic("many"), kgo.ConsumeTopics("many"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, n, 1, nil, "many")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create of %d partitions under ulimit -n 1024: %v %q", n, err, resp.ErrMessage)
	}
	if got := len(topicDirs(t, data, "many")); got != 0 {
		t.Fatalf("create made %d directories; partitions make theirs on the first append", got)
	}
	t.Logf("after the create: %d descriptors", fds())
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: int32(i), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to every partition: %v", err)
	}
	t.Logf("after a record to every partition: %d descriptors", fds())
	if got := len(topicDirs(t, data, "many")); got != n {
		t.Fatalf("appends to every partition made %d directories, want %d", got, n)
	}
	seen := make(map[int32]bool, n)
	for len(seen) < n {
		fetches := cl.PollFetches(ctx)
		if err := fetches.Err(); err != nil {
			t.Fatalf("fetch with %d of %d partitions read: %v", len(seen), n, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != strconv.Itoa(int(r.Partition)) || r.Offset != 0 {
				t.Fatalf("partition %d offset %d holds %q", r.Partition, r.Offset, r.Value)
			}
			seen[r.Partition] = true
		})
	}
	t.Logf("after reading every partition: %d descriptors", fds())
	// The closer brings the open segments back under the budget (the
	// limit less what connections and the stores keep: 630 here).
	deadline := time.Now().Add(60 * time.Second)
	for fds() > 630 {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors a minute after the reads; the budget is 630", fds())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("settled: %d descriptors; %d appends and %d reads failed for want of descriptors and were retried",
		fds(), strings.Count(p.out.String(), "append failed"), strings.Count(p.out.String(), "fetch failed"))
	if strings.Contains(p.out.String(), "offline") {
		t.Fatalf("a partition went offline:\n%s", p.out)
	}
}

// TestSluicedKill9MidCreateLeavesNothing: sluiced is killed with SIGKILL
// while it creates a topic of 3,000 partitions. A create writes nothing but
// its commit in pebble (partitions make their directories on their first
// append), so whenever the kill lands, after a restart the topic either
// does not exist or exists whole, no directory of it is on disk, and it
// serves: its name can be created again, or its partitions appended to.
func TestSluicedKill9MidCreateLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildSluiced(t)
	data := t.TempDir()
	addrs := freeAddrs(t, 2)
	args := []string{"--data-dir", data, "--listen", addrs[0], "--kafka-listen", addrs[1]}
	p := startProc(t, "sluiced", bin, args...)
	p.waitLog(t, "broker started", 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Connected first, so that the kill lands while the create is on its
	// way or running rather than before the broker heard of it.
	if _, err := adm.ListTopics(ctx); err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	go func() {
		close(sent)
		adm.CreateTopic(ctx, 3000, 1, nil, "big")
	}()
	<-sent
	p.kill9(t)
	if n := len(topicDirs(t, data, "big")); n != 0 {
		t.Fatalf("the create made %d directories before any append", n)
	}

	p = startProc(t, "sluiced", bin, args...)
	p.waitLog(t, "broker started", 60*time.Second)
	defer p.stop(t)
	if d := topicDirs(t, data, "big"); len(d) != 0 {
		t.Fatalf("after restart %d directories of the killed create remain, e.g. %v", len(d), d[:min(3, len(d))])
	}
	cl2, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	adm = kadm.NewClient(cl2)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("big") {
		if n := len(topics["big"].Partitions); n != 3000 {
			t.Fatalf("half-created topic listed after restart: %d partitions", n)
		}
		t.Logf("the create committed before the kill")
		if err := cl2.ProduceSync(ctx, &kgo.Record{Topic: "big", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("produce to the created topic: %v", err)
		}
		return
	}
	if resp, err := adm.CreateTopic(ctx, 10, 1, nil, "big"); err != nil || resp.Err != nil {
		t.Fatalf("create big again: %v %v", err, resp.Err)
	}
}
