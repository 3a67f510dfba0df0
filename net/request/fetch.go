package request

import (
	"context"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/internal/longpoll"
	"github.com/sluicelog/sluice/segment"
)

// Fetch is a fetch request and, once handled, its results. A listener
// keeps one per connection and reuses it (Reset); Release returns the
// segment regions once the response is written.
type Fetch struct {
	// MaxWait is how long to wait for MinBytes; zero answers at once.
	MaxWait  time.Duration
	MinBytes int32
	// MaxBytes bounds the whole response's records; zero or less is no
	// bound. The first batch comes whole whatever the limits (Kafka's rule).
	MaxBytes int64
	// ReplicaID is the fetching follower's broker id, -1 for a consumer.
	// A follower reads up to the log end rather than the high watermark,
	// and its fetch offset tells the leader how far it has the log.
	ReplicaID  int32
	Partitions []FetchPartition

	// Bytes is the records gathered.
	Bytes int64
	// Failed is set when a partition failed.
	Failed bool

	chans []<-chan struct{}
}

// FetchPartition is one partition to read and, after Handler.Fetch, what
// was read.
type FetchPartition struct {
	Topic     string
	Partition int32
	Offset    int64
	MaxBytes  int32
	// LeaderEpoch is the leader epoch the client knows, -1 when it does
	// not say; a stale or unknown one fails the partition.
	LeaderEpoch int32
	// ReplicaLogStart is a follower's own log start offset, which its
	// fetch carries (-1 when it does not say): the leader's DeleteRecords
	// waits until its in-sync followers have moved theirs.
	ReplicaLogStart int64
	// Invalid, set by the listener, fails the partition unread: a rule of
	// its wire protocol the layer does not know.
	Invalid error

	// Err is the partition's failure, nil on success. On failure the
	// offsets below are -1.
	Err                                             error
	HighWatermark, LastStableOffset, LogStartOffset int64
	// Records is the region of whole batches read (Len 0 when none): the
	// listener sends it with sendfile.
	Records segment.Region
	// Next is where a fetch continuing this one starts: past the records
	// read, the offset asked for when none, -1 when the region runs to
	// what the reader let it see and the offset there is not known.
	Next int64

	part *engine.Partition // the partition read, for its traffic counters
}

// Reset empties f for the next request, keeping its capacity. It releases
// regions still held.
func (f *Fetch) Reset(maxWait time.Duration, minBytes int32, maxBytes int64) {
	f.Release()
	clear(f.Partitions)
	f.Partitions = f.Partitions[:0]
	f.MaxWait, f.MinBytes, f.MaxBytes = maxWait, minBytes, maxBytes
	f.Bytes, f.Failed, f.ReplicaID = 0, false, -1
}

// Add appends a partition to read.
func (f *Fetch) Add(topic string, partition int32, offset int64, maxBytes, leaderEpoch int32) *FetchPartition {
	f.Partitions = append(f.Partitions, FetchPartition{Topic: topic, Partition: partition, Offset: offset,
		MaxBytes: maxBytes, LeaderEpoch: leaderEpoch, ReplicaLogStart: -1})
	return &f.Partitions[len(f.Partitions)-1]
}

// Release lets go of the segment regions read.
func (f *Fetch) Release() {
	for i := range f.Partitions {
		p := &f.Partitions[i]
		p.Records.Release()
		p.Records = segment.Region{}
	}
}

// Fetch reads every partition, waiting (up to MaxWait) until MinBytes
// are there, a partition fails, ctx ends or stop is closed (the listener
// is shutting down), then leaves the results in f. The caller writes the
// response and then calls Release.
func (h *Handler) Fetch(ctx context.Context, f *Fetch, stop <-chan struct{}) {
	var deadline time.Time
	if f.MaxWait > 0 {
		deadline = time.Now().Add(f.MaxWait)
	}
	if h.metrics != nil {
		defer h.countFetched(f)
	}
	for {
		// The change channels are taken before reading, so an append that
		// lands in between still wakes the wait below.
		h.collect(f)
		if f.Bytes >= int64(f.MinBytes) || f.Failed || deadline.IsZero() || !time.Now().Before(deadline) || stopped(stop) {
			return
		}
		f.Release()
		if !longpoll.Wait(f.chans, deadline, stop, ctx.Done()) {
			h.collect(f) // timed out or stopping: a last look
			return
		}
	}
}

