package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// TestAvroJSONInput: the CLI's JSON lines become Avro for the schemas
// people write: named types used twice, null-or-X unions of every kind of
// X (bare or wrapped as Avro's JSON encoding wraps them), fixed, and bytes
// as Avro's JSON encoding writes them (U+0000-U+00FF, one a byte); and
// read back as JSON.
func TestAvroJSONInput(t *testing.T) {
	cases := []struct{ name, schema, value, want string }{
		{"named type used twice (RefSchema)", `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}},{"name":"b","type":"P"}]}`, `{"a":{"x":1},"b":{"x":2}}`, `{"a":{"x":1},"b":{"x":2}}`},
		{"nullable enum", `{"type":"record","name":"R","fields":[{"name":"e","type":["null",{"type":"enum","name":"E","symbols":["A","B"]}]}]}`, `{"e":"A"}`, `{"e":{"E":"A"}}`},
		{"nullable record", `{"type":"record","name":"R","fields":[{"name":"p","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]}]}`, `{"p":{"x":1}}`, `{"p":{"P":{"x":1}}}`},
		{"nullable fixed", `{"type":"record","name":"R","fields":[{"name":"f","type":["null",{"type":"fixed","name":"F","size":2}]}]}`, `{"f":"ab"}`, `{"f":{"F":"ab"}}`},
		{"bytes as Avro JSON (\\u00ff is one byte)", `{"type":"record","name":"R","fields":[{"name":"b","type":{"type":"fixed","name":"F1","size":1}}]}`, `{"b":"\u00ff"}`, `{"b":"ÿ"}`},
		{"fixed (not in a union)", `{"type":"record","name":"R","fields":[{"name":"f","type":{"type":"fixed","name":"F","size":2}}]}`, `{"f":"ab"}`, `{"f":"ab"}`},
		{"nullable record, 2 fields", `{"type":"record","name":"R","fields":[{"name":"p","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}]}]}`, `{"p":{"x":1,"y":2}}`, `{"p":{"P":{"x":1,"y":2}}}`},
		{"nullable record wrapped", `{"type":"record","name":"R","fields":[{"name":"p","type":["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]}]}`, `{"p":{"P":{"x":1}}}`, `{"p":{"P":{"x":1}}}`},
		{"union of record and string, wrapped", `{"type":"record","name":"R","fields":[{"name":"p","type":["string",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]}]}`, `{"p":{"P":{"x":1}}}`, `{"p":{"P":{"x":1}}}`},
		{"nullable map", `{"type":"record","name":"R","fields":[{"name":"m","type":["null",{"type":"map","values":"int"}]}]}`, `{"m":{"k":1}}`, `{"m":{"map":{"k":1}}}`},
		{"nullable array", `{"type":"record","name":"R","fields":[{"name":"a","type":["null",{"type":"array","items":"int"}]}]}`, `{"a":[1,2]}`, `{"a":{"array":[1,2]}}`},
		{"nullable long", `{"type":"record","name":"R","fields":[{"name":"l","type":["null","long"]}]}`, `{"l":9007199254740993}`, `{"l":9007199254740993}`},
	}
	for _, c := range cases {
		s, err := avro.ParseWithCache(c.schema, "", &avro.SchemaCache{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		dec := json.NewDecoder(strings.NewReader(c.value))
		dec.UseNumber()
		var v any
		dec.Decode(&v)
		native, err := fromJSON(s, v, "")
		if err != nil {
			t.Errorf("%s: fromJSON: %v", c.name, err)
			continue
		}
		b, err := avro.Marshal(s, native)
		if err != nil {
			t.Errorf("%s: encode: %v", c.name, err)
			continue
		}
		var back any
		if err := avro.Unmarshal(s, b, &back); err != nil {
			t.Errorf("%s: decode: %v", c.name, err)
			continue
		}
		out, err := json.Marshal(toJSON(back))
		if err != nil || string(out) != c.want {
			t.Errorf("%s: read back as %s (%v), want %s", c.name, out, err, c.want)
		}
	}
}
