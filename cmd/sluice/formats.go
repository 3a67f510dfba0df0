package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// formatNames are the --key-format and --value-format values, with
// Kafka's byte layouts (package serde).
const formatNames = "string, bytes, int, long, double or avro"

// format turns the text a user types into a record's key or value, and a
// record's key or value into text to print.
type format interface {
	encode(text string) ([]byte, error)
	decode(b []byte) (string, error)
}

// formatOptions say how to build a format.
type formatOptions struct {
	name         string // one of formatNames
	role         string // "key" or "value"
	topic        string
	schemaFile   string // avro: the writer's (produce) or reader's (consume) schema
	registry     string // comma-separated base URLs
	autoRegister bool
}

// newFormat builds the format o names; for avro it makes a registry client,
// which close releases.
func newFormat(ctx context.Context, o formatOptions) (f format, closeFn func(), err error) {
	closeFn = func() {}
	switch strings.ToLower(o.name) {
	case "", "string":
		return stringFormat{}, closeFn, nil
	case "bytes":
		return stringFormat{}, closeFn, nil // the bytes of the text, printed as they are
	case "int":
		return intFormat{}, closeFn, nil
	case "long":
		return longFormat{}, closeFn, nil
	case "double":
		return doubleFormat{}, closeFn, nil
	case "avro":
	default:
		return nil, closeFn, fmt.Errorf("--%s-format %q: want %s", o.role, o.name, formatNames)
	}
	var schemaText string
	if o.schemaFile != "" {
		b, err := os.ReadFile(o.schemaFile)
		if err != nil {
			return nil, closeFn, fmt.Errorf("--%s-schema: %w", o.role, err)
		}
		schemaText = string(b)
	}
	reg, err := regclient.New(regclient.Config{URLs: []string{o.registry}})
	if err != nil {
		return nil, closeFn, fmt.Errorf("--schema-registry: %w", err)
	}
	closeFn = reg.Close
	subject := serde.ValueSubject(o.topic)
	if o.role == "key" {
		subject = serde.KeySubject(o.topic)
	}
	af := &avroFormat{}
	return af.init(reg, subject, schemaText, o, closeFn)
}

type stringFormat struct{}

func (stringFormat) encode(text string) ([]byte, error) { return serde.EncodeString(text), nil }
func (stringFormat) decode(b []byte) (string, error)    { return string(b), nil }

type intFormat struct{}

func (intFormat) encode(text string) ([]byte, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%q is not an int (32 bits)", text)
	}
	return serde.EncodeInt32(int32(n)), nil
}

func (intFormat) decode(b []byte) (string, error) {
	n, err := serde.DecodeInt32(b)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(int64(n), 10), nil
}

type longFormat struct{}

func (longFormat) encode(text string) ([]byte, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a long (64 bits)", text)
	}
	return serde.EncodeInt64(n), nil
}

func (longFormat) decode(b []byte) (string, error) {
	n, err := serde.DecodeInt64(b)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(n, 10), nil
}

type doubleFormat struct{}

func (doubleFormat) encode(text string) ([]byte, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a double", text)
	}
	return serde.EncodeFloat64(f), nil
}

func (doubleFormat) decode(b []byte) (string, error) {
	f, err := serde.DecodeFloat64(b)
	if err != nil {
		return "", err
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// avroFormat writes JSON lines as Avro in Confluent's wire format, and
// prints Avro records as JSON.
type avroFormat struct {
	schema avro.Schema // the writer's (produce), nil when consuming
	ser    *serde.AvroSerializer
	de     *serde.AvroDeserializer
}

func (a *avroFormat) init(reg *regclient.Client, subject, schemaText string, o formatOptions, closeFn func()) (format, func(), error) {
	var err error
	if a.de, err = serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: reg, Schema: schemaText}); err != nil {
		return nil, closeFn, fmt.Errorf("--%s-schema: %w", o.role, err)
	}
	if schemaText == "" {
		return a, closeFn, nil // consuming: each record read as written
	}
	if a.ser, err = serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: reg, Subject: subject, Schema: schemaText, AutoRegister: o.autoRegister}); err != nil {
		return nil, closeFn, fmt.Errorf("--%s-schema: %w", o.role, err)
	}
	a.schema = a.ser.Schema()
	return a, closeFn, nil
}

// ready asks the registry for the writer schema's id once, up front, so
// that a refused schema stops the command before any record is read.
func (a *avroFormat) ready(ctx context.Context) error {
	if a.ser == nil {
		return nil
	}
	_, err := a.ser.ID(ctx)
	return err
}

