package metrics

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelog/sluice/engine"
)

// Sources are the broker parts the Collector reads at scrape. Every field
// but NodeID may be nil: a single node has no replication or quorum, a
// controller-only node no engine.
type Sources struct {
	NodeID  int32
	Version string
	Engine  *engine.Engine
	// Replicas describes the partitions this broker leads (single node:
	// nil, every stored partition is led and fully replicated).
	Replicas func() []Replica
	// Raft is the quorum's state (nil outside a cluster); ok is false on
	// a node that has no seat.
	Raft func() (Raft, bool)
	// OfflinePartitions counts the cluster's leaderless partitions; it is
	// asked only while this node is the active controller.
	OfflinePartitions func() int
	// Groups reports the groups this broker coordinates.
	Groups func() Groups
	// PartitionSeries chooses the partitions reported one by one
	// (metrics.partition.series); the zero value is auto.
	PartitionSeries PartitionSeries
}

// Replica is one partition this broker leads, as the metadata says.
type Replica struct {
	Topic     string
	Partition int32
	ISR       int
	Replicas  int
	MinInsync int
}

// Raft is the quorum's state on this node.
type Raft struct {
	State       string // Leader, Follower, Candidate, Shutdown
	Term        uint64
	CommitIndex uint64
	Applied     uint64
	LastIndex   uint64
	LastContact time.Time // zero: never, or this node leads
}

// Groups is what the coordinator knows: group counts by state and each
// committed offset with the lag behind its partition's high watermark.
type Groups struct {
	ByState map[string]int
	Offsets []GroupOffset
}

// GroupOffset is one group's committed offset for one partition. Lag is
// negative when the partition's end is not known here.
type GroupOffset struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
	Lag       int64
}

// GroupStates are Kafka's group states, each reported even when zero.
var GroupStates = []string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

// Collector reads the broker's state at scrape time.
//
// Per-topic and broker-wide counters are sums over the partitions stored
// here, and a partition's counters go with it (topic deleted, replica
// moved away): the collector remembers each partition's counts from the
// last scrape and keeps those of a partition gone since as retired, so
// that no sum ever goes down, which Prometheus would read as a reset.
// Counts a partition took between the last scrape and its removal are
// lost, never counted twice.
type Collector struct {
	src Sources
	d   descs

	// mu holds one scrape at a time: the fields below are its state and
	// its reused scratch, so that a scrape of many partitions allocates
	// per series sent, not per partition stored.
	mu sync.Mutex
	// seen holds each partition's counts at the last scrape, stamped
	// with that scrape's gen: an entry left with an older gen is a
	// partition removed since.
	seen map[*engine.Partition]seenPartition
	gen  uint64
	// retired holds, per topic still stored here, the counts of its
	// partitions removed since; replIn and replOut the replication
	// counts of every partition removed.
	retired         map[string]topicTotals
	replIn, replOut int64

	counts  []topicTotals // by index into this scrape's partitions
	active  []bool        // ... and whether each had traffic since the last
	byTopic map[string]topicTotals
	shown   map[engine.TopicPartition]bool // in active mode, the partitions shown
}

type seenPartition struct {
	counts topicTotals
	gen    uint64
}

type descs struct {
	info *prometheus.Desc

	topicBytesIn, topicBytesOut, topicRecordsIn, topicRecordsOut        *prometheus.Desc
	topicProduce, topicFetch, topicFailedProduce, topicFailedFetch      *prometheus.Desc
	partBytesIn, partBytesOut, partRecordsIn, partRecordsOut            *prometheus.Desc
	replBytesIn, replBytesOut                                           *prometheus.Desc
	logSize, logSegments, logStart, logEnd, highWatermark               *prometheus.Desc
	recoverySeconds, recoveryTruncated, recoveryPartitions              *prometheus.Desc
	cleanerRuns, cleanerRead, cleanerWritten, cleanerRemoved, dirtyMax  *prometheus.Desc
	partitions, leaders, underReplicated, underMinISR, offlineReplicas  *prometheus.Desc
	isr, replicas                                                       *prometheus.Desc
	controllerActive, offlinePartitions                                 *prometheus.Desc
	raftState, raftTerm, raftCommit, raftApplied, raftLast, raftContact *prometheus.Desc
	groups, groupLag, groupCommitted                                    *prometheus.Desc
}

