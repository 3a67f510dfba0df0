package compat

import (
	"errors"
	"fmt"

	"github.com/hamba/avro/v2"
)

// Version is one existing version of a subject: its number, which refusals
// name, and its parsed schema.
type Version struct {
	Number int
	Schema avro.Schema
}

// Check decides whether candidate may become the next version of a subject
// whose earlier versions are existing, oldest first, numbered 1, 2, ... in
// refusals. A subject with soft-deleted versions has gaps in its numbers:
// use CheckVersions for it, so that refusals name the right versions.
//
// It returns nil when candidate is compatible, an *IncompatibleError when
// it is not, and another error when the level is unknown or a schema nil.
func Check(level Level, candidate avro.Schema, existing []avro.Schema) error {
	vs := make([]Version, len(existing))
	for i, s := range existing {
		vs[i] = Version{Number: i + 1, Schema: s}
	}
	return CheckVersions(level, candidate, vs)
}

// CheckVersions is Check for versions that carry their own numbers.
// existing is oldest first and holds only the versions that count (the
// registry leaves soft-deleted ones out). A non-transitive level checks
// against the last of them only, a transitive one against all; with none,
// any candidate is compatible.
func CheckVersions(level Level, candidate avro.Schema, existing []Version) error {
	if !level.valid() {
		return fmt.Errorf("compat: unknown compatibility level %q", level)
	}
	if level == None {
		return nil
	}
	if candidate == nil {
		return errors.New("compat: no candidate schema")
	}
	against := existing
	if !level.transitive() && len(against) > 1 {
		against = against[len(against)-1:]
	}
	var failures []Failure
	// Newest first: the latest version is the one a user has in mind.
	for i := len(against) - 1; i >= 0; i-- {
		v := against[i]
		if v.Schema == nil {
			return fmt.Errorf("compat: version %d has no schema", v.Number)
		}
		if level.backward() {
			if f, ok := failure(candidate, v.Schema); !ok {
				f.Version, f.Direction = v.Number, Backward
				failures = append(failures, f)
			}
		}
		if level.forward() {
			if f, ok := failure(v.Schema, candidate); !ok {
				f.Version, f.Direction = v.Number, Forward
				failures = append(failures, f)
			}
		}
	}
	if len(failures) == 0 {
		return nil
	}
	return &IncompatibleError{Level: level, Failures: failures}
}

// failure resolves reader against writer and reports what broke, if
// anything did.
func failure(reader, writer avro.Schema) (Failure, bool) {
	v := resolve(reader, writer)
	if v.ok() {
		return Failure{}, true
	}
	return Failure{Reasons: v.reasons, Truncated: v.truncated}, false
}
