package kafka_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/batch"
)

// rawConn speaks the Kafka protocol by hand (kmsg for the bodies), so tests
// can send what no well-behaved client sends.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{t: t, nc: nc}
}

// send writes req at its version and returns the correlation id used.
func (c *rawConn) send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	b := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr)
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
	return c.corr
}

// frame reads one response frame.
func (c *rawConn) frame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.nc, b)
	return b, err
}

// call sends req and decodes the response at version (the request's,
// unless answerVersion >= 0).
func (c *rawConn) call(req kmsg.Request, answerVersion int16) kmsg.Response {
	c.t.Helper()
	corr := c.send(req)
	b, err := c.frame()
	if err != nil {
		c.t.Fatalf("%s v%d: reading response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	if got := int32(binary.BigEndian.Uint32(b)); got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	if answerVersion >= 0 {
		resp.SetVersion(answerVersion)
	}
	b = b[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		b = b[1:] // empty header tags
	}
	if err := resp.ReadFrom(b); err != nil {
		c.t.Fatalf("%s: decoding response: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// expectClosed reads until the broker closes the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadAll(c.nc); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatal("connection still open")
		}
	}
}

// TestApiVersions: the list is what the broker answers, at every version;
// an unknown version gets UNSUPPORTED_VERSION with the list at v0.
func TestApiVersions(t *testing.T) {
	_, addr := startBroker(t, nil)
	c := dialRaw(t, addr)
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
		resp := c.call(req, -1).(*kmsg.ApiVersionsResponse)
		if resp.ErrorCode != 0 || len(resp.ApiKeys) < 12 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		// The group APIs are there: the broker wires its coordinator.
		have := map[int16]bool{}
		for _, k := range resp.ApiKeys {
			have[k.ApiKey] = true
		}
		for _, key := range []int16{8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47} {
			if !have[key] {
				t.Fatalf("v%d does not advertise %s", v, kmsg.NameForKey(key))
			}
		}
	}
	for _, v := range []int16{5, 99} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = min(v, req.MaxVersion())
		corr := c.corr + 1
		b := kmsg.NewRequestFormatter().AppendRequest(nil, req, corr)
		binary.BigEndian.PutUint16(b[6:], uint16(v)) // claim the version
		c.corr = corr
		if _, err := c.nc.Write(b); err != nil {
			t.Fatal(err)
		}
		f, err := c.frame()
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrApiVersionsResponse() // v0
		if err := resp.ReadFrom(f[4:]); err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) < 12 {
			t.Fatalf("ApiVersions v%d: %+v", v, resp)
		}
	}
}

// TestUnsupportedVersions: a known API at a version not answered gets
// UNSUPPORTED_VERSION, on its partitions or at the top; the connection
// stays usable.
func TestUnsupportedVersions(t *testing.T) {
	_, addr := startBroker(t, nil)
	c := dialRaw(t, addr)

	prod := kmsg.NewPtrProduceRequest()
	prod.Version, prod.Acks, prod.TimeoutMillis = 2, 1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceRequestTopicPartition()
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	presp := c.call(prod, -1).(*kmsg.ProduceResponse)
	if len(presp.Topics) != 1 || presp.Topics[0].Partitions[0].ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("Produce v2: %+v", presp)
	}

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorKey = 2, "g"
	fresp := c.call(fc, -1).(*kmsg.FindCoordinatorResponse)
	if fresp.ErrorCode != 0 || fresp.NodeID != 0 || fresp.Port <= 0 {
		t.Fatalf("FindCoordinator: %+v", fresp)
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group = 9, "g" // KIP-848's version: not answered
	ot := kmsg.NewOffsetCommitRequestTopic()
	ot.Topic = "t"
	ot.Partitions = append(ot.Partitions, kmsg.NewOffsetCommitRequestTopicPartition())
	oc.Topics = append(oc.Topics, ot)
	if oresp := c.call(oc, -1).(*kmsg.OffsetCommitResponse); len(oresp.Topics) != 1 || oresp.Topics[0].Partitions[0].ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("OffsetCommit v9: %+v", oresp)
	}

	md := kmsg.NewPtrMetadataRequest()
	md.Version = 13
	mresp := c.call(md, -1).(*kmsg.MetadataResponse)
	if mresp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("Metadata v13: %+v", mresp)
	}

	md.Version = 12 // still served on the same connection
	if mresp := c.call(md, -1).(*kmsg.MetadataResponse); mresp.ErrorCode != 0 || len(mresp.Brokers) != 1 {
		t.Fatalf("Metadata v12: %+v", mresp)
	}
}

