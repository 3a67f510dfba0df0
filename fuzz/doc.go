// Package fuzz holds the fuzz targets that feed arbitrary bytes to Sluice's
// decoders: record batches, index files and segment files as found on disk.
// Two go through the whole engine: FuzzCleanSegments cleans a compacted
// partition whose segments the input wrote, and FuzzSwapRecovery opens one
// whose cleaning a crash interrupted at any step of the swap protocol.
//
// Every target here must hold one invariant: no input makes a decoder panic,
// hang or allocate without bound; bad input is refused with an error that
// callers can branch on. Seed corpora live under testdata/fuzz/<Target>/ and
// run as ordinary tests, so `go test ./fuzz` replays them on every build;
// `make fuzz` explores further.
package fuzz
