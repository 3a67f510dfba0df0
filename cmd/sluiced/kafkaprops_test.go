package main

// A Kafka user's server.properties starts sluiced as it is: each of Kafka's
// example broker configurations (net/broker/testdata/kafka, the files Kafka
// ships in config/ and config/kraft/) starts a real sluiced process, with
// only its ports and data directory overridden, which serves requests,
// honours the keys Sluice implements under Kafka's names, and logs one
// warning per key it ignores. A misspelt key still stops it, naming the
// key it probably meant.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/protocol"
)

// kafkaConfigDir holds Kafka's example configurations.
const kafkaConfigDir = "../../net/broker/testdata/kafka/config"

var (
	nativeAddrRe = regexp.MustCompile(`msg="broker started" .*listen=(\S+)`)
	kafkaAddrRe  = regexp.MustCompile(`msg="kafka listener started" kafka=(\S+)`)
	opsAddrRe    = regexp.MustCompile(`msg="listener bound" .*protocol=http addr=(\S+)`)
	ignoredRe    = regexp.MustCompile(`level=WARN msg="ignoring Kafka property" .*property=(\S+) value=.* reason=".+"`)
)

// startKafkaExample starts sluiced on one of Kafka's example files with
// args overriding its ports and data directory, waits for ready (the
// log line, then /readyz) and returns the process. free gives the fixed
// ports the arguments need (a controller's, named in
// controller.quorum.voters); a start that loses one of them to another
// process before binding it is tried again on new ones.
func startKafkaExample(t *testing.T, bin, name, file, readyLine string, free int, args func(addrs []string) []string) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		full := append([]string{"--config", filepath.Join(kafkaConfigDir, file), "--data-dir", t.TempDir(),
			"--override", "metrics.listeners=http://127.0.0.1:0"}, args(freeAddrs(t, free))...)
		p := startProc(t, name, bin, full...)
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(p.out.String(), readyLine) && !p.exited() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if p.exited() && strings.Contains(p.out.String(), "address already in use") && attempt < 3 {
			t.Logf("%s: a port was taken before sluiced bound it; trying new ports", name)
			continue
		}
		p.waitLog(t, readyLine, time.Until(deadline))
		ops := logMatch(t, p, opsAddrRe)
		waitFor(t, name+" /readyz", 60*time.Second, func() (bool, string) {
			resp, err := http.Get("http://" + ops + "/readyz")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
		return p
	}
}

// logMatch returns the first submatch of re in p's output.
func logMatch(t *testing.T, p *proc, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("%s: no log line matches %s", p.name, re)
	}
	return m[1]
}

// checkIgnoredWarnings requires exactly one warning line for each key in
// want, and no other, and no refusal.
func checkIgnoredWarnings(t *testing.T, p *proc, want []string) {
	t.Helper()
	out := p.out.String()
	var got []string
	for _, m := range ignoredRe.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: warned about %v, want each of %v once", p.name, got, want)
	}
	if strings.Contains(out, "unknown property") || strings.Contains(out, "invalid broker configuration") {
		t.Errorf("%s: refused a key:\n%s", p.name, out)
	}
}

// kafkaBrokers asks the Kafka listener at addr, and only it, for Metadata
// and returns its brokers as id@host:port and its controller id.
func kafkaBrokers(t *testing.T, addr string) ([]string, int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.DialTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("Kafka Metadata from %s: %v", addr, err)
	}
	var out []string
	for _, b := range resp.Brokers {
		out = append(out, fmt.Sprintf("%d@%s:%d", b.NodeID, b.Host, b.Port))
	}
	slices.Sort(out)
	return out, resp.ControllerID
}

// nativeServes requires an ApiVersions answer from the native listener.
func nativeServes(t *testing.T, addr string) {
	t.Helper()
	var resp protocol.APIVersionsResponse
	dialRaw(t, addr).call(&protocol.APIVersionsRequest{}, &resp)
	if resp.ErrorCode != protocol.NoError || len(resp.APIKeys) == 0 {
		t.Fatalf("ApiVersions from %s: %+v", addr, resp)
	}
}

// Kafka's keys each example file holds that Sluice has no use for.
var (
	ignoredEverywhere = []string{"num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
		"transaction.state.log.min.isr", "transaction.state.log.replication.factor"}
	ignoredZooKeeper = sortedWith(ignoredEverywhere, "zookeeper.connect", "zookeeper.connection.timeout.ms")
	ignoredCombined  = sortedWith(ignoredEverywhere, "listener.security.protocol.map")
	ignoredBroker    = sortedWith(ignoredEverywhere, "listener.security.protocol.map",
		"share.coordinator.state.topic.min.isr", "share.coordinator.state.topic.replication.factor")
)

func sortedWith(base []string, more ...string) []string {
	return slices.Sorted(slices.Values(append(slices.Clone(base), more...)))
}

