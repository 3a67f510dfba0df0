//go:build race || invariants

package index

// invariants turns on self-checks that cost too much for production, such as
// comparing every tail-first lookup with a full binary search. Race-enabled
// test runs get them for free.
const invariants = true