// TestGarbageClosesOnlyThatConnection: bytes that are no request close
// their connection; the broker and its other clients carry on.
func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	_, addr := startBroker(t, nil)
	cl := newClient(t, addr, kgo.DefaultProduceTopic("calm"), kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(ctx(t), kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	garbage := [][]byte{
		{0, 0, 0, 4, 1, 2, 3, 4},                                // too short for a header
		{0x7f, 0xff, 0xff, 0xff},                                // larger than socket.request.max.bytes
		{0xff, 0xff, 0xff, 0xf0},                                // negative size
		{0, 0, 0, 10, 0x7f, 0, 0, 0, 0, 0, 0, 1, 0, 0},          // unknown api key
		{0, 0, 0, 12, 0, 3, 0, 9, 0, 0, 0, 1, 0, 0, 0xff, 0xff}, // Metadata v9 body that does not decode
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
	for _, g := range garbage {
		c := dialRaw(t, addr)
		if _, err := c.nc.Write(g); err != nil {
			t.Fatal(err)
		}
		c.expectClosed()
	}
	if err := cl.ProduceSync(ctx(t), kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Fatalf("produce after the garbage: %v", err)
	}
}

// produceBatch sends one idempotent batch of n records on c and returns
// the partition's answer.
func produceBatch(t *testing.T, c *rawConn, topic string, id int64, epoch int16, seq int32, n int) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.SetProducer(id, epoch, seq)
	for i := 0; i < n; i++ {
		b.Append(time.Now().UnixMilli(), nil, []byte("v"), nil)
	}
	recs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = recs
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return c.call(req, -1).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// TestIdempotentProduce: InitProducerId, then a retried batch (on a new
// connection, as after a dropped one) is answered with its original
// offset and written once; gaps and fenced epochs get Kafka's codes.
func TestIdempotentProduce(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "idem", 1, nil)
	c := dialRaw(t, addr)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.Version = 4
	ir := c.call(init, -1).(*kmsg.InitProducerIDResponse)
	if ir.ErrorCode != 0 || ir.ProducerID < 0 || ir.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId: %+v", ir)
	}
	id := ir.ProducerID

	if r := produceBatch(t, c, "idem", id, 0, 0, 3); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("first batch: %+v", r)
	}
	if r := produceBatch(t, c, "idem", id, 0, 3, 2); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("second batch: %+v", r)
	}
	// The connection drops before the answer; the producer retries the
	// same batch on a new one.
	c.nc.Close()
	c = dialRaw(t, addr)
	if r := produceBatch(t, c, "idem", id, 0, 3, 2); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("retried batch: %+v, want the original offset 3", r)
	}
	if r := produceBatch(t, c, "idem", id, 0, 9, 1); r.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: %+v, want OUT_OF_ORDER_SEQUENCE_NUMBER", r)
	}
	// A producer the partition has no state for, starting past 0 (its
	// state expired, say).
	if r := produceBatch(t, c, "idem", id+1000, 0, 7, 1); r.ErrorCode != kerr.UnknownProducerID.Code {
		t.Fatalf("unknown producer: %+v, want UNKNOWN_PRODUCER_ID", r)
	}

	// A new instance bumps the epoch and fences the old one.
	init.ProducerID, init.ProducerEpoch = id, 0
	ir = c.call(init, -1).(*kmsg.InitProducerIDResponse)
	if ir.ErrorCode != 0 || ir.ProducerID != id || ir.ProducerEpoch != 1 {
		t.Fatalf("InitProducerId bump: %+v", ir)
	}
	if r := produceBatch(t, c, "idem", id, 1, 0, 1); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("new epoch: %+v", r)
	}
	if r := produceBatch(t, c, "idem", id, 0, 5, 1); r.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced epoch: %+v, want INVALID_PRODUCER_EPOCH", r)
	}

	end, err := adm.ListEndOffsets(ctx(t), "idem")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("idem", 0); o.Offset != 6 {
		t.Fatalf("end offset %d, want 6: a duplicate was written", o.Offset)
	}

	txn := kmsg.NewPtrInitProducerIDRequest()
	txn.TransactionalID = kmsg.StringPtr("tx")
	if ir := c.call(txn, -1).(*kmsg.InitProducerIDResponse); ir.ErrorCode == 0 {
		t.Fatalf("transactional InitProducerId accepted: %+v", ir)
	}
}