// NewCollector returns a collector over src; register it on the
// registry /metrics serves.
func NewCollector(src Sources) *Collector {
	tp := []string{"topic", "partition"}
	t := []string{"topic"}
	g := []string{"group", "topic", "partition"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{src: src, seen: map[*engine.Partition]seenPartition{}, retired: map[string]topicTotals{},
		byTopic: map[string]topicTotals{}, shown: map[engine.TopicPartition]bool{}, d: descs{
			info: d("sluice_broker_info", "Always 1; labels name the broker and its version.", "node_id", "version"),

			topicBytesIn:       d("sluice_topic_bytes_in_total", "Record bytes producers appended, by topic (Kafka: kafka.server BrokerTopicMetrics BytesInPerSec).", t...),
			topicBytesOut:      d("sluice_topic_bytes_out_total", "Record bytes sent to consumers, by topic; replication excluded (Kafka: kafka.server BrokerTopicMetrics BytesOutPerSec).", t...),
			topicRecordsIn:     d("sluice_topic_records_in_total", "Records producers appended, by topic (Kafka: kafka.server BrokerTopicMetrics MessagesInPerSec).", t...),
			topicRecordsOut:    d("sluice_topic_records_out_total", "Offsets delivered to consumers, by topic.", t...),
			topicProduce:       d("sluice_topic_produce_requests_total", "Produce requests, counted once per partition named that this broker stores, by topic (Kafka: kafka.server BrokerTopicMetrics TotalProduceRequestsPerSec).", t...),
			topicFetch:         d("sluice_topic_fetch_requests_total", "Consumer fetch requests, counted once per partition named that this broker stores, by topic (Kafka: kafka.server BrokerTopicMetrics TotalFetchRequestsPerSec).", t...),
			topicFailedProduce: d("sluice_topic_failed_produce_requests_total", "Produce requests that failed for a partition this broker stores, by topic (Kafka: kafka.server BrokerTopicMetrics FailedProduceRequestsPerSec); failures for partitions not stored here (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION) count in sluice_request_errors_total alone.", t...),
			topicFailedFetch:   d("sluice_topic_failed_fetch_requests_total", "Consumer fetch requests that failed for a partition this broker stores, by topic (Kafka: kafka.server BrokerTopicMetrics FailedFetchRequestsPerSec); failures for partitions not stored here count in sluice_request_errors_total alone.", t...),
			partBytesIn:        d("sluice_partition_bytes_in_total", "Record bytes producers appended, by partition.", tp...),
			partBytesOut:       d("sluice_partition_bytes_out_total", "Record bytes sent to consumers, by partition.", tp...),
			partRecordsIn:      d("sluice_partition_records_in_total", "Records producers appended, by partition.", tp...),
			partRecordsOut:     d("sluice_partition_records_out_total", "Offsets delivered to consumers, by partition.", tp...),
			replBytesIn:        d("sluice_replication_bytes_in_total", "Record bytes this broker copied from leaders as a follower (Kafka: kafka.server BrokerTopicMetrics ReplicationBytesInPerSec)."),
			replBytesOut:       d("sluice_replication_bytes_out_total", "Record bytes this broker sent to followers as a leader (Kafka: kafka.server BrokerTopicMetrics ReplicationBytesOutPerSec)."),

			logSize:       d("sluice_log_size_bytes", "Bytes of a partition's log on disk, every segment (Kafka: kafka.log Log Size).", tp...),
			logSegments:   d("sluice_log_segments", "Segments of a partition's log (Kafka: kafka.log Log NumLogSegments).", tp...),
			logStart:      d("sluice_log_start_offset", "First offset of a partition's log (Kafka: kafka.log Log LogStartOffset).", tp...),
			logEnd:        d("sluice_log_end_offset", "Offset the next record of a partition will get (Kafka: kafka.log Log LogEndOffset).", tp...),
			highWatermark: d("sluice_partition_high_watermark", "A partition's high watermark: consumers read below it.", tp...),

			cleanerRuns:        d("sluice_log_cleaner_runs_total", "Cleanings of compacted partitions that rewrote segments (Kafka: kafka.log LogCleaner)."),
			cleanerRead:        d("sluice_log_cleaner_bytes_read_total", "Bytes the log cleaner read (Kafka: kafka.log LogCleaner, the cleaner's IO)."),
			cleanerWritten:     d("sluice_log_cleaner_bytes_written_total", "Bytes the log cleaner wrote in cleaned segments."),
			cleanerRemoved:     d("sluice_log_cleaner_records_removed_total", "Records the log cleaner removed: superseded by a newer record of their key, or tombstones past delete.retention.ms."),
			dirtyMax:           d("sluice_log_cleaner_max_dirty_ratio", "The highest dirty ratio among compacted partitions when the cleaner last looked (Kafka: kafka.log LogCleanerManager max-dirty-percent, as a ratio)."),
			recoverySeconds:    d("sluice_recovery_duration_seconds", "Time opening the logs took at start-up, recovery included."),
			recoveryTruncated:  d("sluice_recovery_truncated_bytes", "Bytes cut from torn log tails at start-up, after an unclean shutdown."),
			recoveryPartitions: d("sluice_recovery_partitions", "Partitions whose log tail was scanned at start-up, after an unclean shutdown."),

			partitions:      d("sluice_partitions", "Partitions whose log this broker's engine stores (in a cluster, its replicas: led and followed) (Kafka: kafka.server ReplicaManager PartitionCount)."),
			leaders:         d("sluice_leader_partitions", "Partitions this broker leads (Kafka: kafka.server ReplicaManager LeaderCount)."),
			underReplicated: d("sluice_under_replicated_partitions", "Partitions led here whose ISR is smaller than their replica set (Kafka: kafka.server ReplicaManager UnderReplicatedPartitions)."),
			underMinISR:     d("sluice_under_min_isr_partitions", "Partitions led here whose ISR is below min.insync.replicas (Kafka: kafka.server ReplicaManager UnderMinIsrPartitionCount)."),
			offlineReplicas: d("sluice_offline_replicas", "Replicas here that a storage error took offline (Kafka: kafka.server ReplicaManager OfflineReplicaCount)."),
			isr:             d("sluice_partition_isr_size", "In-sync replicas of a partition this broker leads (Kafka: kafka.cluster Partition InSyncReplicasCount).", tp...),
			replicas:        d("sluice_partition_replicas", "Replicas of a partition this broker leads (Kafka: kafka.cluster Partition ReplicasCount).", tp...),

			controllerActive:  d("sluice_controller_active", "1 on the active controller (the quorum's leader), else 0 (Kafka: kafka.controller KafkaController ActiveControllerCount)."),
			offlinePartitions: d("sluice_offline_partitions", "Partitions without a leader, reported by the active controller alone, or by a single node (Kafka: kafka.controller KafkaController OfflinePartitionsCount)."),
			raftState:         d("sluice_raft_state", "1 for this node's raft state (Leader, Follower, Candidate, Shutdown), 0 for the others.", "state"),
			raftTerm:          d("sluice_raft_term", "The quorum's current term as this node knows it (Kafka: raft-metrics current-epoch)."),
			raftCommit:        d("sluice_raft_commit_index", "Index of the last metadata record known committed (Kafka: raft-metrics high-watermark)."),
			raftApplied:       d("sluice_raft_applied_index", "Index of the last metadata record this node applied."),
			raftLast:          d("sluice_raft_last_log_index", "Index of the last record in this node's metadata log (Kafka: raft-metrics log-end-offset)."),
			raftContact:       d("sluice_raft_last_contact_seconds", "Seconds since this node last heard from the quorum's leader; 0 on the leader, -1 if never."),

			groups:         d("sluice_groups", "Consumer groups this broker coordinates, by state (Kafka: kafka.coordinator.group GroupMetadataManager NumGroups<State>).", "state"),
			groupLag:       d("sluice_consumer_group_lag", "Records between a group's committed offset and the partition's high watermark, as kafka-consumer-groups --describe shows it; reported by the group's coordinator, for partitions it stores a replica of.", g...),
			groupCommitted: d("sluice_consumer_group_committed_offset", "A group's committed offset for a partition.", g...),
		}}
}

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.d
	for _, x := range []*prometheus.Desc{d.info,
		d.topicBytesIn, d.topicBytesOut, d.topicRecordsIn, d.topicRecordsOut,
		d.topicProduce, d.topicFetch, d.topicFailedProduce, d.topicFailedFetch,
		d.partBytesIn, d.partBytesOut, d.partRecordsIn, d.partRecordsOut, d.replBytesIn, d.replBytesOut,
		d.logSize, d.logSegments, d.logStart, d.logEnd, d.highWatermark,
		d.recoverySeconds, d.recoveryTruncated, d.recoveryPartitions,
		d.cleanerRuns, d.cleanerRead, d.cleanerWritten, d.cleanerRemoved, d.dirtyMax,
		d.partitions, d.leaders, d.underReplicated, d.underMinISR, d.offlineReplicas, d.isr, d.replicas,
		d.controllerActive, d.offlinePartitions, d.raftState, d.raftTerm, d.raftCommit, d.raftApplied, d.raftLast, d.raftContact,
		d.groups, d.groupLag, d.groupCommitted} {
		ch <- x
	}
}

