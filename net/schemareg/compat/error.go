package compat

import (
	"fmt"
	"strings"
)

// Kind classifies a reason with the names Avro's Java checker gives its
// incompatibilities, which Confluent's registry returns as errorType, so
// clients that branch on them keep working.
type Kind string

// The kinds of reason.
const (
	// TypeMismatch: the reader's type cannot read the writer's at all
	// (string against int, a record against an array, int against long).
	TypeMismatch Kind = "TYPE_MISMATCH"
	// NameMismatch: two named types of the same kind whose names differ,
	// the reader listing no alias for the writer's name.
	NameMismatch Kind = "NAME_MISMATCH"
	// FixedSizeMismatch: two fixed types of different sizes.
	FixedSizeMismatch Kind = "FIXED_SIZE_MISMATCH"
	// MissingEnumSymbols: the writer's enum has symbols the reader's lacks,
	// and the reader's enum has no default to read them as.
	MissingEnumSymbols Kind = "MISSING_ENUM_SYMBOLS"
	// ReaderFieldMissingDefault: a reader field the writer does not have,
	// without a default to fill it with.
	ReaderFieldMissingDefault Kind = "READER_FIELD_MISSING_DEFAULT_VALUE"
	// MissingUnionBranch: the reader's union has no branch that can read
	// what the writer wrote.
	MissingUnionBranch Kind = "MISSING_UNION_BRANCH"
)

// Reason is one broken rule at one place of the reader's schema.
type Reason struct {
	Kind Kind
	// Path leads from the root schema to the place: field names joined by
	// dots, "[]" for an array's items, "{}" for a map's values, e.g.
	// "address.zip" or "lines[].sku". It is empty for the root itself.
	Path string
	// Record is the full name of the record that holds the field, and
	// Field the field's name in it; both are empty when the place is not a
	// field (the root schema, or the items of a root array).
	Record string
	Field  string
	// Detail states the rule, e.g. `the reader's int cannot read the
	// writer's long: ...`.
	Detail string
}

// String says where and what, for example
//
//	reader field "zip" of record "com.acme.Address" at "address.zip" has no default and is missing from the writer's schema
func (r Reason) String() string {
	at := ""
	if r.Path != r.Field {
		at = fmt.Sprintf(" at %q", r.Path)
	}
	switch {
	case r.Kind == ReaderFieldMissingDefault:
		return fmt.Sprintf("reader field %q of record %q%s %s", r.Field, r.Record, at, r.Detail)
	case r.Field != "":
		return fmt.Sprintf("field %q of record %q%s: %s", r.Field, r.Record, at, r.Detail)
	case r.Path != "":
		return fmt.Sprintf("at %q: %s", r.Path, r.Detail)
	default:
		return r.Detail
	}
}

// Failure is one (reader, writer) pair that does not resolve: the
// candidate against one existing version, in one direction.
type Failure struct {
	// Version is the existing version's number in its subject.
	Version int
	// Direction is Backward when the candidate was the reader and Forward
	// when the existing version was.
	Direction Level
	// Reasons lists what breaks, in the reader's field order; at least one.
	Reasons []Reason
	// Truncated says that more reasons were found than Reasons holds (a
	// type broken in many places reports maxReasons of them).
	Truncated bool
}

// IncompatibleError refuses a candidate schema. A registry answers it with
// HTTP 409 and error_code 409, listing Messages as Confluent lists its
// incompatibilities.
type IncompatibleError struct {
	Level Level
	// Failures lists the failed checks, the newest version first and, for
	// one version, BACKWARD before FORWARD.
	Failures []Failure
}

// Messages returns one line per reason, each saying which check it broke:
//
//	reader field "email" of record "com.acme.User" has no default and is missing from the writer's schema (BACKWARD against version 2)
func (e *IncompatibleError) Messages() []string {
	var out []string
	for _, f := range e.Failures {
		suffix := fmt.Sprintf(" (%s against version %d)", f.Direction, f.Version)
		for _, r := range f.Reasons {
			out = append(out, r.String()+suffix)
		}
		if f.Truncated {
			out = append(out, "and more reasons not listed"+suffix)
		}
	}
	return out
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("compat: schema is not %s compatible: %s", e.Level, strings.Join(e.Messages(), "; "))
}
