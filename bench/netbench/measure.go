package netbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// ProduceResult is the native producer's run.
type ProduceResult struct {
	Records    int64  `json:"records"`
	Acked      int64  `json:"acked"` // callbacks without error
	Failed     int64  `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// PayloadBytes is records x record size: the values.
	PayloadBytes int64 `json:"payload_bytes"`
	// WireBytes is what the producer's connection carried to the broker:
	// the kernel's bytes_acked (TCP_INFO) when WireBytesFrom says
	// "tcp_info", else ComputedWireBytes.
	WireBytes     int64  `json:"wire_bytes"`
	WireBytesFrom string `json:"wire_bytes_from"`
	// ResponseBytes is what came back on that connection (produce answers).
	ResponseBytes int64 `json:"response_bytes"`
	// StoredBytes and Batches are read back from the partition's segment
	// files; with one partition every produce request carries one batch,
	// so ComputedWireBytes is StoredBytes plus one request's framing per
	// batch. It equals WireBytes unless some request was sent twice.
	StoredBytes       int64   `json:"stored_bytes"`
	Batches           int64   `json:"batches"`
	ComputedWireBytes int64   `json:"computed_wire_bytes"`
	AvgRequestBytes   float64 `json:"avg_request_bytes"`
	AvgBatchRecords   float64 `json:"avg_batch_records"`
	// SendSeconds runs from the first Send to the last one returning;
	// Seconds to Flush returning with every record acknowledged.
	SendSeconds   float64 `json:"send_seconds"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_s"`
	PayloadMBps   float64 `json:"payload_mb_per_s"`
	WireMBps      float64 `json:"wire_mb_per_s"`
	CPU           CPUUse  `json:"cpu"`
}

// LimitResult is one plain TCP run between this process and a helper
// process.
type LimitResult struct {
	Command string `json:"command"` // the helper's command line
	Bytes   int64  `json:"bytes"`
	// ConfirmedBytes is the count the other side reported.
	ConfirmedBytes int64 `json:"confirmed_bytes"`
	// WriteSize is the size of each write call (the last may be shorter);
	// ReadSize that of each read (for the consume limit: a 4-byte read and
	// the rest of the frame, through a 64 KiB bufio.Reader, as the client
	// reads frames).
	WriteSize int `json:"write_size"`
	ReadSize  int `json:"read_size"`
	// Seconds and MBps are the median run's; RunsMBps lists every run
	// (Config.Runs), in order.
	Seconds  float64   `json:"seconds"`
	MBps     float64   `json:"mb_per_s"`
	RunsMBps []float64 `json:"runs_mb_per_s"`
	CPU      CPUUse    `json:"cpu"` // the median run's
}

