// Package client is Sluice's native Go client: admin requests (topics,
// configs, groups), a batching idempotent producer, a consumer of assigned
// partitions and a consumer group member, speaking the protocol of package
// protocol to one or more brokers.
//
// # Model
//
// A [Client] holds the cluster metadata (brokers, topics, partition
// leaders; cached, refreshed after errors that say it is stale and every
// five minutes) and a pool of connections for admin and metadata requests.
// [Client.NewProducer], [Client.NewConsumer] and [Client.NewGroupConsumer]
// make producers and consumers with connections of their own: a
// consumer's long-poll fetches never queue in front of a produce or an
// admin request, since a broker answers each connection's requests in
// order.
//
// Every connection pipelines: many requests in flight, answered in order,
// each matched to its request by correlation id. Every request has a
// deadline (Config.RequestTimeout, plus MaxWait for fetches); a broker
// that lets one pass is presumed hung and the connection is closed. A
// request whose connection fails is sent again on a new connection where
// that is safe: always if it never left; otherwise only for requests that
// repeating cannot change (reads such as Metadata, ListOffsets,
// OffsetForLeaderEpoch, Fetch and the Describe and List requests, and
// writes of an absolute state such as AlterConfigs and OffsetCommit), and
// for Produce as the producer below decides. Every call takes a context.
//
// # Producer
//
// [Producer.Send] appends a record to its partition's open batch (the
// accumulator: one queue of batches per partition, each up to BatchSize,
// sent when full or Linger after its first record) and returns; the
// callback reports the outcome later. ProducerConfig.Partitioner chooses
// each record's partition ([Partitioner], Kafka's partitioner.class). The
// default, [StickyKeyPartitioner], sends keyed records to [KeyPartition],
// as Kafka's clients do, and sticks records without a key to one
// partition until its batch closes, then moves to another at random;
// [RoundRobinPartitioner], [KeyPartitioner], [UniformStickyPartitioner]
// and the caller's own implementations are the alternatives. The
// partitioner decides: Record.Partition counts only with
// [ManualPartitioner]. Queued records are bounded by BufferMemory, and
// Send blocks (up to MaxBlock) for room.
//
// One sender goroutine per broker takes ready batches, one per partition,
// into produce requests, at most MaxInFlight of them unanswered, over a
// connection of its own. With idempotence (the default, with acks=all) the
// producer first gets a producer id (InitProducerId); each batch gets its
// partition's next sequence number when it leaves the accumulator, and a
// retry resends the very same bytes, so the broker appends each batch
// once and in order: a retried batch it already holds is answered with
// its original offsets.
//
// # Invariants
//
//   - Each record's callback runs exactly once, and a partition's
//     callbacks run in the order its records were sent: a batch completes
//     only after every earlier batch of its partition has.
//   - With idempotence, a partition's batches reach the broker in sequence
//     order. After a failure nothing more of the partition is sent until
//     every batch in flight has come back; then the failed ones go again,
//     in order, before anything new. A batch the broker surely refused
//     leaves a gap, closed by renumbering the batches after it; a batch
//     whose fate is unknown when the client gives up on it (delivery
//     timeout), or an OUT_OF_ORDER_SEQUENCE no earlier failure explains
//     (which fails the partition's pending batches), makes the producer
//     bump its epoch, which restarts every partition's sequence at 0.
//   - Retriable errors (protocol.ErrorCode.Retriable, broken connections)
//     are retried after RetryBackoff until DeliveryTimeout; other errors
//     fail the batch's records.
//   - Memory charged at Send is released when the record's batch
//     completes, before its callbacks run, so a callback may Send again.
//   - Close stops every goroutine and connection it started; Client.Close
//     stops the producers and consumers still open.
//
// # Consumer
//
// A [Consumer] reads the partitions the caller assigns it from positions
// it keeps ([Consumer.Seek] and friends). [Consumer.Poll] sends one
// long-poll fetch per broker, checks each batch's CRC and decompresses it
// (one reused batch.Reader), and returns copies of the records at or
// after each position. A position outside the log fails with an
// [OffsetOutOfRangeError] that gives the valid range, and the caller
// seeks: auto.offset.reset is a group consumer's setting.
//
// When a fetch comes back and the broker says more is waiting, the
// consumer sends the next fetches before it decodes this one (prefetch):
// one for the positions after this response, and one continuing from
// wherever that one will end (protocol.FetchContinue), so that the broker
// always has a request queued and its sendfile and the network run while
// the caller works. A prefetch is used only if the next Poll asks for
// exactly what it asked; after a Seek the queue is dropped unread.
// Prefetches do not long-poll: one that finds nothing new comes back at
// once and the Poll fetches again, waiting. Responses land in recycled
// buffers.
// Two modes skip copying records, for consumers that are done with them
// before polling again: ConsumerConfig.BorrowRecords (records point into
// the fetch buffer until the next Poll) and [Consumer.PollBatches] (whole
// CRC-checked batches, for mirrors and archivers, or callers that decode
// with batch.Reader themselves). Both allocate nothing per record.
// Between the two, records the caller owns can be given back with
// [Consumer.Recycle] once it is done with them: the consumer then stops
// copying records out of the fetch buffer, and reuses the buffer once the
// records are given back.
//
// # Consumer groups
//
// A [GroupConsumer] is a member of a consumer group (group.id): the
// members share the partitions of the topics they subscribe to, each
// partition read by one member at a time, with Kafka's group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and assignors (package
// assign; cooperative-sticky by default, so that members keep fetching
// through a rebalance). Its Poll joins, applies new assignments (calling
// the rebalance callbacks) and fetches with a Consumer of its own. A
// partition starts at the group's committed offset, or where
// GroupConfig.AutoOffsetReset (auto.offset.reset: latest, earliest or
// none) says when there is none or it has left the log. Offsets are
// committed automatically (enable.auto.commit) or with the Commit
// methods; static membership (group.instance.id) keeps a restarted
// member's partitions. [Client.ListGroups], [Client.DescribeGroup],
// [Client.FetchGroupOffsets], [Client.CommitGroupOffsets] and
// [Client.DeleteGroup] administer groups from outside.
//
// # Errors
//
// An error code from a broker comes back as a [*BrokerError] that unwraps
// to its protocol.ErrorCode, so errors.Is(err,
// protocol.ErrTopicAlreadyExists) works, with the broker's message when it
// sent one. Failures of the client itself wrap [ErrClosed], [ErrNetwork]
// or [ErrTimeout]; a group consumer's, [ErrNoOffset] or [ErrNotMember].
package client
