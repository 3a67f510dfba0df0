// Package serdebench measures what Sluice's Avro serializers (package
// net/client/serde) cost a producer and a consumer, against the raw bytes
// of the same values, and how many schema lookups a second their warm
// caches answer, against asking the registry each time.
//
// Run builds cmd/sluiced (or takes Config.Sluiced) and starts one broker
// on 127.0.0.1:0 with its schema registry on too (--override
// schema.registry.listeners=http://127.0.0.1:0), whose address it reads
// from the broker's listener_bound line. The record is an Order of eight
// fields (OrderSchema; a long id, a string customer, an int quantity, a
// double price, a long timestamp, an enum status, a nullable string note,
// an array of string tags), from Go structs: Distinct of them, the same
// every run. A serde.AvroSerializer registers the schema once (its first
// ID(), AutoRegister) and serialises every order once before the runs:
// those bytes are the raw mode's values, so the broker receives the same
// bytes in both modes, and each must deserialise back to its order.
//
// After an untimed warm-up of each mode, Config.Rounds rounds each run,
// in RoundOrder (raw first in odd rounds, Avro first in even ones):
//
//   - produce: Config.Records records to the mode's topic (one partition)
//     from one native producer, acks=1, its defaults otherwise; Avro
//     serialises each order with AvroSerializer.Append into a reused
//     buffer just before its Send, raw sends the bytes serialised before.
//     Timed from the first Send to Flush returning with every record
//     acknowledged.
//   - consume: the same records read back by one native consumer
//     (BorrowRecords); Avro deserialises each value with
//     AvroDeserializer.Deserialize into a new Order (reader schema: the
//     order schema), raw reads its length and last byte. Every offset is
//     checked, and each Avro order's id.
//   - lookups: for Config.LookupDuration each, from Config.Goroutines
//     goroutines at once, calls counted: the warm serializer's ID(); the
//     deserializer's way to a cached schema by id (Deserialize of a value
//     of a record schema without fields, whose body is empty); the
//     registry client's AvroSchemaByID cache; and, for scale, uncached
//     GET /schemas/ids/{id} requests to the broker's registry with
//     net/http.
//
// Each run records its records and MB/s of values a second, and this
// process's and the broker's CPU time (/proc/PID/task/*/schedstat); a
// round's avro/raw ratio is its Avro run's records a second over its raw
// run's, and the report gives each round and the medians.
//
// Checks: every order round-trips through the serializer and
// deserializer; every record comes back at its offset as produced; each
// topic ends at the rounds' records; every lookup succeeds; the broker
// exits 0 on SIGTERM. Failed checks are Report.Problems.
//
// Invariants: the harness signals only the broker process it started, by
// its pid; the kernel kills it if the harness dies (Pdeathsig on Linux).
// Everything written goes under a temporary directory in Config.Dir,
// removed at the end.
//
// WriteMarkdown renders the report as the "Avro serializers" section of
// BENCHMARKS.md; bench/cmd/serdebench is the command.
package serdebench