// rawProduce builds a Produce v9 request of one batch for topic/0.
func rawProduce(t *testing.T, topic string, acks int16, records []byte) *kmsg.ProduceRequest {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func oneBatch(t *testing.T) []byte {
	t.Helper()
	b := batch.NewBuilder(batch.None)
	b.Append(time.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
	recs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestProduceAcks: acks=0 gets no response (the next request's answer
// comes next), a refused acks=0 produce closes the connection as in Kafka,
// and an acks value Kafka does not define gets INVALID_REQUIRED_ACKS.
func TestProduceAcks(t *testing.T) {
	_, addr := startBroker(t, nil)
	c := dialRaw(t, addr)
	c.send(rawProduce(t, "acks", 0, oneBatch(t)))
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 9
	if resp := c.call(md, -1).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
		t.Fatalf("metadata after an acks=0 produce: %+v", resp)
	}
	resp := c.call(rawProduce(t, "acks", 2, oneBatch(t)), -1).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: code %d", code)
	}
	resp = c.call(rawProduce(t, "acks", -1, oneBatch(t)), -1).(*kmsg.ProduceResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 1 {
		t.Fatalf("acks=all after the acks=0 record: %+v", p)
	}
	corrupt := oneBatch(t)
	corrupt[len(corrupt)-1] ^= 0xff // breaks the CRC
	c.send(rawProduce(t, "acks", 0, corrupt))
	c.expectClosed()
}

// TestUnimplementedAPI: an API Kafka defines but this broker does not
// answer gets UNSUPPORTED_VERSION in its error code.
func TestUnimplementedAPI(t *testing.T) {
	_, addr := startBroker(t, nil)
	c := dialRaw(t, addr)
	req := kmsg.NewPtrDescribeACLsRequest()
	resp := c.call(req, -1).(*kmsg.DescribeACLsResponse)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("DescribeACLs: %+v", resp)
	}
}

// TestAdvertisedListener: Metadata names the advertised address and the
// configured node id, not the bound address.
func TestAdvertisedListener(t *testing.T) {
	_, addr := startBroker(t, func(c *broker.Config) {
		c.NodeID, c.KafkaAdvertised = 5, "kafka.example:19092"
	})
	c := dialRaw(t, addr)
	for _, v := range []int16{0, 4, 12} {
		md := kmsg.NewPtrMetadataRequest()
		md.Version = v
		resp := c.call(md, -1).(*kmsg.MetadataResponse)
		if len(resp.Brokers) != 1 || resp.Brokers[0].Host != "kafka.example" || resp.Brokers[0].Port != 19092 || resp.Brokers[0].NodeID != 5 {
			t.Fatalf("v%d brokers %+v", v, resp.Brokers)
		}
		if v > 0 && resp.ControllerID != 5 {
			t.Fatalf("v%d controller %d", v, resp.ControllerID)
		}
	}
}

// TestLongPollFetch: a fetch waiting for data (for far longer than the
// test may take) is answered as soon as a record arrives.
func TestLongPollFetch(t *testing.T) {
	_, addr := startBroker(t, nil)
	createTopic(t, newAdmin(t, addr), "wait", 1, nil)
	c := dialRaw(t, addr)
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 11, 10*60*1000, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "wait"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.send(req)
	type answer struct {
		frame []byte
		err   error
	}
	done := make(chan answer, 1)
	go func() {
		f, err := c.frame()
		done <- answer{f, err}
	}()

	cl := newClient(t, addr, kgo.DefaultProduceTopic("wait"))
	if err := cl.ProduceSync(ctx(t), kgo.StringRecord("wake up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil {
		t.Fatalf("long poll: %v", a.err)
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if err := resp.ReadFrom(a.frame[4:]); err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.HighWatermark != 1 || len(p.RecordBatches) == 0 {
		t.Fatalf("long poll answered %+v", p)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(p.RecordBatches); err != nil || rb.NumRecords != 1 {
		t.Fatalf("batch %+v: %v", rb, err)
	}
}
