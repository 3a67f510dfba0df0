package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

func TestCLIConfigs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, func(c *broker.Config) { c.NumPartitions = 2 })
	bs := "--bootstrap-server=" + b.Addr().String()
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, bin, "", append(args, bs)...)
		if code != 0 {
			t.Fatalf("sluice %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	run("topics", "create", "events", "--config", "retention.ms=3600000")

	out := run("configs", "describe", "--entity-type", "topics", "--entity-name", "events")
	if out != "Dynamic configs for topic events are:\n  retention.ms=3600000 source=DYNAMIC_TOPIC_CONFIG sensitive=false read-only=false\n" {
		t.Fatalf("describe:\n%s", out)
	}
	out = run("configs", "describe", "--entity-type", "topics", "--entity-name", "events", "--all")
	for _, want := range []string{
		"All configs for topic events are:\n",
		"\n  retention.ms=3600000 source=DYNAMIC_TOPIC_CONFIG sensitive=false read-only=false\n",
		"\n  segment.bytes=1073741824 source=DEFAULT_CONFIG sensitive=false read-only=false\n",
		"\n  max.message.bytes=1048588 source=DEFAULT_CONFIG",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe --all lacks %q:\n%s", want, out)
		}
	}

	out = run("configs", "alter", "--entity-type", "topics", "--entity-name", "events",
		"--add-config", "max.message.bytes=2097152,cleanup.policy=[compact,delete]", "--delete-config", "retention.ms")
	if out != "Completed updating config for topic events.\n" {
		t.Fatalf("alter: %q", out)
	}
	out = run("configs", "describe", "--entity-type", "topic", "--entity-name", "events", "--all")
	for _, want := range []string{
		"\n  max.message.bytes=2097152 source=DYNAMIC_TOPIC_CONFIG",
		"\n  cleanup.policy=compact,delete source=DYNAMIC_TOPIC_CONFIG",
		"\n  retention.ms=604800000 source=DEFAULT_CONFIG",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("after alter, describe lacks %q:\n%s", want, out)
		}
	}
	// Every topic, when no name is given.
	run("topics", "create", "other")
	out = run("configs", "describe", "--entity-type", "topics")
	if !strings.Contains(out, "Dynamic configs for topic events are:\n  cleanup.policy=compact,delete") ||
		!strings.Contains(out, "Dynamic configs for topic other are:\n  (none; --all shows every config)\n") {
		t.Fatalf("describe all topics:\n%s", out)
	}

	// Brokers: static configs, read-only, shown with --all.
	out = run("configs", "describe", "--entity-type", "brokers", "--all")
	m := regexp.MustCompile(`(?m)^All configs for broker (\d+) are:$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "\n  num.partitions=2 source=STATIC_BROKER_CONFIG sensitive=false read-only=true\n") {
		t.Fatalf("describe brokers:\n%s", out)
	}
	id := m[1]
	if again := run("configs", "describe", "--entity-type", "brokers", "--entity-name", id, "--all"); again != out {
		t.Fatalf("broker %s by name:\n%s\nwithout:\n%s", id, again, out)
	}
	out = run("configs", "describe", "--entity-type", "brokers", "--entity-name", id)
	if out != "Dynamic configs for broker "+id+" are:\n  (none; --all shows every config)\n" {
		t.Fatalf("broker dynamic configs: %q", out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"configs", "describe"}, "--entity-type is required"},
		{[]string{"configs", "describe", "--entity-type", "users"}, "topics and brokers only"},
		{[]string{"configs", "describe", "--entity-type", "topics", "--entity-name", "missing"}, "UNKNOWN_TOPIC_OR_PARTITION"},
		{[]string{"configs", "describe", "--entity-type", "brokers", "--entity-name", "one"}, "node id"},
		{[]string{"configs", "describe", "--entity-type", "brokers", "--entity-name", "99"}, "no such broker"},
		{[]string{"configs", "alter", "--entity-type", "brokers", "--entity-name", id, "--add-config", "num.partitions=3"}, "static"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--add-config", "retention.ms=1"}, "--entity-name is required"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events"}, "nothing to change"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "retention.ms"}, "want key=value"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "cleanup.policy=[compact"}, "not closed"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "a=1,a=2"}, "given twice"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "retention.ms=1", "--delete-config", "retention.ms"}, "both"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "retention.ms=soon"}, "INVALID_CONFIG"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "no.such.config=1"}, "no.such.config"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--entity-name", "missing", "--add-config", "retention.ms=1"}, "UNKNOWN_TOPIC_OR_PARTITION"},
	} {
		_, errOut, code := cli(t, bin, "", append(c.args, bs)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to mention %q", c.args, code, errOut, c.want)
		}
	}
	// The refused changes changed nothing.
	if out := run("configs", "describe", "--entity-type", "topics", "--entity-name", "events"); strings.Contains(out, "retention.ms") {
		t.Fatalf("a refused alter left a change:\n%s", out)
	}
}
