package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"

	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

func records(t *testing.T, codec batch.Codec, prefix string, n int) []byte {
	t.Helper()
	b := batch.NewBuilder(codec)
	for i := 0; i < n; i++ {
		b.Append(time.Now().UnixMilli(), []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("%s-%d", prefix, i)), nil)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(out)
}

// values decodes every record value in a run of batches.
func values(t *testing.T, recs []byte) []string {
	t.Helper()
	var out []string
	for rest := recs; len(rest) > 0; {
		first, tail, err := batch.Split(rest)
		if err != nil {
			t.Fatal(err)
		}
		rest = tail
		_, rs, err := batch.Decode(first)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, string(r.Value))
		}
	}
	return out
}

func createTopic(t *testing.T, c *rawClient, name string, partitions int32, configs ...string) {
	t.Helper()
	req := &protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestTopic{{Name: name, NumPartitions: partitions, ReplicationFactor: -1}}}
	for i := 0; i+1 < len(configs); i += 2 {
		v := configs[i+1]
		req.Topics[0].Configs = append(req.Topics[0].Configs, protocol.CreateTopicsRequestConfig{Name: configs[i], Value: &v})
	}
	var resp protocol.CreateTopicsResponse
	c.call(req, &resp)
	if resp.Topics[0].ErrorCode != protocol.NoError {
		t.Fatalf("create %s: %v %v", name, resp.Topics[0].ErrorCode, deref(resp.Topics[0].ErrorMessage))
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func produce(t *testing.T, c *rawClient, acks int16, topic string, partition int32, recs []byte) protocol.ProduceResponsePartition {
	t.Helper()
	req := &protocol.ProduceRequest{Acks: acks, TimeoutMs: 5000, Topics: []protocol.ProduceRequestTopic{{
		Name: topic, Partitions: []protocol.ProduceRequestPartition{{Partition: partition, Records: recs}}}}}
	var resp protocol.ProduceResponse
	c.call(req, &resp)
	return resp.Topics[0].Partitions[0]
}

func fetch(t *testing.T, c *rawClient, topic string, partition int32, offset int64) protocol.FetchResponsePartition {
	t.Helper()
	req := &protocol.FetchRequest{MaxWaitMs: 0, MaxBytes: 1 << 20, Topics: []protocol.FetchRequestTopic{{
		Name: topic, Partitions: []protocol.FetchRequestPartition{{Partition: partition, FetchOffset: offset, PartitionMaxBytes: 1 << 20}}}}}
	var resp protocol.FetchResponse
	c.call(req, &resp)
	return resp.Topics[0].Partitions[0]
}

func TestAdminAPIs(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())

	var av protocol.APIVersionsResponse
	c.call(&protocol.APIVersionsRequest{}, &av)
	if len(av.APIKeys) < 10 {
		t.Fatalf("ApiVersions lists %d apis", len(av.APIKeys))
	}
	createTopic(t, c, "orders", 3, "retention.ms", "3600000")

	var ct protocol.CreateTopicsResponse
	c.call(&protocol.CreateTopicsRequest{Topics: []protocol.CreateTopicsRequestTopic{
		{Name: "orders", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "bad/name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "rf3", NumPartitions: 1, ReplicationFactor: 3},
		{Name: "zero", NumPartitions: 0, ReplicationFactor: 1},
		{Name: "badcfg", NumPartitions: 1, ReplicationFactor: 1, Configs: []protocol.CreateTopicsRequestConfig{{Name: "retention.ms", Value: ptr("soon")}}},
	}}, &ct)
	want := []protocol.ErrorCode{protocol.ErrTopicAlreadyExists, protocol.ErrInvalidTopic, protocol.ErrInvalidReplicationFactor,
		protocol.ErrInvalidPartitions, protocol.ErrInvalidConfig}
	for i, w := range want {
		if ct.Topics[i].ErrorCode != w {
			t.Errorf("create %s: %v, want %v", ct.Topics[i].Name, ct.Topics[i].ErrorCode, w)
		}
	}

	var md protocol.MetadataResponse
	c.call(&protocol.MetadataRequest{}, &md)
	if len(md.Brokers) != 1 || md.Brokers[0].Port == 0 || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 3 {
		t.Fatalf("metadata: %+v", md)
	}
	c.call(&protocol.MetadataRequest{Topics: []string{"nope"}}, &md)
	if md.Topics[0].ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown topic without auto-create: %v", md.Topics[0].ErrorCode)
	}
	c.call(&protocol.MetadataRequest{Topics: []string{"auto"}, AllowAutoTopicCreation: true}, &md)
	if md.Topics[0].ErrorCode != protocol.NoError || len(md.Topics[0].Partitions) != 1 {
		t.Fatalf("auto-create via metadata: %+v", md.Topics[0])
	}

	var ac protocol.AlterConfigsResponse
	c.call(&protocol.AlterConfigsRequest{Resources: []protocol.AlterConfigsRequestResource{{
		ResourceType: protocol.ResourceTopic, ResourceName: "orders",
		Configs: []protocol.AlterConfigsRequestConfig{{Name: "retention.bytes", Op: protocol.AlterConfigSet, Value: ptr("1000000")},
			{Name: "retention.ms", Op: protocol.AlterConfigDelete}},
	}}}, &ac)
	if ac.Results[0].ErrorCode != protocol.NoError {
		t.Fatalf("alter: %v %s", ac.Results[0].ErrorCode, deref(ac.Results[0].ErrorMessage))
	}
	var dc protocol.DescribeConfigsResponse
	c.call(&protocol.DescribeConfigsRequest{Resources: []protocol.DescribeConfigsRequestResource{
		{ResourceType: protocol.ResourceTopic, ResourceName: "orders", ConfigNames: []string{"retention.bytes", "retention.ms"}},
		{ResourceType: protocol.ResourceTopic, ResourceName: "missing"},
		{ResourceType: protocol.ResourceBroker, ResourceName: "0", ConfigNames: []string{"num.partitions"}},
	}}, &dc)
	got := map[string]protocol.DescribeConfigsResponseConfig{}
	for _, cfg := range dc.Results[0].Configs {
		got[cfg.Name] = cfg
	}
	if v := got["retention.bytes"]; deref(v.Value) != "1000000" || v.Source != protocol.ConfigSourceDynamicTopic {
		t.Fatalf("retention.bytes %+v", v)
	}
	if v := got["retention.ms"]; deref(v.Value) != "604800000" || !v.IsDefault {
		t.Fatalf("retention.ms %+v", v)
	}
	if dc.Results[1].ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("missing topic: %v", dc.Results[1].ErrorCode)
	}
	if len(dc.Results[2].Configs) != 1 || deref(dc.Results[2].Configs[0].Value) != "1" {
		t.Fatalf("broker configs: %+v", dc.Results[2])
	}

	// Partitions: validate-only changes nothing; a count not above the
	// current one and an unknown topic are refused; growing works.
	var cp protocol.CreatePartitionsResponse
	c.call(&protocol.CreatePartitionsRequest{Topics: []protocol.CreatePartitionsRequestTopic{{Name: "orders", Count: 4}}, ValidateOnly: true}, &cp)
	if cp.Topics[0].ErrorCode != protocol.NoError {
		t.Fatalf("validate-only create partitions: %+v", cp.Topics)
	}
	c.call(&protocol.MetadataRequest{Topics: []string{"orders"}}, &md)
	if n := len(md.Topics[0].Partitions); n != 3 {
		t.Fatalf("validate-only changed the topic to %d partitions", n)
	}
	c.call(&protocol.CreatePartitionsRequest{Topics: []protocol.CreatePartitionsRequestTopic{
		{Name: "orders", Count: 4}, {Name: "orders", Count: 4}, {Name: "orders", Count: 2}, {Name: "missing", Count: 2}, {Name: "orders", Count: -7},
	}}, &cp)
	for i, w := range []protocol.ErrorCode{protocol.NoError, protocol.ErrInvalidPartitions, protocol.ErrInvalidPartitions,
		protocol.ErrUnknownTopicOrPartition, protocol.ErrInvalidPartitions} {
		if cp.Topics[i].ErrorCode != w {
			t.Errorf("create partitions #%d (%s): %v, want %v", i, cp.Topics[i].Name, cp.Topics[i].ErrorCode, w)
		}
	}
	c.call(&protocol.MetadataRequest{Topics: []string{"orders"}}, &md)
	if n := len(md.Topics[0].Partitions); n != 4 {
		t.Fatalf("orders has %d partitions after growing to 4", n)
	}

	var dt protocol.DeleteTopicsResponse
	c.call(&protocol.DeleteTopicsRequest{Names: []string{"orders", "orders"}}, &dt)
	if dt.Topics[0].ErrorCode != protocol.NoError || dt.Topics[1].ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("delete: %+v", dt.Topics)
	}
}