// Collect reads the sources.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := &c.d
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge(d.info, 1, strconv.Itoa(int(c.src.NodeID)), c.src.Version)
	if c.src.Engine != nil {
		c.collectLogs(ch, gauge, counter)
	}
	if c.src.Raft != nil {
		if r, ok := c.src.Raft(); ok {
			active := r.State == "Leader"
			gauge(d.controllerActive, b2f(active))
			offline := 0
			if active && c.src.OfflinePartitions != nil {
				offline = c.src.OfflinePartitions()
			}
			gauge(d.offlinePartitions, float64(offline))
			for _, s := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
				gauge(d.raftState, b2f(s == r.State), s)
			}
			gauge(d.raftTerm, float64(r.Term))
			gauge(d.raftCommit, float64(r.CommitIndex))
			gauge(d.raftApplied, float64(r.Applied))
			gauge(d.raftLast, float64(r.LastIndex))
			contact := -1.0
			switch {
			case active:
				contact = 0
			case !r.LastContact.IsZero():
				contact = time.Since(r.LastContact).Seconds()
			}
			gauge(d.raftContact, contact)
		}
	}
	if c.src.Groups != nil {
		gs := c.src.Groups()
		for _, s := range GroupStates {
			gauge(d.groups, float64(gs.ByState[s]), s)
		}
		for _, o := range gs.Offsets {
			p := strconv.Itoa(int(o.Partition))
			gauge(d.groupCommitted, float64(o.Committed), o.Group, o.Topic, p)
			if o.Lag >= 0 {
				gauge(d.groupLag, float64(o.Lag), o.Group, o.Topic, p)
			}
		}
	}
}

