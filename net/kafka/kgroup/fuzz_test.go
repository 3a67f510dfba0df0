package kgroup_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/kafka/kgroup"
)

// FuzzGroupRequest decodes arbitrary bytes as a group API request (key,
// version, then the body) and has the handler answer it over a real
// coordinator and engine: no input may panic, and every answer must be of
// the request's version and encode.
func FuzzGroupRequest(f *testing.F) {
	e, err := engine.Open(f.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	if err := e.CreateTopic("orders", 2, nil); err != nil {
		f.Fatal(err)
	}
	c := group.New(group.Config{Store: e, InitialRebalanceDelay: -1, MinSessionTimeout: time.Millisecond})
	h := kgroup.New(c, e)

	seed := func(r kmsg.Request) {
		for _, v := range []int16{0, r.MaxVersion()} {
			r.SetVersion(v)
			b := binary.BigEndian.AppendUint16(nil, uint16(r.Key()))
			b = binary.BigEndian.AppendUint16(b, uint16(v))
			f.Add(r.AppendTo(b))
		}
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.ProtocolType = "g", 10, "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0}}}
	seed(join)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "g", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Offset: 3}}}}
	seed(commit)
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "g"
	seed(fetch)
	for _, r := range []kmsg.Request{kmsg.NewPtrSyncGroupRequest(), kmsg.NewPtrHeartbeatRequest(), kmsg.NewPtrLeaveGroupRequest(),
		kmsg.NewPtrDescribeGroupsRequest(), kmsg.NewPtrListGroupsRequest(), kmsg.NewPtrDeleteGroupsRequest(), kmsg.NewPtrOffsetDeleteRequest()} {
		seed(r)
	}

	supported := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, v := range h.Versions() {
		supported[v.ApiKey] = v
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 {
			return
		}
		key, version := int16(binary.BigEndian.Uint16(b)), int16(binary.BigEndian.Uint16(b[2:]))
		v, ok := supported[key]
		if !ok || version < v.MinVersion || version > v.MaxVersion {
			return // the listener answers these itself
		}
		req := kmsg.RequestForKey(key)
		req.SetVersion(version)
		if req.ReadFrom(b[4:]) != nil {
			return // the listener closes the connection
		}
		// Joins and syncs wait for a rebalance: a short context ends them.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		resp, err := h.Handle(ctx, kafka.Client{ID: "fuzz"}, req)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		if resp.GetVersion() != version {
			t.Fatalf("%T v%d answered at v%d", req, version, resp.GetVersion())
		}
		resp.AppendTo(nil)
	})
}
