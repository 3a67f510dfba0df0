package grouplog_test

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/internal/logtest"
)

// TestOffsetsPartitionEventsLogged: gaining or losing an offsets partition
// that holds groups is one info line (offsets_partition_loaded /
// offsets_partition_unloaded); an empty one, as most of the 50 are, is
// debug.
func TestOffsetsPartitionEventsLogged(t *testing.T) {
	logs := logtest.New()
	h := newLoggedHarness(t, true, logs.Logger("GROUPLOG_TEST_LOG"))
	h.leadAll(0)
	h.waitOwns("g", nil)
	if got := logtest.WaitCount(t, logs, 10*time.Second, h.topics, logtest.Message("offsets partition loaded", "event", "")); len(got) != h.topics {
		t.Fatalf("%d partitions loaded, want %d: %v", len(got), h.topics, got)
	}
	if got := logs.Records(logtest.Event("offsets_partition_loaded")); len(got) != 0 {
		t.Fatalf("empty partitions loaded above debug: %v", got)
	}
	h.commit("g", 10)

	part := grouplog.PartitionFor("g", h.topics)
	ps := strconv.Itoa(int(part))
	others := map[int32]int32{}
	for i := range int32(h.topics) {
		if i != part {
			others[i] = 0
		}
	}
	h.cl.set(h.topics, others)
	h.waitOwns("g", group.ErrNotCoordinator)
	logtest.WaitEvent(t, logs, 10*time.Second, logtest.Event("offsets_partition_unloaded"))
	r := logs.Records(logtest.Event("offsets_partition_unloaded"))
	if len(r) != 1 || r[0].Level != slog.LevelInfo || r[0].Attrs["partition"] != ps || r[0].Attrs["topic"] != grouplog.Topic ||
		r[0].Attrs["leader_epoch"] != "0" || r[0].Attrs["groups"] != "1" {
		t.Errorf("unloaded: %v", r)
	}

	others[part] = 1
	h.cl.set(h.topics, others)
	h.waitOwns("g", nil)
	r = logs.Records(logtest.Event("offsets_partition_loaded"))
	if len(r) != 1 || r[0].Level != slog.LevelInfo || r[0].Attrs["partition"] != ps || r[0].Attrs["leader_epoch"] != "1" ||
		r[0].Attrs["records"] == "0" {
		t.Errorf("loaded: %v", r)
	}
	for _, lr := range logs.Records(logtest.Event("")) {
		if lr.Level >= slog.LevelInfo {
			t.Errorf("a line above debug without an event: %v", lr)
		}
	}
}