// topicTotals is traffic: one partition's, or a topic's summed over its
// partitions here.
type topicTotals struct {
	bytesIn, bytesOut, recordsIn, recordsOut   int64
	produce, fetch, failedProduce, failedFetch int64
	replIn, replOut                            int64
}

func (t *topicTotals) add(o topicTotals) {
	t.bytesIn += o.bytesIn
	t.bytesOut += o.bytesOut
	t.recordsIn += o.recordsIn
	t.recordsOut += o.recordsOut
	t.produce += o.produce
	t.fetch += o.fetch
	t.failedProduce += o.failedProduce
	t.failedFetch += o.failedFetch
	t.replIn += o.replIn
	t.replOut += o.replOut
}

// load reads a partition's traffic counters.
func load(tr *engine.Traffic) topicTotals {
	return topicTotals{
		bytesIn: tr.BytesIn.Load(), bytesOut: tr.BytesOut.Load(),
		recordsIn: tr.RecordsIn.Load(), recordsOut: tr.RecordsOut.Load(),
		produce: tr.ProduceRequests.Load(), fetch: tr.FetchRequests.Load(),
		failedProduce: tr.FailedProduce.Load(), failedFetch: tr.FailedFetch.Load(),
		replIn: tr.ReplicationBytesIn.Load(), replOut: tr.ReplicationBytesOut.Load(),
	}
}

