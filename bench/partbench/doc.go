// Package partbench measures what each partition costs a sluiced as the
// partition count grows (issue 19's harness). For each N of a sweep
// (1,000 to 100,000 by default, topics of 1,000 partitions), on a fresh
// data directory and a fresh broker (bench/sluicedproc, built from the
// module):
//
//   - the create rate, through the admin client's CreateTopics, one topic
//     a request;
//   - descriptors (/proc/PID/fd), mappings (/proc/PID/maps) and VmRSS of
//     the empty broker, after the creates, after an idle wait (with the
//     broker's idle close-down set to it where a property exists) and
//     with up to 10,000 partitions active; du and free space;
//   - Metadata for one topic against all topics, medians over many
//     requests, so that the curve over N shows how each grows;
//   - produce and fetch across the active partitions (one record per
//     partition per request) against the same bytes to one partition, in
//     the same run, alternating;
//   - restart after a clean shutdown and after kill -9: to the "broker
//     started" line, to the first Metadata answer listing every
//     partition, and the engine's own engine_opened figure.
//
// Invariants: a failure of the broker (a refused create, a broker that
// will not start) ends that point and the sweep, and is reported with the
// broker's message, never as a crash of the harness; a point starts only
// if the previous one's disk use per partition says it leaves
// Config.Reserve free; every broker started is gone, and every data
// directory removed, when Run returns. Requests other than the creates go
// over a bare native-protocol connection, one at a time, so the figures
// hold the broker's work and the loopback round trip, not a client's
// batching.
package partbench
