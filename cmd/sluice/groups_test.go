package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

// offsetsOf parses `groups describe` rows into "partition -> current offset".
func offsetsOf(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	row := regexp.MustCompile(`(?m)^lines\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)`)
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2] + "/" + m[3] + "/" + m[4] // current/end/lag
	}
	return got
}

func TestCLIGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, func(c *broker.Config) { c.GroupInitialDelay = 0 })
	bs := "--bootstrap-server=" + b.Addr().String()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, bin, "", append(args, bs)...)
		if code != 0 {
			t.Fatalf("sluice %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	run("topics", "create", "lines", "--partitions", "2")
	var input []string
	for i := 0; i < 10; i++ {
		input = append(input, fmt.Sprintf("value %d", i))
	}
	if _, errOut, code := cli(t, bin, strings.Join(input, "\n")+"\n", "produce", "lines", "--partition", "0", bs); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := cli(t, bin, "a\nb\nc\nd\n", "produce", "lines", "--partition", "1", bs); code != 0 {
		t.Fatal(errOut)
	}

	// Read 12 of the 14 records as group "readers": what is printed is
	// committed; a second run goes on from there.
	out := run("consume", "lines", "--group", "readers", "--from-beginning", "--max-messages", "12", "--timeout", "20s")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 12 {
		t.Fatalf("consumed %d lines, want 12:\n%s", n, out)
	}
	out = run("consume", "lines", "--group", "readers", "--from-beginning", "--max-messages", "2", "--timeout", "20s")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 2 {
		t.Fatalf("second run read %d lines, want the 2 left:\n%s", n, out)
	}
	if out := run("groups", "list"); !regexp.MustCompile(`(?m)^readers\s+Empty`).MatchString(out) {
		t.Fatalf("groups list:\n%s", out)
	}
	out = run("groups", "describe", "readers")
	if got := offsetsOf(t, out); got["0"] != "10/10/0" || got["1"] != "4/4/0" {
		t.Fatalf("describe after consuming everything: %v\n%s", got, out)
	}

	// reset-offsets: a dry run changes nothing; then each mode.
	out = run("groups", "reset-offsets", "readers", "--topic", "lines", "--to-earliest", "--dry-run")
	if !strings.Contains(out, "Dry run") || !regexp.MustCompile(`(?m)^readers\s+lines\s+0\s+10\s+0`).MatchString(out) {
		t.Fatalf("dry run:\n%s", out)
	}
	if got := offsetsOf(t, run("groups", "describe", "readers")); got["0"] != "10/10/0" {
		t.Fatalf("the dry run moved offsets: %v", got)
	}
	for _, step := range []struct {
		args []string
		want map[string]string
	}{
		{[]string{"--to-earliest"}, map[string]string{"0": "0/10/10", "1": "0/4/4"}},
		{[]string{"--shift-by", "3"}, map[string]string{"0": "3/10/7", "1": "3/4/1"}},
		{[]string{"--shift-by", "-5"}, map[string]string{"0": "0/10/10", "1": "0/4/4"}}, // clamped at the log start
		{[]string{"--to-latest"}, map[string]string{"0": "10/10/0", "1": "4/4/0"}},
		{[]string{"--to-offset", "6", "--topic", "lines:0"}, map[string]string{"0": "6/10/4", "1": "4/4/0"}},
		{[]string{"--to-datetime", "2000-01-01T00:00:00Z"}, map[string]string{"0": "0/10/10", "1": "0/4/4"}},
		{[]string{"--to-offset", "7", "--topic", "lines:1"}, map[string]string{"0": "0/10/10", "1": "4/4/0"}}, // clamped at the log end
		{[]string{"--to-current"}, map[string]string{"0": "0/10/10", "1": "4/4/0"}},
		{[]string{"--by-duration", "0s"}, map[string]string{"0": "10/10/0", "1": "4/4/0"}}, // nothing newer than now
		{[]string{"--by-duration", "PT1H30M"}, map[string]string{"0": "0/10/10", "1": "0/4/4"}},
	} {
		args := append([]string{"groups", "reset-offsets", "readers", "--execute"}, step.args...)
		if !strings.Contains(strings.Join(step.args, " "), "--topic") {
			args = append(args, "--topic", "lines")
		}
		run(args...)
		if got := offsetsOf(t, run("groups", "describe", "readers")); fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Fatalf("after reset %v: %v, want %v", step.args, got, step.want)
		}
	}
	// --export prints the plan as CSV and commits nothing; the file, edited,
	// comes back with --from-file.
	out = run("groups", "reset-offsets", "readers", "--topic", "lines", "--to-latest", "--export")
	if out != "lines,0,10\nlines,1,4\n" {
		t.Fatalf("--export printed %q", out)
	}
	if got := offsetsOf(t, run("groups", "describe", "readers")); got["0"] != "0/10/10" {
		t.Fatalf("--export without --execute moved offsets: %v", got)
	}
	plan := filepath.Join(t.TempDir(), "plan.csv")
	if err := os.WriteFile(plan, []byte("# from --export\nlines,0,8\n\nlines,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run("groups", "reset-offsets", "readers", "--from-file", plan)
	if !regexp.MustCompile(`(?m)^readers\s+lines\s+0\s+0\s+8$`).MatchString(out) || !strings.Contains(out, "Dry run") {
		t.Fatalf("--from-file dry run:\n%s", out)
	}
	out = run("groups", "reset-offsets", "readers", "--from-file", plan, "--execute")
	if !strings.Contains(out, "Reset offsets of group readers on 2 partitions") {
		t.Fatalf("--from-file --execute:\n%s", out)
	}
	if got := offsetsOf(t, run("groups", "describe", "readers")); got["0"] != "8/10/2" || got["1"] != "2/4/2" {
		t.Fatalf("after --from-file: %v", got)
	}
	// --to-current exports what is committed.
	if out := run("groups", "reset-offsets", "readers", "--topic", "lines", "--to-current", "--export", "--execute"); out != "lines,0,8\nlines,1,2\n" {
		t.Fatalf("--to-current --export: %q", out)
	}
	run("groups", "reset-offsets", "readers", "--topic", "lines", "--to-earliest", "--execute")

	// After resetting to the earliest offsets, the group reads everything again.
	out = run("consume", "lines", "--group", "readers", "--max-messages", "14", "--timeout", "20s")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 14 {
		t.Fatalf("after the reset the group read %d lines, want 14", n)
	}

	// A group with an active member refuses resets and deletion.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	gc, err := cl.NewGroupConsumer(client.GroupConfig{GroupID: "readers", Topics: []string{"lines"},
		Consumer: client.ConsumerConfig{MaxWait: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(gc.Assignment()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the group consumer never got partitions")
		}
		if _, err := gc.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	out = run("groups", "describe", "readers")
	if !strings.Contains(out, "State: Stable") || !strings.Contains(out, "sluice") {
		t.Fatalf("describe with a member:\n%s", out)
	}
	for _, args := range [][]string{
		{"groups", "reset-offsets", "readers", "--topic", "lines", "--to-earliest"},
		{"groups", "delete", "readers"},
	} {
		_, errOut, code := cli(t, bin, "", append(args, bs)...)
		if code == 0 || !strings.Contains(errOut, "active members") && !strings.Contains(errOut, "NON_EMPTY_GROUP") {
			t.Fatalf("%v on an active group: exit %d, %s", args, code, errOut)
		}
	}
	if err := gc.Close(); err != nil {
		t.Fatal(err)
	}
	run("groups", "delete", "readers")
	if out := run("groups", "list"); strings.Contains(out, "readers") {
		t.Fatalf("deleted group still listed:\n%s", out)
	}

	// Bad input.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"groups", "describe", "nobody"}, "GROUP_ID_NOT_FOUND"},
		{[]string{"groups", "delete", "nobody"}, "GROUP_ID_NOT_FOUND"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines"}, "exactly one"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines:7", "--to-earliest"}, "not a partition"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "nope", "--to-earliest"}, "UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines", "--to-datetime", "yesterday"}, "--to-datetime"},
		{[]string{"consume", "lines", "--group", "x", "--partition", "0"}, "--partition"},
		{[]string{"groups", "describe", ""}, "INVALID_GROUP_ID"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines", "--to-earliest", "--dry-run", "--execute"}, "--dry-run and --execute"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines", "--by-duration", "P1X"}, "--by-duration"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines", "--by-duration", "-PT1H"}, "negative"},
		{[]string{"groups", "reset-offsets", "x", "--topic", "lines", "--to-current", "--to-latest"}, "exactly one"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0,1\nlines,zero,1\n")}, ":2: partition \"zero\""},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0\n")}, ":1: \"lines,0\": want topic,partition,offset"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0,-3\n")}, ":1: offset \"-3\""},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0,1\nlines,0,2\n")}, ":2: lines partition 0 was already given on line 1"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0,1\n\nlines,5,2\n")}, ":3: 5 is not a partition of lines"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "nope,0,1\n")}, ":1: topic nope"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "")}, "no offsets"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", "/nonexistent/plan.csv"}, "no such file"},
		{[]string{"groups", "reset-offsets", "x", "--from-file", badFile(t, "lines,0,1\n"), "--topic", "lines"}, "does not go with --topic"},
	} {
		_, errOut, code := cli(t, bin, "", append(c.args, bs)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", c.args, code, errOut, c.want)
		}
	}
}