// traffic reads every partition's counts into c.counts, marks in
// c.active those that moved since the last scrape, and sums them by topic
// (c.byTopic) and over all, with what the partitions removed since
// earlier scrapes had counted. Called with c.mu held.
func (c *Collector) traffic(parts []*engine.Partition) (all topicTotals) {
	c.gen++
	c.counts = slices.Grow(c.counts[:0], len(parts))[:len(parts)]
	c.active = slices.Grow(c.active[:0], len(parts))[:len(parts)]
	for i, p := range parts {
		now := load(p.Traffic())
		last := c.seen[p] // zero for a partition new since: active if it counted anything
		c.counts[i], c.active[i] = now, now != last.counts
		c.seen[p] = seenPartition{counts: now, gen: c.gen}
	}
	// Every partition of this scrape is in seen now, so any more entries
	// are partitions gone since the last one: retire them.
	if len(c.seen) > len(parts) {
		for p, last := range c.seen {
			if last.gen == c.gen {
				continue
			}
			r := c.retired[p.Topic()]
			r.add(last.counts)
			c.retired[p.Topic()] = r
			c.replIn += last.counts.replIn
			c.replOut += last.counts.replOut
			delete(c.seen, p)
		}
	}
	clear(c.byTopic)
	for i, p := range parts {
		t := c.byTopic[p.Topic()]
		t.add(c.counts[i])
		c.byTopic[p.Topic()] = t
		all.add(c.counts[i])
	}
	for topic, r := range c.retired {
		t, ok := c.byTopic[topic]
		if !ok {
			// Nothing of the topic is stored here any more: its series end.
			delete(c.retired, topic)
			continue
		}
		t.add(r)
		c.byTopic[topic] = t
	}
	all.replIn += c.replIn
	all.replOut += c.replOut
	return all
}