func TestDeleteTopicDisabled(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.DeleteTopicEnable = false })
	c := dial(t, b.Addr().String())
	createTopic(t, c, "keep", 1)
	var dt protocol.DeleteTopicsResponse
	c.call(&protocol.DeleteTopicsRequest{Names: []string{"keep"}}, &dt)
	if dt.Topics[0].ErrorCode != protocol.ErrTopicDeletionDisabled {
		t.Fatalf("delete with delete.topic.enable=false: %v", dt.Topics[0].ErrorCode)
	}
}

func TestProduceAndFetchEveryCodec(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "t", 2)
	var want []string
	for i, codec := range []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd} {
		for _, acks := range []int16{protocol.AcksLeader, protocol.AcksAll} {
			prefix := fmt.Sprintf("%s/%d", codec, acks)
			res := produce(t, c, acks, "t", 1, records(t, codec, prefix, 5))
			if res.ErrorCode != protocol.NoError || res.BaseOffset != int64(len(want)) {
				t.Fatalf("produce %d: %+v", i, res)
			}
			for j := 0; j < 5; j++ {
				want = append(want, fmt.Sprintf("%s-%d", prefix, j))
			}
		}
	}
	// acks=0: no response; the next request's answer proves it landed.
	req := &protocol.ProduceRequest{Acks: protocol.AcksNone, Topics: []protocol.ProduceRequestTopic{{
		Name: "t", Partitions: []protocol.ProduceRequestPartition{{Partition: 1, Records: records(t, batch.LZ4, "fire", 2)}}}}}
	c.send(req)
	want = append(want, "fire-0", "fire-1")

	got := fetch(t, c, "t", 1, 0)
	if got.ErrorCode != protocol.NoError || got.HighWatermark != int64(len(want)) {
		t.Fatalf("fetch: %v hw %d", got.ErrorCode, got.HighWatermark)
	}
	if v := values(t, got.Records); fmt.Sprint(v) != fmt.Sprint(want) {
		t.Fatalf("fetched\n%v\nwant\n%v", v, want)
	}
	if p0 := fetch(t, c, "t", 0, 0); p0.ErrorCode != protocol.NoError || len(p0.Records) != 0 || p0.HighWatermark != 0 {
		t.Fatalf("empty partition: %+v", p0)
	}
	if p := fetch(t, c, "t", 1, 1000); p.ErrorCode != protocol.ErrOffsetOutOfRange {
		t.Fatalf("offset past the end: %v", p.ErrorCode)
	}
	if p := fetch(t, c, "t", 7, 0); p.ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("unknown partition: %v", p.ErrorCode)
	}
	if res := produce(t, c, 5, "t", 0, records(t, batch.None, "x", 1)); res.ErrorCode != protocol.ErrInvalidRequiredAcks {
		t.Fatalf("acks=5: %v", res.ErrorCode)
	}

	var lo protocol.ListOffsetsResponse
	c.call(&protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestTopic{{Name: "t", Partitions: []protocol.ListOffsetsRequestPartition{
		{Partition: 1, Timestamp: -2}, {Partition: 1, Timestamp: -1}, {Partition: 9, Timestamp: -1}}}}}, &lo)
	ps := lo.Topics[0].Partitions
	if ps[0].Offset != 0 || ps[1].Offset != int64(len(want)) || ps[2].ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("list offsets: %+v", ps)
	}
}

