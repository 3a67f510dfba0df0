package engine

import (
	"sync/atomic"
	"time"
)

// Traffic counts what moved through one partition. The request layer
// adds to it when metrics are on, with atomic adds and no lock, and the
// metrics collector reads it at scrape; the engine itself counts only
// ReplicationBytesIn (AppendReplica), one add per call. It lives on the
// partition so that the hot path needs no map lookup.
type Traffic struct {
	BytesIn, RecordsIn   atomic.Int64 // appended by producers (not replication)
	BytesOut, RecordsOut atomic.Int64 // delivered to consumers (not followers)
	ProduceRequests      atomic.Int64 // produce requests naming the partition
	FetchRequests        atomic.Int64 // consumer fetch requests naming it
	FailedProduce        atomic.Int64 // ... that failed for this partition
	FailedFetch          atomic.Int64
	// ReplicationBytesIn is what this replica copied from its leader,
	// ReplicationBytesOut what it sent its followers as leader.
	ReplicationBytesIn, ReplicationBytesOut atomic.Int64
}

// Traffic returns the partition's traffic counters.
func (p *Partition) Traffic() *Traffic { return &p.traffic }

// LogStats is a partition's log as Kafka's kafka.log Log metrics see it.
type LogStats struct {
	SizeBytes      int64
	Segments       int
	LogStartOffset int64
	LogEndOffset   int64
	HighWatermark  int64
}

// Stats returns the partition's log statistics; it takes no lock.
func (p *Partition) Stats() LogStats {
	segs := p.segments()
	var size int64
	for _, s := range segs {
		size += s.Size()
	}
	return LogStats{SizeBytes: size, Segments: len(segs), LogStartOffset: p.LogStartOffset(),
		LogEndOffset: p.LogEndOffset(), HighWatermark: p.HighWatermark()}
}

// RecoveryStats describes the engine's start-up: how long opening the logs
// took and what an unclean shutdown cost.
type RecoveryStats struct {
	Duration time.Duration
	// CleanShutdown is set when the last run closed cleanly, so no log
	// was scanned.
	CleanShutdown bool
	Partitions    int
	// Recovered counts partitions whose tail was scanned after an unclean
	// shutdown; TruncatedBytes what was cut from torn tails, and
	// SegmentsDeleted the segments dropped after a damaged one.
	Recovered       int
	TruncatedBytes  int64
	SegmentsDeleted int
	// SegmentsScanned counts the segments whose batches were read to find
	// the log's end (recovered, or activated after a clean shutdown);
	// Resumed the partitions whose active segment took its state from the
	// recovery checkpoint instead, opening nothing.
	SegmentsScanned int
	Resumed         int
	// BytesScanned is how many log bytes recovery validated batch by
	// batch.
	BytesScanned int64
}

// Recovery returns what opening the engine took.
func (e *Engine) Recovery() RecoveryStats { return e.recovery }

// observeFlush reports one fsync's duration to Options.OnFlush.
func (p *Partition) observeFlush(start time.Time) {
	if f := p.eng.opts.OnFlush; f != nil {
		f(time.Since(start))
	}
}

// Partitions returns every partition this engine stores, in no order.
func (e *Engine) Partitions() []*Partition { return e.allPartitions() }