// badFile writes a reset plan for a bad-input case.
func badFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plan.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A group with more members than partitions shows the extra member as
// idle.
func TestCLIGroupsDescribeIdleMember(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, func(c *broker.Config) { c.GroupInitialDelay = 0 })
	bs := "--bootstrap-server=" + b.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.CreateTopic(ctx, "pair", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	for i := 0; i < 3; i++ {
		gc, err := cl.NewGroupConsumer(client.GroupConfig{GroupID: "trio", Topics: []string{"pair"}, ClientID: fmt.Sprintf("c%d", i),
			HeartbeatInterval: 100 * time.Millisecond, Consumer: client.ConsumerConfig{MaxWait: 20 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		defer gc.Close()
		go func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := gc.Poll(ctx); err != nil {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _, code := cli(t, bin, "", "groups", "describe", "trio", bs)
		if code == 0 && strings.Contains(out, "State: Stable") && strings.Contains(out, "Members: 3") &&
			strings.Count(out, "idle: no partitions") == 1 && regexp.MustCompile(`(?m)^pair\s+0\s`).MatchString(out) &&
			regexp.MustCompile(`(?m)^pair\s+1\s`).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("describe never showed 2 owned partitions and 1 idle member:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestParseResetDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H30M": 90 * time.Minute, "P1DT2H": 26 * time.Hour, "pt1.5s": 1500 * time.Millisecond,
		"PT90M": 90 * time.Minute, "P2D": 48 * time.Hour, "+PT10S": 10 * time.Second, "PT0S": 0,
		"1h30m": 90 * time.Minute, "PT-10M1H": 50 * time.Minute,
	} {
		if got, err := parseResetDuration(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "P1H", "PT1D", "P1.5D", "PT1H2", "-PT1H", "P1DT", "PTXS", "1x"} {
		if d, err := parseResetDuration(in); err == nil {
			t.Errorf("%q: accepted as %v", in, d)
		}
	}
}

// FuzzResetInputs feeds arbitrary text to the reset plan reader and the
// duration parser: no panic, and what they accept is well formed.
func FuzzResetInputs(f *testing.F) {
	f.Add("lines,0,10\nlines,1,4\n")
	f.Add("g,lines,0,10\n# note\n\nother,t,1,2\n")
	f.Add("PT1H30M")
	f.Add("P1DT-2.5S")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		p := filepath.Join(dir, "plan.csv")
		if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		offsets, order, lines, err := readOffsetsCSV(p, "g")
		if err == nil {
			if len(order) == 0 || len(order) != len(offsets) || len(order) != len(lines) {
				t.Fatalf("%q: %d partitions, %d offsets, %d lines", in, len(order), len(offsets), len(lines))
			}
			for _, tp := range order {
				if tp.Topic == "" || tp.Partition < 0 || offsets[tp] < 0 || lines[tp] < 1 {
					t.Fatalf("%q: accepted %v offset %d line %d", in, tp, offsets[tp], lines[tp])
				}
			}
		}
		if d, err := parseResetDuration(in); err == nil && d < 0 {
			t.Fatalf("%q: negative duration %v accepted", in, d)
		}
	})
}
