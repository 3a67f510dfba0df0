package compat

import (
	"fmt"
	"strings"
)

// Level is a subject's compatibility level, spelled as Confluent's Schema
// Registry spells it in its REST API and in its _schemas topic.
type Level string

// The levels Confluent defines.
const (
	None               Level = "NONE"
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
)

// levels lists every level in the order error messages name them.
var levels = [...]Level{None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive}

// ParseLevel reads a level regardless of case and surrounding space, as
// Confluent accepts "backward" for BACKWARD in PUT /config.
func ParseLevel(s string) (Level, error) {
	want := strings.ToUpper(strings.TrimSpace(s))
	for _, l := range levels {
		if string(l) == want {
			return l, nil
		}
	}
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = string(l)
	}
	return "", fmt.Errorf("compat: unknown compatibility level %q (valid: %s)", s, strings.Join(names, ", "))
}

// valid reports whether l is one of the defined levels, spelled exactly.
func (l Level) valid() bool {
	for _, k := range levels {
		if l == k {
			return true
		}
	}
	return false
}

// backward reports whether l has the new schema read the old ones' data.
func (l Level) backward() bool {
	return l == Backward || l == BackwardTransitive || l == Full || l == FullTransitive
}

// forward reports whether l has the old schemas read the new one's data.
func (l Level) forward() bool {
	return l == Forward || l == ForwardTransitive || l == Full || l == FullTransitive
}

// transitive reports whether l checks against every earlier version rather
// than only the latest.
func (l Level) transitive() bool {
	return l == BackwardTransitive || l == ForwardTransitive || l == FullTransitive
}
