package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// scrapePage GETs a broker's /metrics page.
func scrapePage(t *testing.T, b *broker.Broker) string {
	t.Helper()
	resp, err := http.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestGroupLagMatchesDescribe: the lag /metrics reports for each of a
// group's partitions is the LAG column of `sluice groups describe`, and
// `sluice top` shows the group's total.
func TestGroupLagMatchesDescribe(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) {
		c.MetricsListen = "127.0.0.1:0"
		c.GroupInitialDelay = 0
	})
	bs := "--bootstrap-server=" + b.Addr().String()
	mustCLI := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if code := run(append(args, bs), strings.NewReader(stdin), &out, &errb); code != 0 {
			t.Fatalf("sluice %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	mustCLI("", "topics", "create", "lines", "--partitions", "2")
	var in strings.Builder
	for i := range 9 {
		fmt.Fprintf(&in, "value %d\n", i)
	}
	mustCLI(in.String(), "produce", "lines", "--partition", "0")
	mustCLI("a\nb\nc\nd\ne\n", "produce", "lines", "--partition", "1")
	// The group reads 6 records, so some of both partitions stay unread.
	mustCLI("", "consume", "lines", "--group", "readers", "--from-beginning", "--max-messages", "6", "--timeout", "20s")

	describe := mustCLI("", "groups", "describe", "readers")
	row := regexp.MustCompile(`(?m)^lines\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)`)
	rows := row.FindAllStringSubmatch(describe, -1)
	if len(rows) == 0 {
		t.Fatalf("describe rows:\n%s", describe)
	}
	page := scrapePage(t, b)
	total := 0
	for _, r := range rows {
		part, lag := r[1], r[4]
		series := fmt.Sprintf(`sluice_consumer_group_lag{group="readers",partition="%s",topic="lines"} %s`+"\n", part, lag)
		if !strings.Contains(page, series) {
			t.Errorf("/metrics lacks %q; describe says\n%s", series, describe)
		}
		var n int
		fmt.Sscan(lag, &n)
		total += n
	}
	if total == 0 {
		t.Fatalf("describe shows no lag after reading 6 of 14:\n%s", describe)
	}
	if t.Failed() {
		t.Logf("%s", page)
	}

	// sluice top shows the group with its total lag.
	out, errOut, code := runCLI("top", "--metrics-url", "http://"+b.MetricsAddr().String()+"/metrics", "--iterations", "1")
	if code != 0 {
		t.Fatalf("top: exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^\s*readers\s+%d\b`, total)).MatchString(out) {
		t.Errorf("sluice top does not show group readers with lag %d:\n%s", total, out)
	}
}
