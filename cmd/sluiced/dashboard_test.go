package main

// Tests of the operations documents in docs/: the Grafana dashboard
// (docs/grafana/sluice-dashboard.json), the Prometheus scrape configuration
// (docs/prometheus.yml) and its alerting rules (docs/prometheus-rules.yml).
// The dashboard must import as is; every series the dashboard and the rules
// query must be one a broker serves on /metrics once clients have used it
// (the names in net/metrics/doc.go, plus the Go and process collectors');
// and, where promtool is installed, every PromQL expression must parse and
// the alerts must fire on the series they are meant for.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
)

const (
	dashboardFile  = "../../docs/grafana/sluice-dashboard.json"
	promConfigFile = "../../docs/prometheus.yml"
	promRulesFile  = "../../docs/prometheus-rules.yml"
)

// dashboardRows are the dashboard's rows, in order.
var dashboardRows = []string{"Overview", "Throughput", "Latency", "Errors", "Consumer lag", "Disk", "Quorum", "Go runtime"}

// grafanaDashboard is the part of Grafana's dashboard model these tests read.
type grafanaDashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Datasource *grafanaDatasource `json:"datasource"`
	// Query is a string (a datasource variable's plugin type; an older
	// query variable's PromQL) or {"query": "..."}.
	Query json.RawMessage `json:"query"`
}

// query returns the variable's query text.
func (v grafanaVariable) query() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	json.Unmarshal(v.Query, &o)
	return o.Query
}

type grafanaPanel struct {
	ID          int                `json:"id"`
	Type        string             `json:"type"`
	Title       string             `json:"title"`
	Datasource  *grafanaDatasource `json:"datasource"`
	GridPos     struct{ H, W, X, Y int }
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID      string             `json:"refId"`
		Expr       string             `json:"expr"`
		Datasource *grafanaDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

func loadDashboard(t *testing.T) *grafanaDashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

// allPanels returns every panel, rows and the panels of collapsed rows
// included, in order.
func (d *grafanaDashboard) allPanels() []grafanaPanel {
	var out []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// exprs returns every PromQL expression of the dashboard: the panels'
// targets and the query variables'.
func (d *grafanaDashboard) exprs() []string {
	var out []string
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, v.query())
		}
	}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// ruleExprs returns the expr of every rule in the rules file: a plain
// scalar on its line, or a block scalar (>-, |) on the lines indented
// below it.
func ruleExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(promRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exprLine := regexp.MustCompile(`^(\s*)(?:- )?expr:\s*(.*)$`)
	lines := strings.Split(string(raw), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		m := exprLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, v := len(m[1]), strings.TrimSpace(m[2])
		if !strings.HasPrefix(v, ">") && !strings.HasPrefix(v, "|") {
			out = append(out, strings.Trim(v, `"'`))
			continue
		}
		var block []string
		for i+1 < len(lines) {
			l := lines[i+1]
			if strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) <= indent {
				break
			}
			block = append(block, strings.TrimSpace(l))
			i++
		}
		out = append(out, strings.TrimSpace(strings.Join(block, "\n")))
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rule expressions", promRulesFile)
	}
	return out
}

// metricName matches a Sluice, Go runtime or process series name in PromQL.
var metricName = regexp.MustCompile(`(?:^|[^A-Za-z0-9_:$])((?:sluice|go|process)_[A-Za-z0-9_:]*)`)

