//go:build !race && !invariants

package index

// invariants is off in normal builds; see invariants_on.go.
const invariants = false
