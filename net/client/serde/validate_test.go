package serde

import (
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

func mustParse(t testing.TB, s string) avro.Schema {
	t.Helper()
	p, err := regclient.ParseAvro(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestValidate checks validate against a value hamba encodes, every
// prefix of it, and hand-made bytes at each rule's edge.
func TestValidate(t *testing.T) {
	type R2 struct {
		X float32 `avro:"x"`
	}
	type R struct {
		I int32          `avro:"i"`
		E string         `avro:"e"`
		U *string        `avro:"u"`
		B bool           `avro:"b"`
		F [2]byte        `avro:"f"`
		M map[string]R2  `avro:"m"`
		L []int64        `avro:"l"`
		D float64        `avro:"d"`
		Y []byte         `avro:"y"`
		N []*struct{}    `avro:"n"`
		T map[string]any `avro:"t"`
	}
	schema := mustParse(t, `{"type":"record","name":"R","fields":[
		{"name":"i","type":"int"},
		{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
		{"name":"u","type":["null","string"]},
		{"name":"b","type":"boolean"},
		{"name":"f","type":{"type":"fixed","name":"F","size":2}},
		{"name":"m","type":{"type":"map","values":{"type":"record","name":"R2","fields":[{"name":"x","type":"float"}]}}},
		{"name":"l","type":{"type":"array","items":"long"}},
		{"name":"d","type":"double"},
		{"name":"y","type":"bytes"},
		{"name":"n","type":{"type":"array","items":{"type":"record","name":"Z","fields":[]}}},
		{"name":"t","type":{"type":"map","values":"R2"}}]}`)
	str := "s"
	good, err := avro.Marshal(schema, R{I: -1, E: "B", U: &str, B: true, F: [2]byte{1, 2},
		M: map[string]R2{"k": {1}}, L: []int64{1 << 40, -3}, D: 2.5, Y: []byte("yy"),
		N: []*struct{}{{}, {}}, T: map[string]any{"q": map[string]any{"x": float32(2)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(schema, good); err != nil {
		t.Fatalf("validate(hamba's encoding) = %v", err)
	}
	for n := range len(good) {
		if err := validate(schema, good[:n]); err == nil {
			t.Errorf("validate accepted the first %d of %d bytes", n, len(good))
		}
	}
	if err := validate(schema, append(good, 0)); err == nil || !strings.Contains(err.Error(), "left after") {
		t.Errorf("validate with a trailing byte = %v", err)
	}

	for _, tc := range []struct {
		schema string
		b      []byte
		ok     bool
	}{
		{`"int"`, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, true},
		{`"int"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, false}, // 6 bytes
		{`"long"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true},
		{`"long"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, false}, // overflows
		{`"boolean"`, []byte{1}, true},
		{`"boolean"`, []byte{2}, false},
		{`"string"`, []byte{1}, false}, // length -1
		{`"string"`, []byte{4, 'a'}, false},
		{`"null"`, []byte{}, true},
		{`{"type":"enum","name":"E","symbols":["A"]}`, []byte{2}, false},
		{`{"type":"enum","name":"E","symbols":["A"]}`, []byte{1}, false}, // -1
		{`["null","int"]`, []byte{4}, false},
		{`["null","int"]`, []byte{2, 2}, true},
		{`{"type":"array","items":"int"}`, []byte{3, 4, 2, 4, 0}, true},  // count -2, size 2
		{`{"type":"array","items":"int"}`, []byte{3, 2, 2, 4, 0}, false}, // size 1 for 2 bytes
		{`{"type":"array","items":"null"}`, []byte{4, 0}, true},
		{`{"type":"map","values":"null"}`, []byte{2, 0, 0}, true}, // one entry, key ""
		{`{"type":"map","values":"null"}`, []byte{4, 0}, false},   // keys missing
	} {
		err := validate(mustParse(t, tc.schema), tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("validate(%s, % x) = %v, want ok=%v", tc.schema, tc.b, err, tc.ok)
		}
	}

	// Depth: a recursive list as deep as maxDepth allows, and deeper.
	list := mustParse(t, `{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`)
	deep := func(n int) []byte {
		b := make([]byte, 0, n+1)
		for range n {
			b = append(b, 2)
		}
		return append(b, 0)
	}
	if err := validate(list, deep(maxDepth-1)); err != nil {
		t.Errorf("list of %d: %v", maxDepth-1, err)
	}
	if err := validate(list, deep(maxDepth+1)); err == nil {
		t.Errorf("list of %d accepted", maxDepth+1)
	}
}

func BenchmarkValidate(b *testing.B) {
	s := mustParse(b, `{"type":"record","name":"User","namespace":"test","fields":[
		{"name":"name","type":"string"},
		{"name":"id","type":"long"},
		{"name":"email","type":"string","default":"none@example.com"}]}`)
	body, err := avro.Marshal(s, map[string]any{"name": "grace", "id": int64(1906), "email": "grace@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := validate(s, body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzValidate checks validate against hamba/avro itself: bytes validate
// accepts decode without error, to the last byte. (The other way round
// does not hold, by design: hamba accepts a count of -2^63.)
func FuzzValidate(f *testing.F) {
	s := mustParse(f, `{"type":"record","name":"Node","fields":[
		{"name":"id","type":"int"},
		{"name":"label","type":["null","string","bytes",{"type":"fixed","name":"F3","size":3}]},
		{"name":"weights","type":{"type":"map","values":{"type":"array","items":"float"}}},
		{"name":"flags","type":{"type":"array","items":"boolean"}},
		{"name":"gaps","type":{"type":"array","items":"null"}},
		{"name":"color","type":{"type":"enum","name":"Color","symbols":["R","G","B"]}},
		{"name":"children","type":{"type":"array","items":"Node"}},
		{"name":"next","type":["null","Node"]}]}`)
	leaf := map[string]any{"id": 1, "label": nil, "weights": map[string]any{}, "flags": []any{},
		"gaps": []any{}, "color": "R", "children": []any{}, "next": nil}
	root := map[string]any{"id": -7, "label": map[string]any{"string": "x"},
		"weights": map[string]any{"a": []any{float32(1), float32(2)}}, "flags": []any{true, false},
		"gaps": []any{nil, nil, nil}, "color": "B", "children": []any{leaf, leaf},
		"next": map[string]any{"Node": leaf}}
	for _, v := range []any{leaf, root} {
		b, err := avro.Marshal(s, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0})
	api := avro.Config{MaxSliceAllocSize: DefaultMaxArrayLen}.Freeze()
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(api))
	f.Fuzz(func(t *testing.T, b []byte) {
		if validate(s, b) != nil {
			return
		}
		r.Reset(b)
		r.Error = nil
		var v any
		r.ReadVal(s, &v)
		if r.Error != nil {
			t.Fatalf("validate accepted % x; hamba: %v", b, r.Error)
		}
		if r.Peek(); r.Error == nil {
			t.Fatalf("validate accepted % x; hamba left bytes unread", b)
		}
	})
}