// metricNames returns the series names an expression reads, sorted.
func metricNames(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// targetLabels are the labels Prometheus itself attaches to a scrape
// (docs/prometheus.yml), and the ones histograms and summaries carry.
var targetLabels = map[string]bool{"instance": true, "job": true, "cluster": true, "le": true, "quantile": true}

// groupingLabels returns the labels an expression aggregates or matches
// by (by, without, on, ignoring), and the label names of its selectors,
// less targetLabels.
func groupingLabels(expr string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`).FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !targetLabels[l] {
				out = append(out, l)
			}
		}
	}
	for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(expr, -1) {
		for _, l := range regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`).FindAllStringSubmatch(m[1], -1) {
			if !targetLabels[l[1]] {
				out = append(out, l[1])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestDashboardWellFormed(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q, uid %q, schemaVersion %d: want both set and a schema of Grafana 9.4 or later", d.Title, d.UID, d.SchemaVersion)
	}

	vars := map[string]grafanaVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v := vars["datasource"]; v.Type != "datasource" || v.query() != "prometheus" {
		t.Errorf("datasource variable: type %q query %q, want a prometheus datasource variable", v.Type, v.query())
	}
	for name, want := range map[string]*regexp.Regexp{
		"instance": regexp.MustCompile(`^label_values\(sluice_broker_info\s*(\{[^}]*\})?\s*,\s*instance\)$`),
		"topic":    regexp.MustCompile(`^label_values\(sluice_topic_bytes_in_total\s*(\{[^}]*\})?\s*,\s*topic\)$`),
	} {
		v := vars[name]
		if v.Type != "query" || !want.MatchString(v.query()) {
			t.Errorf("%s variable: type %q query %q, want a query variable matching %s", name, v.Type, v.query(), want)
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("%s variable: datasource %+v, want uid ${datasource}", name, v.Datasource)
		}
	}

	ids := map[int]string{}
	var rows []string
	bucket := regexp.MustCompile(`_bucket\b`)
	byLe := regexp.MustCompile(`histogram_quantile\(\s*[0-9.]+\s*,\s*sum\s+by\s*\([^)]*\ble\b`)
	for _, p := range d.allPanels() {
		what := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.ID <= 0 {
			t.Errorf("%s: no id", what)
		} else if other, dup := ids[p.ID]; dup {
			t.Errorf("%s: id also used by %q", what, other)
		}
		ids[p.ID] = p.Title
		if strings.TrimSpace(p.Title) == "" {
			t.Errorf("%s: no title", what)
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24 columns", what, p.GridPos)
		}
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("%s: no unit", what)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource %+v, want prometheus ${datasource}", what, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", what)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: target %q has no expr", what, tg.RefID)
			}
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: refId %q missing or repeated", what, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
				t.Errorf("%s: target %s datasource %+v, want ${datasource}", what, tg.RefID, tg.Datasource)
			}
			if len(metricNames(tg.Expr)) == 0 {
				t.Errorf("%s: %q reads no sluice_, go_ or process_ series", what, tg.Expr)
			}
			// A quantile of buckets summed across series must keep le.
			if bucket.MatchString(tg.Expr) && !byLe.MatchString(tg.Expr) {
				t.Errorf("%s: %q: histogram_quantile over buckets summed by le wanted", what, tg.Expr)
			}
		}
	}
	if !slices.Equal(rows, dashboardRows) {
		t.Errorf("rows %q, want %q", rows, dashboardRows)
	}
}