func TestAutoCreateOnProduce(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.NumPartitions = 4 })
	c := dial(t, b.Addr().String())
	if res := produce(t, c, 1, "fresh", 3, records(t, batch.None, "x", 1)); res.ErrorCode != protocol.NoError {
		t.Fatalf("produce to a new topic: %v", res.ErrorCode)
	}
	off := broker.StartTest(t, func(c *broker.Config) { c.AutoCreateTopics = false })
	c2 := dial(t, off.Addr().String())
	if res := produce(t, c2, 1, "fresh", 0, records(t, batch.None, "x", 1)); res.ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("produce without auto-create: %v", res.ErrorCode)
	}
}

func TestFetchLongPollWakesOnProduce(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "lp", 1)
	consumer := dial(t, b.Addr().String())
	corr := consumer.send(&protocol.FetchRequest{MaxWaitMs: 30000, MinBytes: 1, MaxBytes: 1 << 20, Topics: []protocol.FetchRequestTopic{{
		Name: "lp", Partitions: []protocol.FetchRequestPartition{{Partition: 0, FetchOffset: 0, PartitionMaxBytes: 1 << 20}}}}})
	if res := produce(t, c, 1, "lp", 0, records(t, batch.Zstd, "wake", 3)); res.ErrorCode != protocol.NoError {
		t.Fatal(res.ErrorCode)
	}
	var resp protocol.FetchResponse
	consumer.recv(corr, &resp)
	if v := values(t, resp.Topics[0].Partitions[0].Records); len(v) != 3 || v[0] != "wake-0" {
		t.Fatalf("long poll got %v", v)
	}
}

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "p", 1)
	const n = 100
	var corrs []int32
	for i := 0; i < n; i++ {
		corrs = append(corrs, c.send(&protocol.ProduceRequest{Acks: 1, Topics: []protocol.ProduceRequestTopic{{
			Name: "p", Partitions: []protocol.ProduceRequestPartition{{Partition: 0, Records: records(t, batch.None, fmt.Sprint(i), 2)}}}}}))
	}
	for i, corr := range corrs {
		var resp protocol.ProduceResponse
		c.recv(corr, &resp)
		if got := resp.Topics[0].Partitions[0].BaseOffset; got != int64(2*i) {
			t.Fatalf("request %d landed at offset %d", i, got)
		}
	}
}

