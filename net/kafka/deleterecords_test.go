package kafka_test

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDeleteRecords: kadm's DeleteRecords moves the log start, per
// partition, with Kafka's codes for the partitions it cannot.
func TestDeleteRecords(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "dr", 2, map[string]*string{"segment.bytes": kmsg.StringPtr("300")})
	cl := newClient(t, addr, kgo.DefaultProduceTopic("dr"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := 0; i < 30; i++ {
		for p := int32(0); p < 2; p++ {
			if err := cl.ProduceSync(ctx(t), &kgo.Record{Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := ctx(t)
	var os kadm.Offsets
	os.AddOffset("dr", 0, 12, -1)
	os.AddOffset("dr", 1, 31, -1) // past the high watermark 30
	resp, err := adm.DeleteRecords(c, os)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := resp.Lookup("dr", 0); !ok || r.Err != nil || r.LowWatermark != 12 {
		t.Fatalf("dr-0: %+v", r)
	}
	if r, _ := resp.Lookup("dr", 1); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("dr-1 past the high watermark: %+v", r)
	}
	// A topic that only compacts refuses, as Kafka does.
	createTopic(t, adm, "keys", 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")})
	if err := cl.ProduceSync(ctx(t), &kgo.Record{Topic: "keys", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var ko kadm.Offsets
	ko.AddOffset("keys", 0, 1, -1)
	kresp, err := adm.DeleteRecords(c, ko)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := kresp.Lookup("keys", 0); !errors.Is(r.Err, kerr.PolicyViolation) {
		t.Fatalf("delete records of a compact-only topic: %+v, want POLICY_VIOLATION", r)
	}
	// kadm refuses an unknown topic itself (no metadata): ask directly.
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "missing"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 1
	dt.Partitions = append(dt.Partitions, dp)
	dr.Topics = append(dr.Topics, dt)
	brokers := cl.DiscoveredBrokers()
	if len(brokers) != 1 {
		t.Fatalf("%d brokers discovered, want 1", len(brokers))
	}
	kr, err := brokers[0].Request(c, dr)
	if err != nil {
		t.Fatal(err)
	}
	dresp := kr.(*kmsg.DeleteRecordsResponse)
	if p := dresp.Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code || p.LowWatermark != -1 {
		t.Fatalf("unknown topic: %+v", p)
	}

	start, err := adm.ListStartOffsets(c, "dr")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := start.Lookup("dr", 0); o.Offset != 12 {
		t.Fatalf("earliest of dr-0 after deleting below 12: %+v", o)
	}
	if o, _ := start.Lookup("dr", 1); o.Offset != 0 {
		t.Fatalf("earliest of dr-1 after a refused delete: %+v", o)
	}

	// A fetch below the new start is out of range.
	fr := kmsg.NewPtrFetchRequest()
	fr.ReplicaID, fr.MaxBytes = -1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "dr"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 0, 5, 1<<20, -1
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	raw, err := fr.RequestWith(c, cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := raw.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 12 {
		t.Fatalf("fetch at 5 below the log start 12: code %d, log start %d", p.ErrorCode, p.LogStartOffset)
	}

	// -1 deletes up to the high watermark.
	var all kadm.Offsets
	all.AddOffset("dr", 1, -1, -1)
	resp, err = adm.DeleteRecords(c, all)
	if r, _ := resp.Lookup("dr", 1); err != nil || r.Err != nil || r.LowWatermark != 30 {
		t.Fatalf("delete dr-1 to the high watermark: %v %+v", err, r)
	}
}
