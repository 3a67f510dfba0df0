// Package compat decides whether a new Avro schema may join a subject of
// the schema registry under the subject's compatibility level, and when it
// may not, says why in words a person can act on.
//
// A level names the directions to check and the versions to check against,
// as Confluent's Schema Registry defines them:
//
//	BACKWARD  a reader with the new schema reads data written with the old one
//	FORWARD   readers with the old schema read data written with the new one
//	FULL      both
//	*_TRANSITIVE  against every earlier version, not only the latest
//	NONE      anything goes
//
// Each check is one application of the Avro specification's schema
// resolution rules to a (reader, writer) pair: numeric promotions int to
// long, float or double, long to float or double, float to double, and
// string to bytes and back; records matched by unqualified name or a reader
// alias, their fields by name or a reader field's aliases, a reader field
// absent from the writer needing a default, a writer field absent from the
// reader ignored; enums needing every writer symbol unless the reader has a
// default; fixed types needing equal sizes; unions needing every writer
// branch to be readable by the reader (by some branch, when the reader is a
// union too); arrays and maps compared by items and values. Logical types
// are not compared, as Avro's own checker and Confluent's do not compare
// them.
//
// Invariants:
//   - A refusal is always an *IncompatibleError, and every one of its
//     reasons names its place (below the root: the field, its record and
//     the path to it from the root) and the rule it breaks; any other
//     error is a caller's mistake (an unknown level, a nil schema).
//   - The walk never writes to the schemas it is given, keeps no state
//     between calls and needs no lock: the registry may check against
//     parsed schemas it shares between requests.
//   - The walk ends on recursive schemas: a pair of records already being
//     compared is assumed compatible, the coinductive reading Avro's Java
//     checker also uses, and what was concluded from that assumption is
//     forgotten if the pair turns out incompatible.
//   - The walk remembers the pairs of records it has compared, so a type
//     reached by exponentially many paths costs about one comparison, not
//     one per path; a refusal inside a recursive type can make it compare
//     some pairs again, a polynomial cost at worst.
//   - A refusal lists at most 50 reasons per failed check and says so when
//     there were more.
//
// The walk is this package's own rather than hamba/avro's
// SchemaCompatibility, whose verdicts agree with it on ordinary schemas
// (the tests check that) but whose messages do not say which field broke
// which rule; see resolve.go for where hamba's checker departs from the
// specification.
package compat