// TestKafkaExampleConfigsStartSluiced starts sluiced on each of Kafka's
// example configurations.
func TestKafkaExampleConfigsStartSluiced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs brokers")
	}
	bin := buildSluiced(t)

	// ZooKeeper mode's server.properties: a single node here. broker.id
	// is honoured (the node's id in Metadata).
	t.Run("server.properties", func(t *testing.T) {
		p := startKafkaExample(t, bin, "sluiced (server.properties)", "server.properties", `msg="broker started"`, 0,
			func([]string) []string {
				return []string{"--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"}
			})
		nativeServes(t, logMatch(t, p, nativeAddrRe))
		kafka := logMatch(t, p, kafkaAddrRe)
		if brokers, _ := kafkaBrokers(t, kafka); !slices.Equal(brokers, []string{"0@" + kafka}) {
			t.Errorf("Kafka Metadata lists %v, want broker.id 0 at %s", brokers, kafka)
		}
		checkIgnoredWarnings(t, p, ignoredZooKeeper)
		p.stop(t)
	})

	// KRaft's combined server.properties: a one-voter quorum of itself.
	// node.id, process.roles and advertised.listeners are honoured: Kafka
	// clients are told broker 1 is at localhost:9092, as the file says.
	t.Run("kraft/server.properties", func(t *testing.T) {
		p := startKafkaExample(t, bin, "sluiced (kraft/server.properties)", "kraft/server.properties", `msg="broker started"`, 1,
			func(a []string) []string {
				return []string{"--listen", "127.0.0.1:0",
					"--override", "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://" + a[0],
					"--override", "controller.quorum.voters=1@" + a[0]}
			})
		nativeServes(t, logMatch(t, p, nativeAddrRe))
		brokers, ctrl := kafkaBrokers(t, logMatch(t, p, kafkaAddrRe))
		if !slices.Equal(brokers, []string{"1@localhost:9092"}) || ctrl != 1 {
			t.Errorf("Kafka Metadata lists %v, controller %d; want 1@localhost:9092 (advertised.listeners), controller 1", brokers, ctrl)
		}
		checkIgnoredWarnings(t, p, ignoredCombined)
		p.stop(t)
	})

	// KRaft's controller.properties and broker.properties together: the
	// controller alone is a quorum of one; the broker joins it. Sluice's
	// broker-only node needs a CONTROLLER listener of its own (the
	// quorum's leader sends it the metadata log there), which Kafka's
	// file does not have: it opens one on a free port of its advertised
	// host, and logs it.
	t.Run("kraft/controller.properties+broker.properties", func(t *testing.T) {
		var voter string
		ctrl := startKafkaExample(t, bin, "sluiced (kraft/controller.properties)", "kraft/controller.properties", `msg="controller started"`, 1,
			func(a []string) []string {
				voter = "1@" + a[0]
				return []string{"--override", "listeners=CONTROLLER://" + a[0], "--override", "controller.quorum.voters=" + voter}
			})
		checkIgnoredWarnings(t, ctrl, ignoredEverywhere)
		b := startKafkaExample(t, bin, "sluiced (kraft/broker.properties)", "kraft/broker.properties", `msg="broker started"`, 1,
			func(a []string) []string {
				return []string{"--listen", "127.0.0.1:0",
					"--override", "listeners=PLAINTEXT://127.0.0.1:0",
					"--override", "controller.quorum.voters=" + voter}
			})
		logMatch(t, b, regexp.MustCompile(`event=controller_listener_picked controller=(127\.0\.0\.1:\d+)`))
		nativeServes(t, logMatch(t, b, nativeAddrRe))
		brokers, id := kafkaBrokers(t, logMatch(t, b, kafkaAddrRe))
		if !slices.Equal(brokers, []string{"2@localhost:9092"}) || id != 1 {
			t.Errorf("Kafka Metadata lists %v, controller %d; want broker 2 at localhost:9092, controller 1", brokers, id)
		}
		checkIgnoredWarnings(t, b, ignoredBroker)
		b.stop(t)
		ctrl.stop(t)
	})
}

// TestMisspeltKafkaKeyStopsSluiced: a typo in an otherwise stock Kafka
// file stops sluiced with a non-zero exit, naming the file, the line and
// the key it probably meant, before it binds anything.
func TestMisspeltKafkaKeyStopsSluiced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSluiced(t)
	stock, err := os.ReadFile(filepath.Join(kafkaConfigDir, "server.properties"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(stock), "log.retention.hours=168", "log.retention.hour=168", 1)
	if text == string(stock) {
		t.Fatal("the example file has no log.retention.hours line to misspell")
	}
	line := strings.Count(text[:strings.Index(text, "log.retention.hour=")], "\n") + 1
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "sluiced (misspelt key)", bin, "--config", path, "--data-dir", t.TempDir(),
		"--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0")
	if code := p.waitExit(t, 30*time.Second); code == 0 || code == -1 {
		t.Fatalf("exit code %d, want a non-zero exit", code)
	}
	out := p.out.String()
	want := fmt.Sprintf(`%s: invalid broker configuration: line %d: unknown property "log.retention.hour"; did you mean log.retention.hours?`, path, line)
	if !strings.Contains(out, want) {
		t.Fatalf("output:\n%s\nwant %q", out, want)
	}
	if strings.Contains(out, "broker started") || strings.Contains(out, "ignoring Kafka property") {
		t.Fatalf("sluiced went on after refusing its configuration:\n%s", out)
	}
}