// TestPrometheusDocsMatchTheBrokers: docs/prometheus.yml scrapes the
// operations listener of `make run` (the Makefile's override) and of each
// `make cluster` broker (cmd/sluiced/cluster/*.properties).
func TestPrometheusDocsMatchTheBrokers(t *testing.T) {
	cfg, err := os.ReadFile(promConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	listener := regexp.MustCompile(`metrics\.listeners=http://(\S+)`)
	sources, _ := filepath.Glob("cluster/*.properties")
	sources = append(sources, "../../Makefile")
	var addrs []string
	for _, f := range sources {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range listener.FindAllStringSubmatch(string(raw), -1) {
			addrs = append(addrs, m[1])
		}
	}
	if len(addrs) < 4 {
		t.Fatalf("found operations listeners %q in %q, want make run's and three of make cluster's", addrs, sources)
	}
	for _, a := range addrs {
		if !strings.Contains(string(cfg), `"`+a+`"`) {
			t.Errorf("%s does not scrape %s", promConfigFile, a)
		}
	}
}

// TestPromQL: promtool, where installed, accepts the configuration and
// the rules, parses every expression of the dashboard, and fires each
// alert on the series it is written for and not on others.
func TestPromQL(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt: prometheus)")
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "config", promConfigFile)
	run("check", "rules", promRulesFile)

	// The dashboard's expressions as recording rules, its variables
	// replaced by what Grafana would put there; of a variable's
	// label_values(selector, label), the selector.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*", "$topic", ".*")
	labelValues := regexp.MustCompile(`^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)$`)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range loadDashboard(t).exprs() {
		if m := labelValues.FindStringSubmatch(e); m != nil {
			e = m[1]
		}
		q, _ := json.Marshal(vars.Replace(e))
		fmt.Fprintf(&b, "      - record: dashboard:expr_%d\n        expr: %s\n", i, q)
	}
	dashRules := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(dashRules, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run("check", "rules", dashRules)

	// promtool compares annotations too; these tests are about when each
	// alert fires, so they run on a copy of the rules without them.
	raw, err := os.ReadFile(promRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	skipBelow := -1
	for _, l := range strings.Split(string(raw), "\n") {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if skipBelow >= 0 && (strings.TrimSpace(l) == "" || indent > skipBelow) {
			continue
		}
		skipBelow = -1
		if strings.TrimSpace(l) == "annotations:" {
			skipBelow = indent
			continue
		}
		kept = append(kept, l)
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	// Cluster c: broker b1 leads an under-replicated partition from 15s,
	// a partition goes offline at 60s, and no broker is the active
	// controller from 60s. Single node r reports no active controller but
	// has no quorum (no raft term), so it is no alert. Group g1's lag grows
	// by 200 records every 15s; g2's is large but steady.
	const alertTests = `rule_files: [rules.yml]
evaluation_interval: 5s
tests:
  - interval: 15s
    input_series:
      - {series: 'sluice_under_replicated_partitions{cluster="c",instance="b1"}', values: '0 1x40'}
      - {series: 'sluice_under_replicated_partitions{cluster="c",instance="b2"}', values: '0x40'}
      - {series: 'sluice_under_min_isr_partitions{cluster="c",instance="b1"}', values: '0x40'}
      - {series: 'sluice_offline_partitions{cluster="c",instance="b1"}', values: '0 0 0 0 2x40'}
      - {series: 'sluice_controller_active{cluster="c",instance="b1"}', values: '1 1 1 1 0x40'}
      - {series: 'sluice_controller_active{cluster="c",instance="b2"}', values: '0x40'}
      - {series: 'sluice_raft_term{cluster="c",instance="b1"}', values: '1x40'}
      - {series: 'sluice_raft_term{cluster="c",instance="b2"}', values: '1x40'}
      - {series: 'sluice_controller_active{cluster="r",instance="n"}', values: '0x40'}
      - {series: 'sluice_consumer_group_lag{cluster="c",instance="b1",group="g1",topic="t",partition="0"}', values: '0+200x100'}
      - {series: 'sluice_consumer_group_lag{cluster="c",instance="b1",group="g2",topic="t",partition="0"}', values: '5000x100'}
    alert_rule_test:
      - {eval_time: 45s, alertname: SluiceUnderReplicatedPartitions}
      - eval_time: 2m
        alertname: SluiceUnderReplicatedPartitions
        exp_alerts: [{exp_labels: {severity: warning, cluster: c, instance: b1}}]
      - {eval_time: 5m, alertname: SluiceUnderMinISRPartitions}
      - eval_time: 2m
        alertname: SluiceOfflinePartitions
        exp_alerts: [{exp_labels: {severity: critical, cluster: c}}]
      - eval_time: 2m
        alertname: SluiceNoActiveController
        exp_alerts: [{exp_labels: {severity: critical, cluster: c}}]
      - {eval_time: 5m, alertname: SluiceConsumerLagGrowing}
      - eval_time: 20m
        alertname: SluiceConsumerLagGrowing
        exp_alerts: [{exp_labels: {severity: warning, cluster: c, group: g1}}]
`
	tests := filepath.Join(dir, "rules_test.yml")
	if err := os.WriteFile(tests, []byte(alertTests), 0o644); err != nil {
		t.Fatal(err)
	}
	run("test", "rules", tests)
}

// exposition is what a /metrics scrape holds: each family's type and the
// label names its samples carry.
type exposition struct {
	types  map[string]string          // family -> counter, gauge, histogram, summary, untyped
	labels map[string]map[string]bool // family -> label names
}

// parseExposition reads the Prometheus text format.
func parseExposition(body string) *exposition {
	x := &exposition{types: map[string]string{}, labels: map[string]map[string]bool{}}
	labelName := regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*"`)
	var samples []string
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			x.types[f[2]] = f[3]
		} else if len(f) >= 3 && f[0] == "#" && f[1] == "HELP" {
			if _, ok := x.types[f[2]]; !ok {
				x.types[f[2]] = "untyped"
			}
		} else if len(f) >= 2 && f[0] != "#" {
			samples = append(samples, l)
		}
	}
	for _, l := range samples {
		name, rest, _ := strings.Cut(l, "{")
		name = strings.Fields(name)[0]
		family := x.family(name)
		if family == "" {
			family = name
			x.types[name] = "untyped"
		}
		if x.labels[family] == nil {
			x.labels[family] = map[string]bool{}
		}
		if rest != "" {
			for _, m := range labelName.FindAllStringSubmatch(rest[:strings.LastIndex(rest, "}")+1], -1) {
				x.labels[family][m[1]] = true
			}
		}
	}
	return x
}