func TestBadInputKeepsBrokerAndDataSafe(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.SocketRequestMaxBytes = 64 * 1024 })
	addr := b.Addr().String()
	good := dial(t, addr)
	createTopic(t, good, "safe", 1)
	if res := produce(t, good, 1, "safe", 0, records(t, batch.None, "kept", 3)); res.ErrorCode != protocol.NoError {
		t.Fatal(res.ErrorCode)
	}

	// Random bytes: the length prefix is garbage, the connection is closed.
	junk := dial(t, addr)
	noise := make([]byte, 4096)
	rand.Read(noise)
	noise[0] = 0x7f // a length far over the limit
	junk.nc.Write(noise)
	if !junk.closedByServer(10 * time.Second) {
		t.Fatal("random bytes: connection left open")
	}

	// A frame over socket.request.max.bytes.
	big := dial(t, addr)
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<20)
	big.nc.Write(hdr[:])
	if !big.closedByServer(10 * time.Second) {
		t.Fatal("oversized frame: connection left open")
	}

	// A truncated frame followed by the client hanging up.
	trunc := dial(t, addr)
	frame := protocol.AppendRequestFrame(nil, 1, &protocol.MetadataRequest{Topics: []string{"safe"}})
	trunc.nc.Write(frame[:len(frame)-2])
	trunc.nc.Close()

	// Unknown api key, unknown version, malformed body: error responses,
	// and the connection keeps working.
	odd := dial(t, addr)
	for _, tc := range []struct {
		key     uint16
		version uint16
		body    []byte
		want    protocol.ErrorCode
	}{
		{999, 0, nil, protocol.ErrUnsupportedVersion},
		{uint16(protocol.Metadata), 42, nil, protocol.ErrUnsupportedVersion},
		{uint16(protocol.Produce), 0, []byte{0, 1, 0}, protocol.ErrInvalidRequest},
	} {
		odd.corr++
		f := binary.BigEndian.AppendUint32(nil, uint32(8+len(tc.body)))
		f = binary.BigEndian.AppendUint16(f, tc.key)
		f = binary.BigEndian.AppendUint16(f, tc.version)
		f = binary.BigEndian.AppendUint32(f, uint32(odd.corr))
		f = append(f, tc.body...)
		odd.nc.Write(f)
		var resp protocol.MetadataResponse // any response decodes an error-only body
		odd.recv(odd.corr, &resp)
		if resp.ErrorCode != tc.want {
			t.Errorf("key %d version %d: %v, want %v", tc.key, tc.version, resp.ErrorCode, tc.want)
		}
	}
	// ApiVersions at a version from the future still lists what we speak.
	odd.corr++
	f := binary.BigEndian.AppendUint32(nil, 8+3)
	f = binary.BigEndian.AppendUint16(f, uint16(protocol.APIVersions))
	f = binary.BigEndian.AppendUint16(f, 9)
	f = binary.BigEndian.AppendUint32(f, uint32(odd.corr))
	odd.nc.Write(append(f, 1, 2, 3))
	var av protocol.APIVersionsResponse
	odd.recv(odd.corr, &av)
	if av.ErrorCode != protocol.ErrUnsupportedVersion || len(av.APIKeys) < 10 {
		t.Fatalf("ApiVersions v9: %v, %d apis", av.ErrorCode, len(av.APIKeys))
	}
	var md protocol.MetadataResponse
	odd.call(&protocol.MetadataRequest{Topics: []string{"safe"}}, &md)
	if md.Topics[0].ErrorCode != protocol.NoError {
		t.Fatalf("connection unusable after bad requests: %v", md.Topics[0].ErrorCode)
	}

	// Invalid batches and names are refused per partition.
	corrupt := records(t, batch.None, "bad", 2)
	corrupt[len(corrupt)-1] ^= 0xff
	if res := produce(t, good, 1, "safe", 0, corrupt); res.ErrorCode != protocol.ErrCorruptMessage {
		t.Fatalf("corrupt batch: %v", res.ErrorCode)
	}
	if res := produce(t, good, 1, "safe", 0, []byte("not a batch")); res.ErrorCode != protocol.ErrCorruptMessage {
		t.Fatalf("garbage records: %v", res.ErrorCode)
	}
	if res := produce(t, good, 1, "bad name!", 0, records(t, batch.None, "x", 1)); res.ErrorCode != protocol.ErrInvalidTopic {
		t.Fatalf("invalid topic name: %v", res.ErrorCode)
	}
	huge := batch.NewBuilder(batch.None)
	huge.Append(1, nil, make([]byte, 2<<20), nil)
	hb, _ := huge.Build()
	if res := produceLarge(t, hb); res != protocol.ErrMessageTooLarge {
		t.Fatalf("record over message.max.bytes: %v", res)
	}

	// Stored data is untouched and the first client still works.
	got := fetch(t, good, "safe", 0, 0)
	if v := values(t, got.Records); fmt.Sprint(v) != "[kept-0 kept-1 kept-2]" || got.HighWatermark != 3 {
		t.Fatalf("stored data changed: %v hw %d", v, got.HighWatermark)
	}
}

