package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

func TestParseDeleteRecords(t *testing.T) {
	offs, order, err := parseDeleteRecords([]byte(`{"partitions":[{"topic":"t","partition":1,"offset":3},{"topic":"t","partition":0,"offset":-1}],"version":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != (client.TopicPartition{Topic: "t", Partition: 1}) || offs[order[0]] != 3 || offs[order[1]] != -1 {
		t.Fatalf("parsed %v %v", offs, order)
	}
	for _, bad := range []string{
		``, `{`, `[]`, `{"partitions":[]}`, `{"version":1}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":2}`,
		`{"partitions":[{"partition":0,"offset":3}]}`,
		`{"partitions":[{"topic":"","partition":0,"offset":3}]}`,
		`{"partitions":[{"topic":"t","offset":3}]}`,
		`{"partitions":[{"topic":"t","partition":-1,"offset":3}]}`,
		`{"partitions":[{"topic":"t","partition":0}]}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":-2}]}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":"3"}]}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":3,"extra":1}]}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":3},{"topic":"t","partition":0,"offset":4}]}`,
		`{"partitions":[{"topic":"t","partition":0,"offset":3}]} {}`,
	} {
		if _, _, err := parseDeleteRecords([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseDeleteRecords: no input panics, and whatever is accepted
// names each partition once with an offset of -1 or more.
func FuzzParseDeleteRecords(f *testing.F) {
	f.Add([]byte(`{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1}`))
	f.Add([]byte(`{"partitions":[{"topic":"a","partition":2,"offset":-1},{"topic":"b","partition":0,"offset":0}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		offs, order, err := parseDeleteRecords(data)
		if err != nil {
			return
		}
		if len(order) != len(offs) || len(order) == 0 {
			t.Fatalf("%d partitions in order, %d offsets", len(order), len(offs))
		}
		for _, tp := range order {
			if o, ok := offs[tp]; !ok || o < -1 || tp.Topic == "" || tp.Partition < 0 {
				t.Fatalf("accepted %v offset %d", tp, o)
			}
		}
	})
}

// TestCLIDeleteRecords: `topics delete-records` through a real broker
// moves the log start, prints each partition's low watermark or error,
// and exits non-zero on a failure or a bad file.
func TestCLIDeleteRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	b := broker.StartTest(t, nil)
	bs := "--bootstrap-server=" + b.Addr().String()
	if out, errOut, code := cli(t, bin, "", "topics", "create", "dr", "--partitions", "1", bs); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	var input []string
	for i := 0; i < 10; i++ {
		input = append(input, fmt.Sprintf("value %d", i))
	}
	if out, errOut, code := cli(t, bin, strings.Join(input, "\n")+"\n", "produce", "dr", bs); code != 0 {
		t.Fatalf("produce: %d %s %s", code, out, errOut)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	good := write("good.json", `{"partitions":[{"topic":"dr","partition":0,"offset":3}],"version":1}`)
	out, errOut, code := cli(t, bin, "", "topics", "delete-records", "--offset-json-file", good, bs)
	if code != 0 || out != "partition: dr-0\tlow_watermark: 3\n" {
		t.Fatalf("delete-records: %d %q %s", code, out, errOut)
	}
	out, errOut, code = cli(t, bin, "", "consume", "dr", "--from-beginning", "--max-messages", "7", "--timeout", "20s", bs)
	if got := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(got) != 7 || got[0] != "value 3" {
		t.Fatalf("consume after delete-records: %d %q %s", code, out, errOut)
	}

	// "-" reads the file from stdin; deleting below the start again
	// changes nothing.
	out, errOut, code = cli(t, bin, `{"partitions":[{"topic":"dr","partition":0,"offset":1}],"version":1}`,
		"topics", "delete-records", "--offset-json-file", "-", bs)
	if code != 0 || out != "partition: dr-0\tlow_watermark: 3\n" {
		t.Fatalf("delete-records from stdin: %d %q %s", code, out, errOut)
	}

	// One partition fails (past the high watermark), one is unknown:
	// both printed, exit non-zero.
	mixed := write("mixed.json", `{"partitions":[{"topic":"dr","partition":0,"offset":11},{"topic":"nope","partition":0,"offset":1}],"version":1}`)
	out, errOut, code = cli(t, bin, "", "topics", "delete-records", "--offset-json-file", mixed, bs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code == 0 || len(lines) != 2 || !strings.Contains(lines[0], "dr-0\terror: ") || !strings.Contains(lines[0], "OFFSET_OUT_OF_RANGE") ||
		!strings.Contains(lines[1], "nope-0\terror: ") || !strings.Contains(lines[1], "UNKNOWN_TOPIC_OR_PARTITION") ||
		!strings.Contains(errOut, "2 of 2 partitions failed") {
		t.Fatalf("delete-records with failures: %d %q %q", code, out, errOut)
	}

	for _, args := range [][]string{
		{"--offset-json-file", write("bad.json", `{"partitions":[{"topic":"dr","partition":0}]}`)},
		{"--offset-json-file", write("notjson.json", `partitions: dr 0 3`)},
		{"--offset-json-file", filepath.Join(dir, "missing.json")},
		{},
	} {
		out, errOut, code := cli(t, bin, "", append([]string{"topics", "delete-records", bs}, args...)...)
		if code == 0 || strings.TrimSpace(errOut) == "" || out != "" {
			t.Errorf("delete-records %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	// Nothing the failures asked for happened.
	out, errOut, code = cli(t, bin, "", "consume", "dr", "--from-beginning", "--max-messages", "1", "--timeout", "20s", bs)
	if code != 0 || strings.TrimSpace(out) != "value 3" {
		t.Fatalf("first record after the failed deletes: %d %q %s", code, out, errOut)
	}
}
