package partbench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// wire is one native-protocol connection that sends a request and reads
// its answer, one at a time: the measured requests carry no client
// library's batching, caching or retries, only the broker's own work and
// the loopback round trip.
type wire struct {
	conn net.Conn
	r    *bufio.Reader
	out  []byte
	in   []byte
	corr int32
}

func dial(addr string) (*wire, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &wire{conn: c, r: bufio.NewReaderSize(c, 1<<20)}, nil
}

func (w *wire) Close() error { return w.conn.Close() }

// call sends req and decodes the answer into resp, within timeout. It
// returns the response frame's size.
func (w *wire) call(req protocol.Request, resp protocol.Response, timeout time.Duration) (int, error) {
	w.corr++
	w.out = protocol.AppendRequestFrame(w.out[:0], w.corr, req)
	w.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := w.conn.Write(w.out); err != nil {
		return 0, fmt.Errorf("%v request: %w", req.Key(), err)
	}
	frame, err := protocol.ReadFrame(w.r, w.in, 0)
	w.in = frame
	if err != nil {
		return 0, fmt.Errorf("%v answer: %w", req.Key(), err)
	}
	corr, body, err := protocol.ParseResponseHeader(frame)
	if err != nil {
		return 0, err
	}
	if corr != w.corr {
		return 0, fmt.Errorf("%v answer: correlation id %d, want %d", req.Key(), corr, w.corr)
	}
	if err := resp.DecodeFrom(body); err != nil {
		return 0, fmt.Errorf("%v answer: %w", req.Key(), err)
	}
	return len(frame) + protocol.LengthSize, nil
}

// metadata asks for topics (nil: every topic) and returns the partitions
// the answer lists and its size in bytes.
func (w *wire) metadata(topics []string, timeout time.Duration) (partitions, size int, err error) {
	var resp protocol.MetadataResponse
	req := &protocol.MetadataRequest{Topics: topics}
	size, err = w.call(req, &resp, timeout)
	if err != nil {
		return 0, 0, err
	}
	if resp.ErrorCode != protocol.NoError {
		return 0, size, fmt.Errorf("Metadata: %v", resp.ErrorCode)
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != protocol.NoError {
			return 0, size, fmt.Errorf("Metadata of %s: %v", t.Name, t.ErrorCode)
		}
		partitions += len(t.Partitions)
	}
	return partitions, size, nil
}

// oneRecordBatch is a Kafka v2 batch of one record of size value bytes:
// every produce request repeats it, for one partition or many.
func oneRecordBatch(size int) ([]byte, error) {
	b := batch.NewBuilder(batch.None)
	b.Append(time.Now().UnixMilli(), nil, make([]byte, size), nil)
	return b.Build()
}

// produce sends one acks=1 produce request and fails on the first
// partition the broker refused, naming it and the broker's message.
func (w *wire) produce(topics []protocol.ProduceRequestTopic, timeout time.Duration) error {
	var resp protocol.ProduceResponse
	req := &protocol.ProduceRequest{Acks: protocol.AcksLeader, TimeoutMs: int32(timeout / time.Millisecond), Topics: topics}
	if _, err := w.call(req, &resp, timeout); err != nil {
		return err
	}
	if resp.ErrorCode != protocol.NoError {
		return fmt.Errorf("Produce: %v", resp.ErrorCode)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != protocol.NoError {
				msg := ""
				if p.ErrorMessage != nil {
					msg = ": " + *p.ErrorMessage
				}
				return fmt.Errorf("Produce to %s-%d: %v%s", t.Name, p.Partition, p.ErrorCode, msg)
			}
		}
	}
	return nil
}

// fetch sends one fetch request and advances each partition's offset
// (next, by topic and partition) past the whole batches it got; it
// returns the records' bytes and batches received.
func (w *wire) fetch(topics []protocol.FetchRequestTopic, next map[string][]int64, timeout time.Duration) (bytes, batches int, err error) {
	var resp protocol.FetchResponse
	req := &protocol.FetchRequest{MaxWaitMs: 0, MinBytes: 0, MaxBytes: 256 << 20, Topics: topics}
	if _, err := w.call(req, &resp, timeout); err != nil {
		return 0, 0, err
	}
	if resp.ErrorCode != protocol.NoError {
		return 0, 0, fmt.Errorf("Fetch: %v", resp.ErrorCode)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != protocol.NoError {
				return bytes, batches, fmt.Errorf("Fetch from %s-%d: %v", t.Name, p.Partition, p.ErrorCode)
			}
			recs := p.Records
			for len(recs) >= batchHeaderMin {
				n := int(binary.BigEndian.Uint32(recs[8:12])) + 12
				if n > len(recs) {
					break // a partial batch at the end: Kafka's fetches may cut one
				}
				last := int64(binary.BigEndian.Uint64(recs[0:8])) + int64(binary.BigEndian.Uint32(recs[23:27]))
				next[t.Name][p.Partition] = last + 1
				bytes += n
				batches++
				recs = recs[n:]
			}
		}
	}
	return bytes, batches, nil
}

// batchHeaderMin is a v2 batch header's size up to its record count.
const batchHeaderMin = 61
