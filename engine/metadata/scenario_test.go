package metadata

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scenario files in testdata/ (rewrite the expected
// output with -rewrite, then read it). After every command the image must
// pass Check.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		h := newHarness()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out := h.run(t, d)
			im := h.s.Image()
			if err := im.Check(); err != nil {
				t.Fatalf("%s: invariant broken after %q: %v\n%s", d.Pos, d.Input, err, im.String())
			}
			return out
		})
	})
}

// epoch is the zero of the "at=" times of liveness commands.
var epoch = time.Unix(1_700_000_000, 0)

type harness struct {
	s       *State
	live    *Liveness
	changes []string
	nextID  byte
}

func newHarness() *harness {
	h := &harness{live: NewLiveness(10 * time.Second)}
	h.s = New(Options{OnChange: func(rec Record, _ []string) {
		h.changes = append(h.changes, fmt.Sprintf("%T", rec))
	}})
	return h
}

func (h *harness) apply(t *testing.T, rec Record) Result {
	t.Helper()
	b, err := Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	return h.s.Apply(b)
}

func formatResult(r Result) string {
	switch {
	case r.Code != CodeNone:
		return fmt.Sprintf("error %s: %s\n", CodeName(r.Code), r.Message)
	case r.FirstProducerID != 0:
		return fmt.Sprintf("ok first-producer-id=%d\n", r.FirstProducerID)
	}
	return "ok\n"
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "init":
		return formatResult(h.apply(t, InitCluster{ClusterID: str(d, "id", "")}))
	case "register":
		id := int32(num(t, d, "id", -1))
		rec := RegisterBroker{ID: id, Incarnation: str(d, "inc", fmt.Sprintf("inc%d", id))}
		if l := str(d, "listeners", ""); l != "" {
			rec.Listeners = kvs(t, l)
		}
		return formatResult(h.apply(t, rec))
	case "fence":
		return formatResult(h.apply(t, FenceBroker{ID: int32(num(t, d, "id", -1)), Incarnation: str(d, "inc", "")}))
	case "unfence":
		return formatResult(h.apply(t, UnfenceBroker{ID: int32(num(t, d, "id", -1))}))
	case "unregister":
		return formatResult(h.apply(t, UnregisterBroker{ID: int32(num(t, d, "id", -1))}))
	case "create-topic":
		rec := CreateTopic{Name: str(d, "name", ""), ID: h.topicID(t, d)}
		if c := str(d, "configs", ""); c != "" {
			rec.Configs = kvs(t, c)
		}
		if d.HasArg("assignment") {
			rec.Assignment = assignment(t, str(d, "assignment", ""))
		} else {
			asg, err := Assign(h.s.LiveBrokerIDs(), num(t, d, "partitions", 1), num(t, d, "rf", 1), num(t, d, "start", 0), 0)
			if err != nil {
				return fmt.Sprintf("assign: %v\n", err)
			}
			rec.Assignment = asg
		}
		return formatResult(h.apply(t, rec))
	case "delete-topic":
		return formatResult(h.apply(t, DeleteTopic{Name: str(d, "name", "")}))
	case "create-partitions":
		rec := CreatePartitions{Topic: str(d, "topic", "")}
		if d.HasArg("assignment") {
			rec.Assignment = assignment(t, str(d, "assignment", ""))
		} else {
			topic, _ := h.s.Topic(rec.Topic)
			rf := 1
			if len(topic.Partitions) > 0 {
				rf = len(topic.Partitions[0].Replicas)
			}
			asg, err := Assign(h.s.LiveBrokerIDs(), num(t, d, "count", 1), rf, num(t, d, "start", 0), len(topic.Partitions))
			if err != nil {
				return fmt.Sprintf("assign: %v\n", err)
			}
			rec.Assignment = asg
		}
		rec.From = int32(num(t, d, "from", 0))
		return formatResult(h.apply(t, rec))
	case "alter-config":
		rec := AlterTopicConfig{Topic: str(d, "topic", "")}
		if s := str(d, "set", ""); s != "" {
			rec.Set = kvs(t, s)
		}
		if r := str(d, "remove", ""); r != "" {
			rec.Remove = strings.Split(r, ",")
		}
		return formatResult(h.apply(t, rec))
	case "partition-change":
		rec := PartitionChange{
			Topic:       str(d, "topic", ""),
			Partition:   int32(num(t, d, "partition", 0)),
			LeaderEpoch: int32(num(t, d, "epoch", 0)),
		}
		if d.HasArg("partition-epoch") {
			pe := int32(num(t, d, "partition-epoch", 0))
			rec.PartitionEpoch = &pe
		}
		if d.HasArg("leader") {
			l := int32(num(t, d, "leader", 0))
			rec.Leader = &l
		}
		if d.HasArg("isr") {
			rec.ISR = ids(t, str(d, "isr", ""))
		}
		return formatResult(h.apply(t, rec))
	case "alloc-pids":
		return formatResult(h.apply(t, AllocateProducerIDs{BrokerID: int32(num(t, d, "broker", -1)), Count: int32(num(t, d, "count", 0))}))
	case "apply-hex":
		b, err := hex.DecodeString(strings.TrimSpace(d.Input))
		if err != nil {
			t.Fatal(err)
		}
		return formatResult(h.s.Apply(b))
	case "changes":
		out := strings.Join(h.changes, "\n") + "\n"
		h.changes = nil
		return out
	case "dump":
		return h.s.Dump()
	case "live-brokers":
		return fmt.Sprintln(h.s.LiveBrokerIDs())
	case "snapshot-restore":
		snap, err := h.s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		restored := New(Options{})
		if err := restored.Restore(snap); err != nil {
			t.Fatal(err)
		}
		before, after := h.s.Dump(), restored.Dump()
		if before != after {
			t.Fatalf("restored state differs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// Carry on with the restored state, so that later commands prove
		// it behaves like the original.
		h.s, h.changes = restored, nil
		return fmt.Sprintf("restored %d brokers, %d topics at applied index %d\n", len(restored.Brokers()), len(restored.Topics()), restored.AppliedIndex())
	case "assign":
		asg, err := Assign(ids(t, str(d, "brokers", "")), num(t, d, "partitions", 1), num(t, d, "rf", 1), num(t, d, "start", 0), num(t, d, "start-partition", 0))
		if err != nil {
			return fmt.Sprintf("error: %v\n", err)
		}
		var sb strings.Builder
		for p, r := range asg {
			fmt.Fprintf(&sb, "%d: %s\n", p, formatIDs(r))
		}
		return sb.String()
	case "heartbeat":
		id := int32(num(t, d, "id", -1))
		h.live.Heartbeat(id, str(d, "inc", fmt.Sprintf("inc%d", id)), at(t, d))
		return "ok\n"
	case "expired":
		return fmt.Sprintln(h.live.Expired(at(t, d)))
	case "live":
		inc, ok := h.live.Live(int32(num(t, d, "id", -1)), at(t, d))
		if !ok {
			return "not live\n"
		}
		return fmt.Sprintf("live incarnation=%q\n", inc)
	case "forget":
		h.live.Forget(int32(num(t, d, "id", -1)))
		return "ok\n"
	case "reset":
		h.live.Reset(ids(t, str(d, "ids", "")), at(t, d))
		return "ok\n"
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return ""
}

func (h *harness) topicID(t *testing.T, d *datadriven.TestData) [16]byte {
	var id [16]byte
	if d.HasArg("id") {
		id[15] = byte(num(t, d, "id", 0))
		return id
	}
	h.nextID++
	id[15] = h.nextID
	return id
}

func str(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func num(t *testing.T, d *datadriven.TestData, key string, def int) int {
	s := str(d, key, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, s, err)
	}
	return n
}

func at(t *testing.T, d *datadriven.TestData) time.Time {
	dur, err := time.ParseDuration(str(d, "at", "0s"))
	if err != nil {
		t.Fatalf("%s: at: %v", d.Pos, err)
	}
	return epoch.Add(dur)
}

func ids(t *testing.T, s string) []int32 {
	if s == "" {
		return []int32{}
	}
	var out []int32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("broker id %q: %v", f, err)
		}
		out = append(out, int32(n))
	}
	return out
}

// assignment parses "1,2/2,3/3,1": replica lists separated by slashes; an
// empty list is written "-".
func assignment(t *testing.T, s string) [][]int32 {
	if s == "" {
		return nil
	}
	var out [][]int32
	for _, part := range strings.Split(s, "/") {
		if part == "-" {
			out = append(out, []int32{})
			continue
		}
		out = append(out, ids(t, part))
	}
	return out
}

func kvs(t *testing.T, s string) map[string]string {
	out := make(map[string]string)
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("%q is not key=value", kv)
		}
		out[k] = v
	}
	return out
}
