package regclient

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/hamba/avro/v2"
)

// idKey keys the (subject, schema) → id cache. The schema is hashed, so a
// key stays small whatever the schema's size.
type idKey struct {
	subject string
	typ     SchemaType
	sum     [sha256.Size]byte
}

func newIDKey(subject string, s Schema) idKey {
	typ := s.Type
	if typ == "" {
		typ = Avro
	}
	return idKey{subject: subject, typ: typ, sum: sha256.Sum256([]byte(normalize(s)))}
}

// normalize returns the text an Avro schema's cache key is made of: the
// schema parsed and written back as JSON, which drops whitespace and
// orders keys but keeps defaults, docs and aliases. It is not the Parsing
// Canonical Form, which drops defaults: two schemas differing in a default
// are different schemas to a registry (one may be compatible where the
// other is not). Text that does not parse, and other languages, are taken
// as they are: the registry will judge them.
func normalize(s Schema) string {
	if !s.IsAvro() {
		return s.Schema
	}
	parsed, err := ParseAvro(s.Schema)
	if err != nil {
		return s.Schema
	}
	b, err := json.Marshal(parsed)
	if err != nil {
		return s.Schema
	}
	return string(b)
}

// ParseAvro parses an Avro schema on its own: named types are resolved
// within text alone, never against schemas parsed before (hamba's default
// parse shares one process-wide cache of named types, where a v2 record
// would replace the v1 of the same name).
func ParseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// AvroSchemaByID returns the parsed Avro schema with the given id, cached
// for good: ids are immutable. Schemas with references are not supported.
func (c *Client) AvroSchemaByID(ctx context.Context, id int) (avro.Schema, error) {
	if s, ok := c.parsedID.Load(id); ok {
		return s.(avro.Schema), nil
	}
	s, err := c.SchemaByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.IsAvro() {
		return nil, fmt.Errorf("regclient: schema %d is a %s schema, not Avro", id, s.Type)
	}
	parsed, err := ParseAvro(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("regclient: schema %d: %w", id, err)
	}
	// Keep the first parse when two goroutines raced, so every caller
	// holds the same instance (and hamba's codec caches see one schema).
	actual, _ := c.parsedID.LoadOrStore(id, parsed)
	return actual.(avro.Schema), nil
}

// forgetSubject drops the subject's (subject, schema) → id entries.
func (c *Client) forgetSubject(subject string) {
	c.ids.Range(func(k, _ any) bool {
		if k.(idKey).subject == subject {
			c.ids.Delete(k)
		}
		return true
	})
}