func (c *Collector) collectLogs(ch chan<- prometheus.Metric, gauge, counter func(*prometheus.Desc, float64, ...string)) {
	d := &c.d
	eng := c.src.Engine
	rec := eng.Recovery()
	gauge(d.recoverySeconds, rec.Duration.Seconds())
	gauge(d.recoveryTruncated, float64(rec.TruncatedBytes))
	gauge(d.recoveryPartitions, float64(rec.Recovered))
	ct := eng.CleanerTotals()
	counter(d.cleanerRuns, float64(ct.Runs))
	counter(d.cleanerRead, float64(ct.BytesRead))
	counter(d.cleanerWritten, float64(ct.BytesWritten))
	counter(d.cleanerRemoved, float64(ct.RecordsRemoved))
	gauge(d.dirtyMax, ct.MaxDirtyRatio)

	// No sort: the registry orders every family's series when it
	// gathers them.
	parts := eng.Partitions()
	c.mu.Lock()
	defer c.mu.Unlock()
	mode := c.src.PartitionSeries.resolve(len(parts))
	all := c.traffic(parts)
	clear(c.shown)
	offline := 0
	for i, p := range parts {
		off := p.Offline()
		if off {
			offline++
		}
		if mode == PartitionSeriesNone || mode == PartitionSeriesActive && !c.active[i] && !off {
			continue
		}
		topic, id := p.Topic(), strconv.Itoa(int(p.ID()))
		if mode == PartitionSeriesActive && c.src.Replicas != nil {
			c.shown[engine.TopicPartition{Topic: topic, Partition: p.ID()}] = true
		}
		tr := &c.counts[i]
		counter(d.partBytesIn, float64(tr.bytesIn), topic, id)
		counter(d.partBytesOut, float64(tr.bytesOut), topic, id)
		counter(d.partRecordsIn, float64(tr.recordsIn), topic, id)
		counter(d.partRecordsOut, float64(tr.recordsOut), topic, id)

		// Stats walks the partition's segments: only for partitions shown.
		st := p.Stats()
		gauge(d.logSize, float64(st.SizeBytes), topic, id)
		gauge(d.logSegments, float64(st.Segments), topic, id)
		gauge(d.logStart, float64(st.LogStartOffset), topic, id)
		gauge(d.logEnd, float64(st.LogEndOffset), topic, id)
		gauge(d.highWatermark, float64(st.HighWatermark), topic, id)
		if c.src.Replicas == nil && !off {
			// A single node leads every partition it stores, alone: its
			// ISR and replica set are itself (Kafka reports 1 and 1
			// likewise).
			gauge(d.isr, 1, topic, id)
			gauge(d.replicas, 1, topic, id)
		}
	}
	for topic, tt := range c.byTopic {
		counter(d.topicBytesIn, float64(tt.bytesIn), topic)
		counter(d.topicBytesOut, float64(tt.bytesOut), topic)
		counter(d.topicRecordsIn, float64(tt.recordsIn), topic)
		counter(d.topicRecordsOut, float64(tt.recordsOut), topic)
		counter(d.topicProduce, float64(tt.produce), topic)
		counter(d.topicFetch, float64(tt.fetch), topic)
		counter(d.topicFailedProduce, float64(tt.failedProduce), topic)
		counter(d.topicFailedFetch, float64(tt.failedFetch), topic)
	}
	counter(d.replBytesIn, float64(all.replIn))
	counter(d.replBytesOut, float64(all.replOut))
	gauge(d.partitions, float64(len(parts)))
	gauge(d.offlineReplicas, float64(offline))

	if c.src.Replicas == nil {
		gauge(d.leaders, float64(len(parts)-offline))
		gauge(d.underReplicated, 0)
		gauge(d.underMinISR, 0)
		// Its offline replicas are leaderless partitions: there is no
		// other replica to lead.
		gauge(d.offlinePartitions, float64(offline))
		return
	}
	led := c.src.Replicas()
	under, underMin := 0, 0
	for _, r := range led {
		short := r.ISR < r.Replicas
		if short {
			under++
		}
		if r.ISR < r.MinInsync {
			underMin++
		}
		// Active: the partitions shown above, and every one led here
		// that is short of replicas, with or without traffic.
		show := mode == PartitionSeriesAll ||
			mode == PartitionSeriesActive && (short || c.shown[engine.TopicPartition{Topic: r.Topic, Partition: r.Partition}])
		if show {
			id := strconv.Itoa(int(r.Partition))
			gauge(d.isr, float64(r.ISR), r.Topic, id)
			gauge(d.replicas, float64(r.Replicas), r.Topic, id)
		}
	}
	gauge(d.leaders, float64(len(led)))
	gauge(d.underReplicated, float64(under))
	gauge(d.underMinISR, float64(underMin))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