// family returns the family a series name belongs to: itself, or the
// histogram or summary whose _bucket, _sum or _count it is; "" if none.
func (x *exposition) family(name string) string {
	if _, ok := x.types[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch x.types[base] {
		case "histogram":
			return base
		case "summary":
			if suffix != "_bucket" {
				return base
			}
		}
	}
	return ""
}

// clusterOnly tells the series only a cluster member serves: the quorum's
// and the active controller's.
func clusterOnly(name string) bool {
	return strings.HasPrefix(name, "sluice_raft_") || name == "sluice_controller_active" || name == "sluice_offline_partitions"
}

// TestDashboardMetricsServed: every series the dashboard and the alerting
// rules read is on /metrics of a broker that clients have used: a single
// node (make run) serves all but the cluster's own, a one-node cluster
// (make cluster) serves every one; and the labels the expressions group
// or select by are on those series.
func TestDashboardMetricsServed(t *testing.T) {
	exprs := append(loadDashboard(t).exprs(), ruleExprs(t)...)
	var names []string
	for _, e := range exprs {
		names = append(names, metricNames(e)...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	t.Logf("the dashboard and the rules read %d series: %s", len(names), strings.Join(names, " "))

	check := func(t *testing.T, b *broker.Broker, rf int16, cluster bool) {
		exerciseBroker(t, b.KafkaAddr().String(), rf)
		var want []string
		for _, n := range names {
			if cluster || !clusterOnly(n) {
				want = append(want, n)
			}
		}
		// Scrape until every series is there: traffic counted a moment
		// ago (a committed offset, a replica's state) may reach a
		// scrape-time reader a little later. Bounded.
		var x *exposition
		var missing []string
		for deadline := time.Now().Add(15 * time.Second); ; {
			x = parseExposition(scrape(t, b))
			missing = missing[:0]
			for _, n := range want {
				if x.family(n) == "" {
					missing = append(missing, n)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(missing) > 0 {
			t.Errorf("/metrics lacks %d of the %d series the dashboard and rules read: %s", len(missing), len(want), strings.Join(missing, " "))
		}
		for _, e := range exprs {
			for _, l := range groupingLabels(e) {
				for _, n := range metricNames(e) {
					if f := x.family(n); f != "" && !x.labels[f][l] {
						t.Errorf("%s has no label %q, which %q uses", n, l, e)
					}
				}
			}
		}
	}
	t.Run("single", func(t *testing.T) {
		b := broker.StartTest(t, func(c *broker.Config) {
			c.MetricsListen = "127.0.0.1:0"
			c.GroupInitialDelay = 0
		})
		check(t, b, 1, false)
	})
	t.Run("cluster", func(t *testing.T) {
		bs := broker.StartTestCluster(t, 1, func(c *broker.Config) { c.MetricsListen = "127.0.0.1:0" })
		check(t, bs[0], 1, true)
	})
}

// scrape returns the broker's /metrics.
func scrape(t *testing.T, b *broker.Broker) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// exerciseBroker uses a broker the way the dashboard expects to see it
// used, through its Kafka listener: it creates a topic of three
// partitions, produces to each, has one produce refused (a record over the
// topic's max.message.bytes, so that a request error and a failed produce
// are counted), and consumes everything in a consumer group that commits
// its offsets.
func exerciseBroker(t *testing.T, seed string, rf int16) {
	t.Helper()
	const topic, group, perPartition = "dashboard", "dashboard-group", 5
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc := newKafkaClient(t, seed, kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	maxBytes := "4096"
	resp, err := kadm.NewClient(kc).CreateTopic(ctx, 3, rf, map[string]*string{"max.message.bytes": &maxBytes}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for p := int32(0); p < 3; p++ {
		for i := 0; i < perPartition; i++ {
			r := &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("record %d of partition %d", i, p))}
			if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce to %s/%d: %v", topic, p, err)
			}
		}
	}
	big := &kgo.Record{Topic: topic, Partition: 0, Value: make([]byte, 16<<10)}
	if err := kc.ProduceSync(ctx, big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("produce of %d bytes to a topic with max.message.bytes %s: %v, want %v", len(big.Value), maxBytes, err, kerr.MessageTooLarge)
	}

	consumer := newKafkaClient(t, seed, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	for got := 0; got < 3*perPartition; {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, 3*perPartition, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got += fs.NumRecords()
	}
	if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