// medianLimit runs f n times and returns the run with the median MB/s,
// with every run's MB/s in RunsMBps.
func medianLimit(n int, f func() (LimitResult, error)) (LimitResult, error) {
	var runs []LimitResult
	for range max(n, 1) {
		r, err := f()
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	all := make([]float64, len(runs))
	for i, r := range runs {
		all[i] = r.MBps
	}
	med := medianRun(runs, func(r LimitResult) float64 { return r.MBps })
	med.RunsMBps = all
	return med, nil
}

// ConsumeResult is one read of the whole partition.
type ConsumeResult struct {
	Name    string `json:"name"`
	Records int64  `json:"records"`
	// PayloadBytes is the values received; RecordBytes the record batches
	// (raw fetch only); WireBytes everything read off the connection.
	PayloadBytes  int64  `json:"payload_bytes"`
	RecordBytes   int64  `json:"record_bytes,omitempty"`
	WireBytes     int64  `json:"wire_bytes"`
	WireBytesFrom string `json:"wire_bytes_from"`
	// Fetches is the number of Fetch requests (non-empty Polls for the
	// consumer); AvgFetchBytes their average response frame.
	Fetches       int64   `json:"fetches"`
	EmptyFetches  int64   `json:"empty_fetches"`
	Batches       int64   `json:"batches,omitempty"`
	AvgFetchBytes float64 `json:"avg_fetch_bytes"`
	// Mismatches counts records whose offset or value was not the one
	// produced (the consumer checks every record; the raw fetch only
	// counts them).
	Mismatches    int64   `json:"mismatches"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_s"`
	PayloadMBps   float64 `json:"payload_mb_per_s"`
	WireMBps      float64 `json:"wire_mb_per_s"`
	CPU           CPUUse  `json:"cpu"`
	// RunsMBps is every run's wire MB/s, round by round (Config.Runs);
	// the other fields are the median run's.
	RunsMBps []float64 `json:"runs_wire_mb_per_s"`
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// workload is the prebuilt records: ring values, cycled.
type workload struct {
	topic string
	size  int
	vals  []byte
	n     int // values in the ring
	recs  []client.Record
}

func newWorkload(topic string, records int64, size int) *workload {
	// Enough distinct values that no batch repeats one (a compressor sees
	// random data), bounded to 64 MiB.
	n := int(min(records, 65536, max(int64(64<<20)/int64(size), 1)))
	w := &workload{topic: topic, size: size, n: n, vals: randomBytes(n*size, 1)}
	w.recs = make([]client.Record, n)
	for i := range w.recs {
		w.recs[i] = client.Record{Topic: topic, Partition: 0, Value: w.value(int64(i))}
	}
	return w
}

// value is the value of the record at offset off.
func (w *workload) value(off int64) []byte {
	i := int(off % int64(w.n))
	return w.vals[i*w.size : (i+1)*w.size : (i+1)*w.size]
}

// newConns returns the sum of the counters of connections in after that
// are not in before: the connections a phase opened. Linux counts the
// acknowledgement of our SYN in bytes_acked; that byte is taken off.
func newConns(before, after map[string]tcpCounters) (tcpCounters, int) {
	var sum tcpCounters
	n := 0
	for k, c := range after {
		if _, ok := before[k]; ok {
			continue
		}
		sum.Acked += c.Acked - min(c.Acked, 1)
		sum.Received += c.Received
		n++
	}
	return sum, n
}

// produceRequestOverhead is a one-partition produce request's bytes around
// its records: length, header, acks, timeout, topic array and name,
// partition array, partition, records length.
func produceRequestOverhead(topic string) int64 {
	return 4 + protocol.RequestHeaderSize + 2 + 4 + 4 + (2 + int64(len(topic))) + 4 + 4 + 4
}

func (r *runner) produce(ctx context.Context) (ProduceResult, error) {
	cfg := &r.cfg
	res := ProduceResult{Records: cfg.Records, PayloadBytes: cfg.Records * int64(cfg.RecordSize)}
	// Look the topic up first, so the producer's first Send finds the
	// metadata cached and only the producer's own work is timed.
	if _, err := r.cl.Partitions(ctx, r.work.topic); err != nil {
		return res, err
	}
	p, err := r.cl.NewProducer(client.ProducerConfig{
		Acks: cfg.Acks, Compression: cfg.Compression, Linger: cfg.Linger,
		BatchSize: cfg.BatchSize, MaxRequestSize: cfg.maxRequestSize(),
		Partitioner: client.ManualPartitioner(),
	})
	if err != nil {
		return res, err
	}
	defer p.Close(context.Background())
	var acked, failed atomic.Int64
	var errOnce sync.Once
	var firstErr error
	cb := func(_ client.RecordMetadata, err error) {
		if err != nil {
			failed.Add(1)
			errOnce.Do(func() { firstErr = err })
			return
		}
		acked.Add(1)
	}
	before, _ := connCounters(r.peer)
	recs := r.work.recs
	meter := startCPU(r.broker.pid())
	start := time.Now()
	for i := int64(0); i < cfg.Records; i++ {
		if err := p.Send(ctx, &recs[i%int64(len(recs))], cb); err != nil {
			return res, fmt.Errorf("send record %d: %w", i, err)
		}
	}
	sent := time.Since(start)
	if err := p.Flush(ctx); err != nil {
		return res, err
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	if cfg.Acks == client.AcksNone {
		// Flush only waited for the writes: wait (untimed) until the
		// broker has appended everything before reading its log and the
		// connection's counters.
		if err := r.waitForEnd(ctx, cfg.Records); err != nil {
			return res, err
		}
	}
	after, cerr := connCounters(r.peer)
	if err := p.Close(ctx); err != nil {
		return res, err
	}
	res.Acked, res.Failed = acked.Load(), failed.Load()
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	res.SendSeconds, res.Seconds = sent.Seconds(), elapsed.Seconds()

	st, err := logStats(filepath.Join(r.dataDir, r.work.topic+"-0"))
	if err != nil {
		return res, fmt.Errorf("reading the partition's segments: %w", err)
	}
	res.StoredBytes, res.Batches = st.bytes, st.batches
	res.ComputedWireBytes = st.bytes + st.batches*produceRequestOverhead(r.work.topic)
	res.WireBytes, res.WireBytesFrom = res.ComputedWireBytes, "computed"
	if sum, n := newConns(before, after); cerr == nil && n > 0 {
		res.WireBytes, res.ResponseBytes, res.WireBytesFrom = int64(sum.Acked), int64(sum.Received), "tcp_info"
	}
	if st.batches > 0 {
		res.AvgRequestBytes = float64(res.WireBytes) / float64(st.batches)
		res.AvgBatchRecords = float64(st.records) / float64(st.batches)
	}
	res.RecordsPerSec = float64(res.Acked) / elapsed.Seconds()
	res.PayloadMBps = mbps(res.PayloadBytes, elapsed)
	res.WireMBps = mbps(res.WireBytes, elapsed)
	return res, nil
}

// waitForEnd waits until the partition's log end offset reaches n.
func (r *runner) waitForEnd(ctx context.Context, n int64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		end, err := r.cl.ListOffset(ctx, r.work.topic, 0, protocol.LatestTimestamp)
		if err != nil {
			return fmt.Errorf("waiting for the broker to append %d records: %w", n, err)
		}
		if end >= n {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for the broker to append %d records (at %d): %w", n, end, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type segStats struct{ bytes, batches, records int64 }

// logStats walks the batch headers of a partition's segment files.
func logStats(dir string) (segStats, error) {
	var st segStats
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return st, err
	}
	if len(names) == 0 {
		return st, fmt.Errorf("no segment files in %s", dir)
	}
	sort.Strings(names)
	hdr := make([]byte, batch.HeaderSize)
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return st, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return st, err
		}
		for pos := int64(0); pos < fi.Size(); {
			if _, err := f.ReadAt(hdr, pos); err != nil {
				f.Close()
				return st, fmt.Errorf("%s at %d: %w", name, pos, err)
			}
			h, err := batch.ParseHeader(hdr)
			if err != nil {
				f.Close()
				return st, fmt.Errorf("%s at %d: %w", name, pos, err)
			}
			st.bytes += h.Size()
			st.batches++
			st.records += int64(h.RecordCount)
			pos += h.Size()
		}
		f.Close()
	}
	return st, nil
}

// produceLimit writes n bytes to a sink process in writes of chunk bytes,
// then half-closes and waits for the sink's count.
func (r *runner) produceLimit(ctx context.Context, n int64, chunk int) (LimitResult, error) {
	chunk = max(chunk, 1)
	res := LimitResult{Bytes: n, WriteSize: chunk, ReadSize: chunk}
	h, err := startHelper(ctx, r.helperExe, "-sink", "-read-buffer", strconv.Itoa(chunk))
	if err != nil {
		return res, err
	}
	defer h.kill()
	res.Command = quoteArgs(h.argv)
	buf := randomBytes(chunk, 3)
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(true) // as the client
	meter := startCPU(h.cmd.Process.Pid)
	start := time.Now()
	for sent := int64(0); sent < n; {
		m, err := tc.Write(buf[:min(int64(chunk), n-sent)])
		sent += int64(m)
		if err != nil {
			return res, fmt.Errorf("writing to the sink: %w", err)
		}
	}
	if err := tc.CloseWrite(); err != nil {
		return res, err
	}
	var ack [8]byte
	if _, err := io.ReadFull(tc, ack[:]); err != nil {
		return res, fmt.Errorf("reading the sink's count: %w", err)
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	tc.Close()
	res.ConfirmedBytes = int64(binary.BigEndian.Uint64(ack[:]))
	got, err := h.finish()
	if err != nil {
		return res, err
	}
	if got != res.ConfirmedBytes {
		return res, fmt.Errorf("the sink answered %d bytes but reported %d", res.ConfirmedBytes, got)
	}
	res.Seconds, res.MBps = elapsed.Seconds(), mbps(n, elapsed)
	return res, nil
}

// setReceiveBuffer gives a consume-side reader the consumer's
// receive.buffer.bytes, when one is set.
func setReceiveBuffer(c net.Conn, n int) error {
	if n <= 0 {
		return nil
	}
	if err := c.(*net.TCPConn).SetReadBuffer(n); err != nil {
		return fmt.Errorf("receive buffer of %d bytes: %w", n, err)
	}
	return nil
}

// consumeMode is how the consumer hands out what it read.
type consumeMode int

const (
	ownedRecords    consumeMode = iota // PollInto: records the caller owns, in its reused slice
	recycledRecords                    // PollInto, and Recycle once they are checked
	borrowedRecords                    // Poll with BorrowRecords
	wholeBatches                       // PollBatches: CRC-checked batches, records not decoded
	trustedBatches                     // PollBatches with check.crcs=false
)

// consume reads the whole partition with the native consumer in the given
// mode.
func (r *runner) consume(ctx context.Context, mode consumeMode) (ConsumeResult, error) {
	cfg := &r.cfg
	res := ConsumeResult{Name: [...]string{"consumer", "consumer (PollInto+Recycle)", "consumer (BorrowRecords)", "consumer (PollBatches)", "consumer (PollBatches, check.crcs=false)"}[mode]}
	k := r.cl.NewConsumer(client.ConsumerConfig{MaxPartitionBytes: cfg.FetchBytes, ReceiveBufferBytes: cfg.ReceiveBuffer, BorrowRecords: mode == borrowedRecords,
		SkipCRCCheck: mode == trustedBatches})
	defer k.Close()
	k.Assign(r.work.topic, 0)
	if err := k.SeekToBeginning(ctx, r.work.topic, 0); err != nil {
		return res, err
	}
	before, _ := connCounters(r.peer)
	var next int64
	var payload, mismatches, fetches, empty int64
	var recs []client.ConsumerRecord
	meter := startCPU(r.broker.pid())
	start := time.Now()
	for next < cfg.Records {
		var got int
		if mode == wholeBatches || mode == trustedBatches {
			bs, err := k.PollBatches(ctx)
			if err != nil {
				return res, fmt.Errorf("poll at offset %d: %w", next, err)
			}
			got = len(bs)
			for i := range bs {
				h := &bs[i].Header
				if max(h.BaseOffset, bs[i].From) != next {
					mismatches++
				}
				n := h.NextOffset() - max(h.BaseOffset, bs[i].From)
				payload += n * int64(cfg.RecordSize) // the workload's records are all this size
				res.Records += n
				next = h.NextOffset()
			}
		} else {
			var err error
			if mode == ownedRecords || mode == recycledRecords {
				// The owned-records API without a slice per poll:
				// the values are the caller's, the records reuse
				// what the last poll returned.
				recs, err = k.PollInto(ctx, recs[:0])
			} else {
				recs, err = k.Poll(ctx)
			}
			if err != nil {
				return res, fmt.Errorf("poll at offset %d: %w", next, err)
			}
			got = len(recs)
			for i := range recs {
				rec := &recs[i]
				if rec.Offset != next || !bytes.Equal(rec.Value, r.work.value(rec.Offset)) {
					mismatches++
				}
				payload += int64(len(rec.Value))
				next = rec.Offset + 1
				res.Records++
			}
			if mode == recycledRecords {
				k.Recycle(recs) // checked and not kept: its memory serves the next fetches
			}
		}
		if got == 0 {
			if empty++; empty > 20 {
				return res, fmt.Errorf("no records after offset %d in 20 polls", next)
			}
			continue
		}
		fetches++
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	after, cerr := connCounters(r.peer)
	res.PayloadBytes, res.Mismatches, res.Fetches, res.EmptyFetches = payload, mismatches, fetches, empty
	res.Seconds = elapsed.Seconds()
	res.RecordsPerSec = float64(res.Records) / elapsed.Seconds()
	res.PayloadMBps = mbps(payload, elapsed)
	if sum, n := newConns(before, after); cerr == nil && n > 0 {
		res.WireBytes, res.WireBytesFrom = int64(sum.Received), "tcp_info"
	}
	if res.WireBytes > 0 {
		res.WireMBps = mbps(res.WireBytes, elapsed)
		res.AvgFetchBytes = float64(res.WireBytes) / float64(max(fetches+empty, 1))
	}
	return res, nil
}

// rawFetch reads the whole partition with Fetch frames of its own into a
// reused buffer, walking batch headers only.
func (r *runner) rawFetch(ctx context.Context) (ConsumeResult, error) {
	cfg := &r.cfg
	res := ConsumeResult{Name: "raw fetch", WireBytesFrom: "frames"}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.peer.String())
	if err != nil {
		return res, err
	}
	defer c.Close()
	if err := setReceiveBuffer(c, cfg.ReceiveBuffer); err != nil {
		return res, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(c, 64<<10) // as the client's connection reader
	req := &protocol.FetchRequest{MaxWaitMs: 500, MinBytes: 1, MaxBytes: 50 << 20,
		Topics: []protocol.FetchRequestTopic{{Name: r.work.topic,
			Partitions: []protocol.FetchRequestPartition{{Partition: 0, PartitionMaxBytes: cfg.FetchBytes}}}}}
	var wbuf, frame []byte
	var resp protocol.FetchResponse
	var next, corr int64
	meter := startCPU(r.broker.pid())
	start := time.Now()
	for next < cfg.Records {
		corr++
		req.Topics[0].Partitions[0].FetchOffset = next
		wbuf = protocol.AppendRequestFrame(wbuf[:0], int32(corr), req)
		if _, err := c.Write(wbuf); err != nil {
			return res, err
		}
		frame, err = protocol.ReadFrame(br, frame, 0)
		if err != nil {
			return res, fmt.Errorf("fetch at offset %d: %w", next, err)
		}
		res.WireBytes += protocol.LengthSize + int64(len(frame))
		got, body, err := protocol.ParseResponseHeader(frame)
		if err != nil {
			return res, err
		}
		if int64(got) != corr {
			return res, fmt.Errorf("correlation id %d, want %d", got, corr)
		}
		if err := resp.DecodeFrom(body); err != nil {
			return res, err
		}
		if resp.ErrorCode != protocol.NoError || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return res, fmt.Errorf("fetch at offset %d: error %v, %d topics", next, resp.ErrorCode, len(resp.Topics))
		}
		rp := &resp.Topics[0].Partitions[0]
		if rp.ErrorCode != protocol.NoError {
			return res, fmt.Errorf("fetch at offset %d: %v", next, rp.ErrorCode)
		}
		res.RecordBytes += int64(len(rp.Records))
		before := next
		for rest := rp.Records; len(rest) >= batch.HeaderSize; {
			h, err := batch.ParseHeader(rest)
			if err != nil {
				return res, fmt.Errorf("fetch at offset %d: %w", next, err)
			}
			if h.Size() > int64(len(rest)) {
				break // a partial batch: fetched whole next time
			}
			if h.BaseOffset != next {
				res.Mismatches++
			}
			res.Batches++
			res.Records += int64(h.RecordCount)
			next = h.NextOffset()
			rest = rest[h.Size():]
		}
		if next == before {
			if res.EmptyFetches++; res.EmptyFetches > 20 {
				return res, fmt.Errorf("no progress after offset %d in 20 fetches", next)
			}
			continue
		}
		res.Fetches++
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	res.PayloadBytes = res.Records * int64(cfg.RecordSize)
	res.Seconds = elapsed.Seconds()
	res.RecordsPerSec = float64(res.Records) / elapsed.Seconds()
	res.PayloadMBps = mbps(res.PayloadBytes, elapsed)
	res.WireMBps = mbps(res.WireBytes, elapsed)
	res.AvgFetchBytes = float64(res.WireBytes) / float64(max(res.Fetches+res.EmptyFetches, 1))
	return res, nil
}

// limitSource is where a consume limit's source process takes its bytes.
type limitSource int

const (
	// fromMemory writes one buffer of frame bytes over and over: the
	// bytes the reader copies are the ones the source just copied into
	// the socket, warm in the CPU's caches. The plain loopback limit.
	fromMemory limitSource = iota
	// bySendfile sends a segment file with sendfile(2), as the broker
	// does: the reader copies the page cache's pages themselves, cold.
	bySendfile
	// byCopy reads the segment file with pread into a reused buffer and
	// writes that: a file server without sendfile.
	byCopy
)

// consumeLimit has a source process write n bytes, in writes of frame
// bytes, and reads them as the client reads fetch responses: a 4-byte
// length, then the rest of the frame, through a 64 KiB bufio.Reader.
//
// With a file the source sends that file's bytes, by sendfile(2) as the
// broker does (the limit of the consume path itself) or by pread and
// write, as src says.
func (r *runner) consumeLimit(ctx context.Context, n int64, frame int, src limitSource, file string) (LimitResult, error) {
	frame = max(frame, protocol.LengthSize+1)
	res := LimitResult{Bytes: n, WriteSize: frame, ReadSize: frame}
	args := []string{"-source", "-bytes", strconv.FormatInt(n, 10), "-chunk", strconv.Itoa(frame)}
	if r.cfg.SendBuffer > 0 {
		args = append(args, "-send-buffer", strconv.Itoa(r.cfg.SendBuffer))
	}
	switch src {
	case bySendfile:
		args = append(args, "-file", file)
	case byCopy:
		args = append(args, "-file", file, "-copy")
	}
	h, err := startHelper(ctx, r.helperExe, args...)
	if err != nil {
		return res, err
	}
	defer h.kill()
	res.Command = quoteArgs(h.argv)
	buf := make([]byte, frame)
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	if err := setReceiveBuffer(c, r.cfg.ReceiveBuffer); err != nil {
		return res, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	meter := startCPU(h.cmd.Process.Pid)
	start := time.Now()
	var got int64
	for got < n {
		m := int(min(int64(frame), n-got))
		if _, err := io.ReadFull(br, buf[:min(m, protocol.LengthSize)]); err != nil {
			return res, fmt.Errorf("reading from the source after %d bytes: %w", got, err)
		}
		if m > protocol.LengthSize {
			if _, err := io.ReadFull(br, buf[protocol.LengthSize:m]); err != nil {
				return res, fmt.Errorf("reading from the source after %d bytes: %w", got, err)
			}
		}
		got += int64(m)
	}
	elapsed := time.Since(start)
	res.CPU = meter.stop()
	if m, _ := br.Read(buf[:1]); m != 0 {
		return res, fmt.Errorf("the source sent more than %d bytes", n)
	}
	c.Close()
	if res.ConfirmedBytes, err = h.finish(); err != nil {
		return res, err
	}
	res.Seconds, res.MBps = elapsed.Seconds(), mbps(n, elapsed)
	return res, nil
}
