package schemareg

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/compat"
)

const (
	typeAvro = "AVRO"
	// defaultLevel is the registry's compatibility level until one is
	// set: Confluent's default.
	defaultLevel = "BACKWARD"
)

// SchemaRequest is the body of a register, look-up or compatibility
// request.
type SchemaRequest struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType,omitempty"`
	References []json.RawMessage `json:"references,omitempty"`
}

// parseSchema validates a request's schema and returns it normalised
// (compact JSON: the same schema written with other spacing is the same
// schema, with the same id) and parsed.
func parseSchema(req *SchemaRequest) (string, avro.Schema, *Error) {
	typ := strings.ToUpper(req.SchemaType)
	if typ == "" {
		typ = typeAvro
	}
	if typ != typeAvro {
		return "", nil, apiErr(http.StatusUnprocessableEntity, codeInvalidSchema,
			"Unsupported schema type %s: this registry holds AVRO schemas (JSON Schema and Protobuf are not supported yet)", req.SchemaType)
	}
	if len(req.References) > 0 {
		return "", nil, apiErr(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: schema references are not supported")
	}
	if strings.TrimSpace(req.Schema) == "" {
		return "", nil, apiErr(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: empty")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(req.Schema)); err != nil {
		return "", nil, apiErr(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: not JSON: %v", err)
	}
	s, err := parseAvro(buf.String())
	if err != nil {
		return "", nil, apiErr(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: %v", err)
	}
	return buf.String(), s, nil
}

// normalise is a schema's identity: its JSON with object keys in one order
// and a primitive type written {"type":"string"} as "string", so that the
// same schema written another way has the same id and is found by a
// look-up, as Confluent compares Avro's canonical string. Unlike Avro's
// Parsing Canonical Form it keeps defaults, aliases and docs: schemas that
// differ in a default are different schemas for evolution.
func normalise(text string) string {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return text
	}
	b, err := json.Marshal(collapse(v))
	if err != nil {
		return text
	}
	return string(b)
}

// collapse writes each {"type": primitive} alone as the primitive's name.
func collapse(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if t, ok := v["type"].(string); ok && len(v) == 1 && primitives[t] {
			return t
		}
		for k, e := range v {
			v[k] = collapse(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = collapse(e)
		}
		return v
	}
	return v
}

var primitives = map[string]bool{"null": true, "boolean": true, "int": true, "long": true, "float": true, "double": true, "bytes": true, "string": true}

// parseAvro parses a schema with a cache of its own: hamba's default cache
// is process-wide and keyed by name, and two versions of one record must
// not see each other's definitions.
func parseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// parsed returns the id's schema, parsing it once.
func (s *state) parsed(id int) (avro.Schema, error) {
	info := s.schemas[id]
	if p, ok := info.parsed.Load().(avro.Schema); ok {
		return p, nil
	}
	p, err := parseAvro(info.text)
	if err != nil {
		return nil, err
	}
	info.parsed.Store(p) // two readers may both parse: either parse is the schema
	return p, nil
}

// RegisterResult is a registration's answer.
type RegisterResult struct {
	ID int `json:"id"`
}

// Register registers req under subject, or finds it there: Confluent's
// POST /subjects/{subject}/versions.
func (r *Registry) Register(subject string, req *SchemaRequest) (RegisterResult, error) {
	text, cand, e := parseSchema(req)
	if e != nil {
		return RegisterResult{}, e
	}
	if e := checkSubject(subject); e != nil {
		return RegisterResult{}, e
	}
	var res RegisterResult
	err := r.write(func(st *state) (*pending, error) {
		live := st.live(subject, false)
		norm := normalise(text)
		for _, v := range live {
			if st.schemas[v.id].norm == norm {
				res.ID = v.id
				return nil, nil // registered already: the same id, nothing written
			}
		}
		if err := st.check(st.level(subject), cand, live, nil); err != nil {
			return nil, err
		}
		id, known := st.byText[norm]
		if !known {
			if st.maxID >= maxID {
				return nil, apiErr(http.StatusInternalServerError, codeBackend, "no schema id left")
			}
			id = st.maxID + 1
		}
		next := 1
		if all := st.subjects[subject]; len(all) > 0 {
			next = all[len(all)-1].version + 1
		}
		if next > maxVersion {
			return nil, apiErr(http.StatusUnprocessableEntity, codeInvalidVersion, "subject '%s' has no version number left", subject)
		}
		w := &pending{}
		if !known {
			w.add(idKey(), idValue{ID: id})
		}
		// Only AVRO is registered, which Confluent's records leave
		// without a schemaType.
		w.add(schemaKey(subject, next), schemaValue{Subject: subject, Version: next, ID: id, Schema: text})
		res.ID = id
		return w, nil
	})
	return res, err
}

// check returns an *Error listing why cand may not follow versions under
// level, or nil. against, when set, is the one version to check against
// (the compatibility API's); otherwise the level says which.
func (s *state) check(level string, cand avro.Schema, versions []version, against *version) error {
	lvl, err := compat.ParseLevel(level)
	if err != nil {
		return apiErr(http.StatusInternalServerError, codeBackend, "stored compatibility level %q: %v", level, err)
	}
	if against != nil {
		versions = []version{*against} // transitive or not, one version is one check
	}
	existing := make([]compat.Version, 0, len(versions))
	for _, v := range versions {
		p, err := s.parsed(v.id)
		if err != nil {
			return apiErr(http.StatusInternalServerError, codeBackend, "stored schema %d does not parse: %v", v.id, err)
		}
		existing = append(existing, compat.Version{Number: v.version, Schema: p})
	}
	err = compat.CheckVersions(lvl, cand, existing)
	var inc *compat.IncompatibleError
	switch {
	case errors.As(err, &inc):
		return &Error{Status: http.StatusConflict, Code: codeIncompatible,
			Message: "Schema being registered is incompatible with an earlier schema for subject; details: " + strings.Join(inc.Messages(), "; "),
			details: inc.Messages()}
	case err != nil:
		return apiErr(http.StatusInternalServerError, codeBackend, "checking compatibility: %v", err)
	}
	return nil
}

// checkSubject refuses names a registry cannot hold.
func checkSubject(subject string) *Error {
	if subject == "" || len(subject) > 1024 || strings.ContainsAny(subject, "\x00") {
		return apiErr(http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid subject name %.40q", subject)
	}
	return nil
}
