// Package metrics is the broker's Prometheus instrumentation: the
// instruments the request paths touch (Listener, Requests) and a scrape-time
// Collector that reads everything else (logs, replication, the quorum,
// groups) from the broker's parts when /metrics is asked for.
//
// Invariants:
//   - Hot paths pay a few atomic adds per request and nothing per record:
//     no locks, no allocation, no label lookups. A listener's API names
//     are resolved once, and each API's series on its first request;
//     per-topic and per-partition traffic lives in the engine partition's
//     own atomic counters (engine.Traffic), summed by topic only at scrape.
//   - A nil *Listener or *Requests is valid and does nothing: that is
//     "metrics off". A broker with metrics off still times requests for
//     its slow-request log (Slow), two clock reads per request, unless
//     slow.request.log.threshold.ms is 0 too.
//   - No global state: every instrument is registered on the registry the
//     caller passes, so brokers in one process (tests) never share series.
//   - Scrape-time reads take the same locks a describe would and never
//     block an append or a fetch for longer than that.
//
// The series, in Prometheus naming, with the Kafka metric each stands for
// where Kafka has one (also in each HELP text):
//
// Requests (label listener is "kafka" or "native"; api is the API's name):
//
//	sluice_request_duration_seconds{listener,api}     histogram; Kafka RequestMetrics TotalTimeMs
//	sluice_requests_in_flight{listener}                gauge
//	sluice_request_queue_size{listener}                gauge; Kafka RequestChannel RequestQueueSize
//	sluice_request_errors_total{api,error}             counter; Kafka RequestMetrics ErrorsPerSec
//	sluice_connections{listener}                       gauge; Kafka socket-server-metrics connection-count
//	sluice_connections_accepted_total{listener}        counter; Kafka connection-creation-total
//	sluice_slow_requests_total{listener,api}           counter of requests over slow.request.log.threshold.ms
//
// Traffic, by topic and by partition (Kafka BrokerTopicMetrics):
//
//	sluice_topic_bytes_in_total{topic}                 BytesInPerSec
//	sluice_topic_bytes_out_total{topic}                BytesOutPerSec (consumers; not replication)
//	sluice_topic_records_in_total{topic}               MessagesInPerSec
//	sluice_topic_records_out_total{topic}              offsets delivered to consumers
//	sluice_topic_produce_requests_total{topic}         TotalProduceRequestsPerSec
//	sluice_topic_fetch_requests_total{topic}           TotalFetchRequestsPerSec
//	sluice_topic_failed_produce_requests_total{topic}  FailedProduceRequestsPerSec
//	sluice_topic_failed_fetch_requests_total{topic}    FailedFetchRequestsPerSec
//	  (these four count partitions stored here; a request for one stored
//	  elsewhere, NOT_LEADER_OR_FOLLOWER say, counts in sluice_request_errors_total)
//	sluice_partition_bytes_in_total{topic,partition}   and _bytes_out_, _records_in_, _records_out_ alike
//	sluice_replication_bytes_in_total                  ReplicationBytesInPerSec
//	sluice_replication_bytes_out_total                 ReplicationBytesOutPerSec
//
// Logs (Kafka kafka.log Log), per partition this broker stores:
//
//	sluice_log_size_bytes{topic,partition}             Size
//	sluice_log_segments{topic,partition}               NumLogSegments
//	sluice_log_start_offset{topic,partition}           LogStartOffset
//	sluice_log_end_offset{topic,partition}             LogEndOffset
//	sluice_partition_high_watermark{topic,partition}
//	sluice_log_flush_duration_seconds                  histogram; LogFlushStats LogFlushRateAndTimeMs
//	sluice_recovery_duration_seconds                   gauge: opening the logs at start-up
//	sluice_recovery_truncated_bytes                    gauge: bytes cut from torn tails at start-up
//	sluice_recovery_partitions                         gauge: partitions recovered after an unclean shutdown
//	sluice_log_cleaner_runs_total                      cleanings of compacted partitions (Kafka kafka.log LogCleaner)
//	sluice_log_cleaner_bytes_read_total, _bytes_written_total, _records_removed_total
//	sluice_log_cleaner_max_dirty_ratio                 LogCleanerManager max-dirty-percent, as a ratio
//
// Replication (Kafka ReplicaManager and Partition):
//
//	sluice_partitions                                  PartitionCount (replicas stored here)
//	sluice_leader_partitions                           LeaderCount
//	sluice_under_replicated_partitions                 UnderReplicatedPartitions (led here, ISR < replicas)
//	sluice_under_min_isr_partitions                    UnderMinIsrPartitionCount
//	sluice_offline_replicas                            OfflineReplicaCount (storage errors here)
//	sluice_partition_isr_size{topic,partition}         InSyncReplicasCount (on the leader)
//	sluice_partition_replicas{topic,partition}         ReplicasCount (on the leader)
//
// Controller and quorum (Kafka KafkaController, raft-metrics):
//
//	sluice_controller_active                           ActiveControllerCount
//	sluice_offline_partitions                          OfflinePartitionsCount (active controller, or a single node)
//	sluice_raft_state{state}                           1 for this node's raft state
//	sluice_raft_term                                   current-epoch
//	sluice_raft_commit_index                           high-watermark
//	sluice_raft_applied_index
//	sluice_raft_last_log_index                         log-end-offset
//	sluice_raft_last_contact_seconds                   seconds since the leader was last heard
//
// Groups (Kafka GroupMetadataManager; lag as kafka-consumer-groups shows it):
//
//	sluice_groups{state}                               NumGroups<State>
//	sluice_consumer_group_lag{group,topic,partition}   high watermark minus committed offset
//	sluice_consumer_group_committed_offset{group,topic,partition}
//
// Process: Go runtime (go_*) and process (process_*) collectors, and
// sluice_broker_info{node_id,version} (always 1).
//
// The {topic,partition} series above, 11 per stored partition, are
// chosen by metrics.partition.series (PartitionSeries): all, active
// (partitions with traffic since the last scrape, offline ones, and for
// ISR and replicas under-replicated ones), or none; auto, the default, is
// all up to 10,000 partitions and active above, where all would be over
// 100,000 series a scrape. The per-topic and broker-wide series are exact
// in every mode. A scrape costs a few atomic loads and one map update per
// stored partition, plus the series it sends.
package metrics
