// Package schemareg is the schema registry built into every broker: the
// REST API of Confluent's Schema Registry (subjects, versions, ids,
// compatibility levels, soft and hard deletes, Confluent's error codes),
// so that existing serializers, tools and clients use it unchanged, with
// Avro schemas parsed by hamba/avro and evolution checked by package
// compat.
//
// # Where schemas live, and why
//
// In Sluice itself: partition 0 of the compacted topic _schemas (Topic), as
// Confluent and Redpanda keep theirs, in Confluent's record layout (JSON
// keys {"keytype":"SCHEMA","subject":...,"version":...} and values). So the
// registry is replicated with the cluster like any topic and outlives the
// loss of any broker that holds an in-sync replica, with no store of its
// own to back up. Compaction keeps each version's and config's newest
// record; a hard delete is a tombstone.
//
// Every broker serves reads from its own replica: an applier follows the
// replica up to its high watermark and builds the state (subjects,
// versions, ids, configs) in log order. A broker without a replica, or
// asked to write, passes the request to the registry of the broker that
// leads the partition.
//
// Writes are serialised through one place: the leader of _schemas-0. Ids
// must be unique cluster-wide and never reused, and a new version's number
// and a new schema's id are decided from the current state, so two writers
// deciding at once would hand out one id twice. The partition's leader is
// already the one broker that may append to it, elected by the controller
// with leader epochs that fence a deposed one; deciding there, one write
// at a time (after applying its whole log when it becomes leader), and
// answering only once the records are committed (acks=all) gives every
// acknowledged id to exactly one schema, and hands none out again after a
// failover. Not the metadata quorum: schemas are data, large and
// user-driven, and KRaft keeps such state out of its log too.
//
// # Invariants
//
//   - The state is a function of the log: the applier alone changes it,
//     record by record in offset order, and a replica that is replaced or
//     truncated below what was applied is replayed from its start.
//   - A write decides on a state that holds every committed record of the
//     leader's log, appends, waits for acks=all, and answers only once the
//     state holds what it wrote.
//   - An id, once handed out, is never handed out again: the highest one is
//     kept in a record of its own (key type ID), which compaction keeps
//     after every version that used it is hard deleted.
//   - The same schema (same JSON up to spacing) has one id in every
//     subject; registering it again under a subject returns its version's
//     id and writes nothing.
//
// # Limits
//
// AVRO only: JSON Schema and Protobuf are answered with 422 (error code
// 42201, "unsupported schema type"); schema references likewise. Request
// bodies are at most MaxBodyBytes. /mode answers READWRITE and cannot be
// changed.
package schemareg