// countFetched adds what a fetch delivered to its partitions' traffic:
// consumers' bytes and offsets, or a follower's replication bytes.
func (h *Handler) countFetched(f *Fetch) {
	follower := f.ReplicaID >= 0
	for i := range f.Partitions {
		fp := &f.Partitions[i]
		if fp.Err != nil {
			h.metrics.Error("Fetch", CodeOf(fp.Err).String())
		}
		if fp.part == nil {
			continue
		}
		t := fp.part.Traffic()
		if follower {
			t.ReplicationBytesOut.Add(fp.Records.Len)
			continue
		}
		t.FetchRequests.Add(1)
		if fp.Err != nil {
			t.FailedFetch.Add(1)
			continue
		}
		t.BytesOut.Add(fp.Records.Len)
		if fp.Records.Len > 0 {
			// Offsets delivered: from the offset asked for to where the
			// next fetch starts (or the high watermark the read ran to).
			next := fp.Next
			if next < 0 {
				next = fp.HighWatermark
			}
			t.RecordsOut.Add(max(next-fp.Offset, 0))
		}
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// collect reads every partition afresh into f and keeps the partitions'
// change channels, taken before their data was read.
func (h *Handler) collect(f *Fetch) {
	f.Release()
	clear(f.chans)
	f.chans = f.chans[:0]
	f.Bytes, f.Failed = 0, false
	budget := f.MaxBytes
	if budget <= 0 {
		budget = 1 << 62
	}
	for i := range f.Partitions {
		fp := &f.Partitions[i]
		fp.Err, fp.HighWatermark, fp.LastStableOffset, fp.LogStartOffset = fp.Invalid, -1, -1, -1
		// A fetch that returns no records ends where it started.
		fp.Next = fp.Offset
		if fp.Err != nil {
			f.Failed = true
			continue
		}
		p, err := h.partition(fp.Topic, fp.Partition)
		fp.part = p
		if err == nil {
			err = h.checkEpoch(fp.Topic, fp.Partition, fp.LeaderEpoch)
		}
		if err != nil {
			fp.Err, f.Failed = err, true
			continue
		}
		follower := f.ReplicaID >= 0
		if follower {
			if h.repl == nil {
				err = Refuse(ErrNotLeader, "this broker does not replicate partitions")
			} else {
				err = h.repl.FollowerFetched(p, f.ReplicaID, fp.Offset, fp.ReplicaLogStart)
			}
			if err != nil {
				fp.Err, f.Failed = err, true
				continue
			}
			f.chans = append(f.chans, p.EndChanged())
		} else {
			f.chans = append(f.chans, p.Changed())
		}
		fp.HighWatermark = p.HighWatermark()
		fp.LastStableOffset = fp.HighWatermark
		fp.LogStartOffset = p.LogStartOffset()
		limit := min(int64(fp.MaxBytes), budget)
		if limit <= 0 && f.Bytes == 0 {
			limit = 1 // Kafka's rule: the first batch comes whole, whatever the limits
		}
		if limit <= 0 {
			continue
		}
		var reg segment.Region
		if follower {
			reg, err = p.ReadReplica(fp.Offset, limit)
		} else {
			reg, err = p.Read(fp.Offset, limit)
		}
		switch {
		case err != nil:
			fp.Err, f.Failed = err, true
		case reg.Len > 0:
			fp.Records = reg
			f.Bytes += reg.Len
			budget -= reg.Len
			fp.Next = reg.NextOffset
		default:
			reg.Release()
		}
	}
}