// produceLarge sends a batch larger than message.max.bytes (1 MiB by
// default) through a broker whose socket.request.max.bytes would refuse
// it, so it uses a broker of its own with a larger frame limit.
func produceLarge(t *testing.T, recs []byte) protocol.ErrorCode {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "big", 1)
	return produce(t, c, 1, "big", 0, recs).ErrorCode
}

func TestIdleAndExcessConnectionsAreClosed(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) {
		c.ConnectionsMaxIdle = 300 * time.Millisecond
		c.MaxConnections = 2
	})
	addr := b.Addr().String()
	idle := dial(t, addr)
	if !idle.closedByServer(20 * time.Second) {
		t.Fatal("idle connection not closed")
	}
	// Two live connections, kept busy; a third is refused.
	c1, c2 := dial(t, addr), dial(t, addr)
	var av protocol.APIVersionsResponse
	c1.call(&protocol.APIVersionsRequest{}, &av)
	c2.call(&protocol.APIVersionsRequest{}, &av)
	c3 := dial(t, addr)
	if !c3.closedByServer(10 * time.Second) {
		t.Fatal("connection over max.connections not closed")
	}
}

func TestRestartKeepsAcknowledgedData(t *testing.T) {
	dir := t.TempDir()
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", dir
	b, err := broker.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, b.Addr().String())
	createTopic(t, c, "durable", 1)
	for i := 0; i < 10; i++ {
		if res := produce(t, c, -1, "durable", 0, records(t, batch.LZ4, fmt.Sprint(i), 10)); res.ErrorCode != protocol.NoError {
			t.Fatal(res.ErrorCode)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b2, err := broker.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close(context.Background())
	c2 := dial(t, b2.Addr().String())
	got := fetch(t, c2, "durable", 0, 0)
	if got.HighWatermark != 100 || len(values(t, got.Records)) != 100 {
		t.Fatalf("after restart: hw %d, %d records", got.HighWatermark, len(values(t, got.Records)))
	}
}

func TestIdempotentProduceOverTheWire(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "idem", 1)
	var ip protocol.InitProducerIDResponse
	c.call(&protocol.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}, &ip)
	if ip.ErrorCode != protocol.NoError || ip.ProducerID < 0 {
		t.Fatalf("init producer id: %+v", ip)
	}
	mk := func(seq int32) []byte {
		bb := batch.NewBuilder(batch.None)
		bb.SetProducer(ip.ProducerID, ip.ProducerEpoch, seq)
		bb.Append(1, nil, []byte(fmt.Sprint(seq)), nil)
		out, _ := bb.Build()
		return bytes.Clone(out)
	}
	first := produce(t, c, -1, "idem", 0, mk(0))
	retry := produce(t, c, -1, "idem", 0, mk(0))
	if first.ErrorCode != protocol.NoError || retry.ErrorCode != protocol.NoError || retry.BaseOffset != first.BaseOffset {
		t.Fatalf("retry of a delivered batch: first %+v retry %+v", first, retry)
	}
	if gap := produce(t, c, -1, "idem", 0, mk(5)); gap.ErrorCode != protocol.ErrOutOfOrderSequenceNumber {
		t.Fatalf("sequence gap: %v", gap.ErrorCode)
	}
	if got := fetch(t, c, "idem", 0, 0); got.HighWatermark != 1 {
		t.Fatalf("duplicate stored: hw %d", got.HighWatermark)
	}
	var tx protocol.InitProducerIDResponse
	c.call(&protocol.InitProducerIDRequest{TransactionalID: ptr("tx"), ProducerID: -1, ProducerEpoch: -1}, &tx)
	if tx.ErrorCode == protocol.NoError {
		t.Fatal("transactional init accepted though transactions are not implemented")
	}
}

