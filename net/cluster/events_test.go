package cluster

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/internal/logtest"
	"github.com/sluicelog/sluice/net/request"
)

// logWait is how long a test waits for a log line.
const logWait = 20 * time.Second

// TestBrokerEventsLogged: the active controller logs each broker's
// registration, fencing (a session that lapsed, a controlled shutdown)
// and unfencing, each broker its own registration and controlled shutdown.
func TestBrokerEventsLogged(t *testing.T) {
	logs := logtest.New()
	tc := newLoggedCluster(t, 3, logs)
	ctx := context.Background()
	for _, nd := range tc.nodes {
		id := strconv.Itoa(int(nd.id))
		r := logtest.WaitEvent(t, logs, logWait, logtest.Event("broker_registered", "node", id))
		if r.Level != slog.LevelInfo || r.Attrs["listeners"] == "" {
			t.Errorf("broker_registered: %v", r)
		}
		if got := logs.Records(logtest.Event("registered", "node", id, "at", id)); len(got) != 1 || got[0].Attrs["cluster_id"] == "" {
			t.Errorf("node %s's own registration lines: %v", id, got)
		}
	}
	var ctrl *testNode
	var others []*testNode
	for _, nd := range tc.nodes {
		if nd.m.Node().IsLeader() && ctrl == nil {
			ctrl = nd
		} else {
			others = append(others, nd)
		}
	}
	if ctrl == nil {
		t.Fatal("no active controller")
	}
	v, d := others[0], others[1]
	vid, did := strconv.Itoa(int(v.id)), strconv.Itoa(int(d.id))

	// A live broker whose session the controller let lapse (a pause) is
	// unfenced by its next heartbeat.
	if _, err := ctrl.m.propose(ctx, metadata.FenceBroker{ID: v.id}); err != nil {
		t.Fatal(err)
	}
	logtest.WaitEvent(t, logs, logWait, logtest.Event("broker_unfenced", "node", vid))

	// A broker that dies is fenced when its session lapses.
	d.m.SkipControlledShutdown()
	tc.stop(d)
	r := logtest.WaitEvent(t, logs, logWait, logtest.Event("broker_fenced", "node", did, "reason", "session_timeout"))
	if r.Level != slog.LevelWarn || r.Attrs["session_timeout"] == "" {
		t.Errorf("a lapsed session's fencing: %v", r)
	}

	// A broker that leads a partition moves it away before it stops.
	if _, err := ctrl.m.CreateTopic(ctx, request.NewTopic{Name: "t", Assignment: [][]int32{{v.id, ctrl.id}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the partition led by the victim with its ISR whole", func() bool {
		p, ok := v.m.State().Partition("t", 0)
		return ok && len(p.ISR) == 2 && p.Leader == v.id
	})
	tc.stop(v)
	r = logtest.WaitEvent(t, logs, logWait, logtest.Event("broker_fenced", "node", vid, "reason", "controlled_shutdown"))
	if r.Level != slog.LevelInfo {
		t.Errorf("controlled shutdown's fencing above info: %v", r)
	}
	if r := logtest.WaitEvent(t, logs, logWait, logtest.Event("controlled_shutdown", "node", vid, "at", vid)); r.Level != slog.LevelInfo || r.Attrs["took"] == "" {
		t.Errorf("controlled_shutdown: %v", r)
	}
}

// TestHeartbeatOutageLoggedOnce: a broker whose heartbeats cannot reach a
// controller warns once, after half a session, however many fail, and
// says once when they get through again.
func TestHeartbeatOutageLoggedOnce(t *testing.T) {
	logs := logtest.New()
	tc := newLoggedCluster(t, 3, logs)
	survivor := tc.nodes[0]
	sid := strconv.Itoa(int(survivor.id))
	for _, nd := range tc.nodes[1:] {
		nd.m.SkipControlledShutdown()
		tc.stop(nd)
	}
	w := logtest.WaitEvent(t, logs, logWait, logtest.Event("heartbeat_failing", "node", sid))
	if w.Level != slog.LevelWarn {
		t.Errorf("heartbeat_failing: %v", w)
	}
	// Several more intervals of failures: still one warning.
	logtest.WaitCount(t, logs, logWait, 5, logtest.Message("heartbeat failed", "event", "", "at", sid))
	if got := logs.Records(logtest.Event("heartbeat_failing", "node", sid)); len(got) != 1 {
		t.Fatalf("%d heartbeat_failing lines: %v", len(got), got)
	}
	for _, nd := range tc.nodes[1:] {
		if err := tc.start(nd, nil); err != nil {
			t.Fatal(err)
		}
	}
	if r := logtest.WaitEvent(t, logs, logWait, logtest.Event("heartbeat_recovered", "node", sid)); r.Level != slog.LevelInfo || r.Attrs["failures"] == "" {
		t.Errorf("heartbeat_recovered: %v", r)
	}
}
