// Package perf is the engine of `sluice bench`: producer, consumer,
// end-to-end and embedded-engine workloads in the spirit of Kafka's
// producer-perf-test and the OpenMessaging Benchmark, with a progress line
// every second and a summary of throughput and latency percentiles.
//
// # Workloads
//
//   - produce: Config.Producers producers (net/client, one connection each)
//     send records of Config.RecordSize bytes; latency is from Send to the
//     record's callback (the broker's acknowledgement).
//   - consume: Config.Consumers consumers split the topic's partitions and
//     read from the beginning; latency is per fetch (one Poll).
//   - e2e: producers and consumers at once on a fresh stretch of the log;
//     each record's value starts with its send time, and latency is from
//     Send to the moment a consumer holds the record.
//   - engine: the embedded engine in a data directory, no network:
//     producers build batches of Config.BatchSize bytes and append them;
//     latency is per Partition.Append call.
//
// # Invariants
//
//   - Producers reuse their value buffers and their client.Record, and
//     register one callback per partition made up front, so the harness
//     allocates nothing per record beyond what net/client does. Send
//     copies a record into its batch before it returns, so a reused value
//     buffer is never read after Send.
//   - Records are routed by the harness, not the client: keyed records to
//     client.KeyPartition (the client's own choice), unkeyed ones to a
//     partition that changes every batch's worth of records (the sticky
//     partitioner's effect). Knowing the partition lets a producer match
//     callbacks to send times with one FIFO per partition, since a
//     partition's callbacks run in send order.
//   - Latencies go into HdrHistograms (1 us to 1 min, 3 significant
//     digits): one for the whole run and one per progress interval.
//   - Values are windows into a buffer of random letters (A-Z), distinct
//     from record to record and compressible as text is, so lz4 and zstd
//     see realistic input rather than one repeated payload.
//
// The types Recorder, Payload, Pacer, Machine and Result are exported for
// the peer harness (bench/peers), which drives other brokers with the same
// measurements and reports.
package perf
