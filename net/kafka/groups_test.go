package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/kafka"
)

// fakeGroups answers Heartbeat only, to show the hook: what it lists is
// advertised and routed to it, and FindCoordinator comes with it.
type fakeGroups struct{ calls chan kmsg.Request }

func (f *fakeGroups) Versions() []kmsg.ApiVersionsResponseApiKey {
	return []kmsg.ApiVersionsResponseApiKey{{ApiKey: 12, MinVersion: 0, MaxVersion: 4}}
}

func (f *fakeGroups) Handle(_ context.Context, _ kafka.Client, req kmsg.Request) (kmsg.Response, error) {
	f.calls <- req
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = 27 // REBALANCE_IN_PROGRESS, to tell it from a default
	return resp, nil
}

func TestGroupsHook(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	g := &fakeGroups{calls: make(chan kmsg.Request, 1)}
	s := kafka.New(eng, kafka.Config{Addr: "127.0.0.1:0", NodeID: 7, Groups: g})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(c)
	})
	c := dialRaw(t, s.Addr().String())

	av := c.call(kmsg.NewPtrApiVersionsRequest(), -1).(*kmsg.ApiVersionsResponse)
	found := map[int16]bool{}
	for _, k := range av.ApiKeys {
		found[k.ApiKey] = true
	}
	if !found[10] || !found[12] || found[11] {
		t.Fatalf("advertised %v", av.ApiKeys)
	}

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorKeys = 4, []string{"g1", "g2"}
	fresp := c.call(fc, -1).(*kmsg.FindCoordinatorResponse)
	if len(fresp.Coordinators) != 2 || fresp.Coordinators[1].NodeID != 7 || fresp.Coordinators[1].Port <= 0 {
		t.Fatalf("FindCoordinator: %+v", fresp)
	}
	fc.Version, fc.CoordinatorKey, fc.CoordinatorType = 2, "tx", 1
	if fresp := c.call(fc, -1).(*kmsg.FindCoordinatorResponse); fresp.ErrorCode == 0 {
		t.Fatalf("transaction coordinator: %+v", fresp)
	}

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group = 4, "g1"
	if resp := c.call(hb, -1).(*kmsg.HeartbeatResponse); resp.ErrorCode != 27 {
		t.Fatalf("heartbeat: %+v", resp)
	}
	if got := <-g.calls; got.(*kmsg.HeartbeatRequest).Group != "g1" {
		t.Fatalf("handler got %+v", got)
	}
}