func (a *avroFormat) encode(text string) ([]byte, error) {
	if a.ser == nil {
		return nil, errors.New("avro needs a writer schema: --value-schema (or --key-schema) FILE")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	native, err := fromJSON(a.schema, v, "")
	if err != nil {
		return nil, err
	}
	return a.ser.Serialize(native)
}

func (a *avroFormat) decode(b []byte) (string, error) {
	var v any
	if err := a.de.Deserialize(b, &v); err != nil {
		return "", err
	}
	out, err := json.Marshal(toJSON(v))
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// fromJSON turns a decoded JSON value into what hamba/avro encodes with
// schema s: Avro's JSON encoding (a union's value as {"type": value}), or a
// union of null and one type given bare, as people write it. path names
// the place for errors.
func fromJSON(s avro.Schema, v any, path string) (any, error) {
	at := func() string {
		if path == "" {
			return "the value"
		}
		return path
	}
	bad := func(want string) (any, error) {
		return nil, fmt.Errorf("%s: %s is not %s", at(), short(v), want)
	}
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema() // a named type used again
	}
	switch s := s.(type) {
	case *avro.PrimitiveSchema:
		switch s.Type() {
		case avro.Null:
			if v != nil {
				return bad("null")
			}
			return nil, nil
		case avro.Boolean:
			if b, ok := v.(bool); ok {
				return b, nil
			}
			return bad("a boolean")
		case avro.Int, avro.Long:
			n, ok := v.(json.Number)
			if !ok {
				return bad("an integer")
			}
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return bad("an integer")
			}
			if s.Type() == avro.Int {
				if i < math.MinInt32 || i > math.MaxInt32 {
					return bad("an int (32 bits)")
				}
				return int(i), nil
			}
			return i, nil
		case avro.Float, avro.Double:
			n, ok := v.(json.Number)
			if !ok {
				return bad("a number")
			}
			f, err := n.Float64()
			if err != nil {
				return bad("a number")
			}
			if s.Type() == avro.Float {
				return float32(f), nil
			}
			return f, nil
		case avro.String:
			if str, ok := v.(string); ok {
				return str, nil
			}
			return bad("a string")
		case avro.Bytes:
			if str, ok := v.(string); ok {
				if b, ok := avroJSONBytes(str); ok {
					return b, nil
				}
			}
			return bad(`a string of bytes (characters \u0000 to \u00ff, one a byte)`)
		}
	case *avro.EnumSchema:
		if str, ok := v.(string); ok {
			return str, nil
		}
		return bad("an enum symbol")
	case *avro.FixedSchema:
		str, _ := v.(string)
		b, ok := avroJSONBytes(str)
		if !ok || len(b) != s.Size() {
			return bad(fmt.Sprintf("a string of %d bytes (characters \\u0000 to \\u00ff, one a byte)", s.Size()))
		}
		// hamba encodes a fixed from a Go array of its size.
		arr := reflect.New(reflect.ArrayOf(s.Size(), reflect.TypeOf(byte(0)))).Elem()
		reflect.Copy(arr, reflect.ValueOf(b))
		return arr.Interface(), nil
	case *avro.ArraySchema:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			var err error
			if out[i], err = fromJSON(s.Items(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.MapSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = fromJSON(s.Values(), e, join(path, k)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *avro.RecordSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object (record " + s.FullName() + ")")
		}
		out := make(map[string]any, len(s.Fields()))
		for _, f := range s.Fields() {
			e, ok := m[f.Name()]
			if !ok {
				if !f.HasDefault() {
					return nil, fmt.Errorf("%s: field %q is missing and has no default", at(), f.Name())
				}
				out[f.Name()] = f.Default()
				continue
			}
			var err error
			if out[f.Name()], err = fromJSON(f.Type(), e, join(path, f.Name())); err != nil {
				return nil, err
			}
		}
		for k := range m {
			if !hasField(s, k) {
				return nil, fmt.Errorf("%s: record %s has no field %q", at(), s.FullName(), k)
			}
		}
		return out, nil
	case *avro.UnionSchema:
		if v == nil {
			if !s.Nullable() && !s.Contains(avro.Null) {
				return bad("any of the union's types")
			}
			return nil, nil
		}
		if s.Nullable() {
			// A union of null and one type: the value bare, as people
			// write it, or wrapped, as Avro's JSON encoding does.
			_, i := s.Indices()
			t := s.Types()[i]
			inner := v
			if m, ok := v.(map[string]any); ok && len(m) == 1 {
				if e, ok := m[unionName(t)]; ok {
					inner = e
				}
			}
			out, err := fromJSON(t, inner, path)
			if err != nil {
				return nil, err
			}
			if unwrappable(t) {
				return out, nil
			}
			// hamba takes a named or composite branch wrapped in its
			// name, like any union's.
			return map[string]any{unionName(t): out}, nil
		}
		m, ok := v.(map[string]any)
		if ok && len(m) == 1 {
			for name, e := range m {
				for _, t := range s.Types() {
					if unionName(t) == name {
						inner, err := fromJSON(t, e, path)
						if err != nil {
							return nil, err
						}
						return map[string]any{name: inner}, nil
					}
				}
			}
		}
		return bad(`a union value written {"type": value}`)
	}
	return nil, fmt.Errorf("%s: schema type %s is not supported here", at(), s.Type())
}

// unwrappable reports whether hamba takes a value of type t bare as the
// non-null branch of a nullable union: the primitives.
func unwrappable(t avro.Schema) bool {
	_, ok := t.(*avro.PrimitiveSchema)
	return ok
}

// avroJSONBytes decodes bytes as Avro's JSON encoding writes them: each
// character from U+0000 to U+00FF one byte.
func avroJSONBytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// unionName is how Avro's JSON encoding names a union branch.
func unionName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func hasField(r *avro.RecordSchema, name string) bool {
	for _, f := range r.Fields() {
		if f.Name() == name {
			return true
		}
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(bytes.TrimSpace(b))
}

// toJSON makes a decoded Avro value printable as JSON: bytes as text, as
// Avro's JSON encoding writes them.
func toJSON(v any) any {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
		b := make([]byte, rv.Len()) // a fixed
		reflect.Copy(reflect.ValueOf(b), rv)
		v = b
	}
	switch v := v.(type) {
	case []byte:
		// Avro's JSON encoding: each byte the character of its value.
		r := make([]rune, len(v))
		for i, c := range v {
			r[i] = rune(c)
		}
		return string(r)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = toJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toJSON(e)
		}
		return out
	}
	return v
}

// defaultSchemaRegistry is --schema-registry's default: the environment's
// SLUICE_SCHEMA_REGISTRY, else make run's registry.
func defaultSchemaRegistry() string {
	if v := os.Getenv(registryEnv); v != "" {
		return v
	}
	return defaultRegistry
}
