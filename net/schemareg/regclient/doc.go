// Package regclient is a client of the Confluent Schema Registry REST API,
// the API Sluice's built-in registry (package schemareg) serves too.
//
// # Wire
//
// Requests carry Content-Type application/vnd.schemaregistry.v1+json and
// accept that, application/vnd.schemaregistry+json or application/json
// back. Subject names are path-escaped, so a subject may hold any
// character, '/' included. A schema travels as a JSON string inside a JSON
// object ({"schema": "...", "schemaType": "AVRO"}); an absent schemaType
// means AVRO. A registry refuses with an HTTP status and a body
// {"error_code": 40401, "message": "..."}, which becomes an [*Error];
// errors.Is compares it with the sentinels ([ErrSubjectNotFound], ...) by
// error code.
//
// # Failover
//
// [Config.URLs] may name several registries of one cluster. A request goes
// to the URL that answered last; when it cannot be sent or its answer not
// read (connection refused, reset, the per-request Timeout), it goes to the
// next URL, until each has been tried once. An HTTP error status is an
// answer, never a reason to fail over: every node of a registry cluster
// answers the same. When every URL fails, the error wraps [ErrUnavailable]
// and each URL's failure, naming the URL.
//
// # Caches
//
//   - Schema id → schema ([Client.SchemaByID]) and schema id → parsed Avro
//     schema ([Client.AvroSchemaByID]). A registry never reuses an id for
//     another schema, so these entries are never invalidated and never
//     expire. Misses are not cached: an id unknown now may be assigned later.
//     Concurrent calls for one uncached id share one request.
//   - (subject, schema) → id, filled by [Client.Register], [Client.Lookup]
//     and [Client.LookupID], so that a warm serializer never asks the
//     registry. The schema part of the key is the schema normalised by
//     parsing (whitespace and key order do not matter, defaults and docs
//     do); the Parsing Canonical Form would not do, since it drops defaults,
//     which decide compatibility. A subject's entries are dropped when this
//     client deletes the subject or one of its versions; another client's
//     deletion is not seen, as with Confluent's own clients.
//
// A Client is safe for concurrent use by many goroutines; so are the
// caches, which only ever store a value a registry answered.
package regclient