func ptr(s string) *string { return &s }

// TestLongPollEndsWithItsClient: a fetch long-polling for data ends when
// its client goes away, rather than holding its connection slot until
// MaxWait: with max.connections=1, the next client gets in at once.
func TestLongPollEndsWithItsClient(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) { c.MaxConnections = 1 })
	addr := b.Addr().String()
	c := dial(t, addr)
	createTopic(t, c, "quiet", 1)
	c.send(&protocol.FetchRequest{MaxWaitMs: 10 * 60 * 1000, MinBytes: 1, MaxBytes: 1 << 20, Topics: []protocol.FetchRequestTopic{{
		Name: "quiet", Partitions: []protocol.FetchRequestPartition{{Partition: 0, FetchOffset: 0, PartitionMaxBytes: 1 << 20}}}}})
	c.nc.Close()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if apiVersionsAnswered(addr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the long poll of a closed connection still holds the only connection slot")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiVersionsAnswered reports whether a new connection gets an ApiVersions
// answer (a connection over max.connections is closed instead).
func apiVersionsAnswered(addr string) bool {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(protocol.AppendRequestFrame(nil, 1, &protocol.APIVersionsRequest{})); err != nil {
		return false
	}
	frame, err := protocol.ReadFrame(nc, nil, 0)
	if err != nil {
		return false
	}
	var av protocol.APIVersionsResponse
	_, body, err := protocol.ParseResponseHeader(frame)
	return err == nil && av.DecodeFrom(body) == nil && len(av.APIKeys) > 0
}
