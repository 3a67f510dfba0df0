package serde_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

const (
	userV1 = `{"type":"record","name":"User","namespace":"test","fields":[
		{"name":"name","type":"string"},
		{"name":"id","type":"long"}]}`
	// userV2 adds a field with a default: BACKWARD compatible (a v2 reader
	// reads v1 records) and FORWARD compatible (a v1 reader skips it).
	userV2 = `{"type":"record","name":"User","namespace":"test","fields":[
		{"name":"name","type":"string"},
		{"name":"id","type":"long"},
		{"name":"email","type":"string","default":"none@example.com"}]}`
	// userNoDefault adds a field without a default: it cannot read v1.
	userNoDefault = `{"type":"record","name":"User","namespace":"test","fields":[
		{"name":"name","type":"string"},
		{"name":"id","type":"long"},
		{"name":"age","type":"int"}]}`
)

type UserV1 struct {
	Name string `avro:"name"`
	ID   int64  `avro:"id"`
}

type UserV2 struct {
	Name  string `avro:"name"`
	ID    int64  `avro:"id"`
	Email string `avro:"email"`
}

func newSerializer(tb testing.TB, reg *regclient.Client, subject, schema string, autoRegister bool) *serde.AvroSerializer {
	tb.Helper()
	s, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: reg, Subject: subject, Schema: schema, AutoRegister: autoRegister})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newDeserializer(tb testing.TB, reg *regclient.Client, schema string) *serde.AvroDeserializer {
	tb.Helper()
	d, err := serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: reg, Schema: schema})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestAvroWireFormat checks the bytes against Confluent's layout, worked
// out by hand: magic 0, id 1 big-endian, then Avro's zig-zag varints and
// length-prefixed strings.
func TestAvroWireFormat(t *testing.T) {
	reg := startRegistry(t)
	s := newSerializer(t, reg.client(t), serde.ValueSubject("users"), userV1, true)
	got, err := s.Serialize(UserV1{Name: "ada", ID: -2})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0, 1, 6, 'a', 'd', 'a', 3}
	if !bytes.Equal(got, want) {
		t.Fatalf("Serialize = % x, want % x", got, want)
	}
	// The generic form and Append give the same bytes.
	m, err := s.Serialize(map[string]any{"name": "ada", "id": int64(-2)})
	if err != nil || !bytes.Equal(m, want) {
		t.Fatalf("Serialize(map) = % x, %v", m, err)
	}
	dst := []byte("prefix")
	dst, err = s.Append(dst, &UserV1{Name: "ada", ID: -2})
	if err != nil || !bytes.Equal(dst, append([]byte("prefix"), want...)) {
		t.Fatalf("Append = % x, %v", dst, err)
	}
	if id, err := s.ID(context.Background()); err != nil || id != 1 {
		t.Fatalf("ID = %d, %v", id, err)
	}
}

// TestAvroRoundTrip: struct and generic forms, both ways.
func TestAvroRoundTrip(t *testing.T) {
	reg := startRegistry(t)
	c := reg.client(t)
	s := newSerializer(t, c, "users-value", userV2, true)
	d := newDeserializer(t, c, userV2)
	in := UserV2{Name: "grace", ID: 1906, Email: "grace@example.com"}
	b, err := s.Serialize(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out UserV2
	if err := d.Deserialize(b, &out); err != nil || out != in {
		t.Fatalf("Deserialize = %+v, %v", out, err)
	}
	var m map[string]any
	if err := d.Deserialize(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "grace", "id": int64(1906), "email": "grace@example.com"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Deserialize(map) = %#v, want %#v", m, want)
	}
	// Generic in, struct out.
	b, err = s.Serialize(want)
	if err != nil {
		t.Fatal(err)
	}
	out = UserV2{}
	if err := d.Deserialize(b, &out); err != nil || out != in {
		t.Fatalf("Deserialize of a map's bytes = %+v, %v", out, err)
	}
	// No reader schema: read as written, into any.
	d0 := newDeserializer(t, c, "")
	var a any
	if err := d0.Deserialize(b, &a); err != nil || !reflect.DeepEqual(a, want) {
		t.Fatalf("Deserialize(any) without a reader schema = %#v, %v", a, err)
	}
	// Null is nil both ways.
	if b, err := s.Serialize(nil); b != nil || err != nil {
		t.Fatalf("Serialize(nil) = %v, %v", b, err)
	}
	if b, err := s.Serialize((*UserV2)(nil)); b != nil || err != nil {
		t.Fatalf("Serialize(nil pointer) = %v, %v", b, err)
	}
	if err := d.Deserialize(nil, &out); !errors.Is(err, serde.ErrNull) {
		t.Fatalf("Deserialize(nil) = %v", err)
	}
}

// TestAvroEvolution: v1 and v2 writers under one subject; a v2 reader
// reads both (the default fills v1's missing field), a v1 reader reads both
// (v2's extra field skipped), in struct and generic forms.
func TestAvroEvolution(t *testing.T) {
	reg := startRegistry(t)
	subject := serde.ValueSubject("users")
	w1 := newSerializer(t, reg.client(t), subject, userV1, true)
	w2 := newSerializer(t, reg.client(t), subject, userV2, true)
	rec1, err := w1.Serialize(UserV1{Name: "ada", ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec2, err := w2.Serialize(UserV2{Name: "grace", ID: 2, Email: "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if id1, id2 := rec1[4], rec2[4]; id1 != 1 || id2 != 2 {
		t.Fatalf("schema ids %d, %d; want 1, 2", id1, id2)
	}

	c := reg.client(t)
	r2 := newDeserializer(t, c, userV2)
	var u UserV2
	if err := r2.Deserialize(rec1, &u); err != nil || u != (UserV2{Name: "ada", ID: 1, Email: "none@example.com"}) {
		t.Fatalf("v2 reader, v1 record: %+v, %v", u, err)
	}
	if err := r2.Deserialize(rec2, &u); err != nil || u != (UserV2{Name: "grace", ID: 2, Email: "grace@example.com"}) {
		t.Fatalf("v2 reader, v2 record: %+v, %v", u, err)
	}
	var m map[string]any
	if err := r2.Deserialize(rec1, &m); err != nil || m["email"] != "none@example.com" || m["name"] != "ada" {
		t.Fatalf("v2 reader, v1 record, generic: %#v, %v", m, err)
	}

	r1 := newDeserializer(t, c, userV1)
	var u1 UserV1
	if err := r1.Deserialize(rec2, &u1); err != nil || u1 != (UserV1{Name: "grace", ID: 2}) {
		t.Fatalf("v1 reader, v2 record: %+v, %v", u1, err)
	}
	if err := r1.Deserialize(rec1, &u1); err != nil || u1 != (UserV1{Name: "ada", ID: 1}) {
		t.Fatalf("v1 reader, v1 record: %+v, %v", u1, err)
	}
	m = nil
	if err := r1.Deserialize(rec2, &m); err != nil || !reflect.DeepEqual(m, map[string]any{"name": "grace", "id": int64(2)}) {
		t.Fatalf("v1 reader, v2 record, generic: %#v, %v", m, err)
	}

	// A reader that needs a field v1 lacks, without a default, cannot read
	// v1 records; it can read its own.
	rn := newDeserializer(t, c, userNoDefault)
	if err := rn.Deserialize(rec1, &m); !errors.Is(err, serde.ErrIncompatible) {
		t.Fatalf("incompatible reader: %v", err)
	}
	// ... and the registry refuses to register it after v2 (BACKWARD).
	wn := newSerializer(t, c, subject, userNoDefault, true)
	if _, err := wn.Serialize(map[string]any{"name": "x", "id": int64(3), "age": 4}); !errors.Is(err, regclient.ErrIncompatible) {
		t.Fatalf("registering an incompatible schema: %v", err)
	}
}

// TestAvroLookupOnly: with AutoRegister off the schema is looked up, and
// its absence is the registry's error.
func TestAvroLookupOnly(t *testing.T) {
	reg := startRegistry(t)
	subject := serde.KeySubject("users")
	s := newSerializer(t, reg.client(t), subject, userV1, false)
	if _, err := s.Serialize(UserV1{Name: "x"}); !errors.Is(err, regclient.ErrSubjectNotFound) {
		t.Fatalf("unregistered subject: %v", err)
	}
	if _, err := newSerializer(t, reg.client(t), subject, userV2, true).Serialize(UserV2{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Serialize(UserV1{Name: "x"}); !errors.Is(err, regclient.ErrSchemaNotFound) {
		t.Fatalf("schema not under the subject: %v", err)
	}
	if _, err := newSerializer(t, reg.client(t), subject, userV1, true).Serialize(UserV1{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize(UserV1{Name: "x"})
	if err != nil || b[4] != 2 {
		t.Fatalf("looked-up schema: % x, %v", b, err)
	}
	// A schema spelt differently is the same schema.
	spaced := strings.Join(strings.Fields(userV1), "  \n ")
	b, err = newSerializer(t, reg.client(t), subject, spaced, false).Serialize(UserV1{Name: "x"})
	if err != nil || b[4] != 2 {
		t.Fatalf("respelt schema: % x, %v", b, err)
	}
}

// TestAvroErrors: every kind of bad input is a typed error.
func TestAvroErrors(t *testing.T) {
	reg := startRegistry(t)
	c := reg.client(t)
	s := newSerializer(t, c, "e-value", userV1, true)
	good, err := s.Serialize(UserV1{Name: "ada", ID: 7})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeserializer(t, c, userV1)
	var u UserV1
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"nil", nil, serde.ErrNull},
		{"empty", []byte{}, serde.ErrShortInput},
		{"short", good[:4], serde.ErrShortInput},
		{"magic", append([]byte{1}, good[1:]...), serde.ErrMagicByte},
		{"unknown id", append([]byte{0, 0, 0, 0, 99}, good[5:]...), serde.ErrUnknownSchema},
		{"unknown id, registry's error", append([]byte{0, 0, 0, 0, 99}, good[5:]...), regclient.ErrSchemaNotFound},
		{"negative id", append([]byte{0, 0xff, 0xff, 0xff, 0xff}, good[5:]...), serde.ErrUnknownSchema},
		{"truncated body", good[:len(good)-1], serde.ErrDecode},
		{"header only", good[:5], serde.ErrDecode},
		{"trailing bytes", append(append([]byte{}, good...), 0), serde.ErrDecode},
		{"string longer than the data", []byte{0, 0, 0, 0, 1, 0x7e, 'a'}, serde.ErrDecode},
		{"negative string length", []byte{0, 0, 0, 0, 1, 0x01, 'a', 2}, serde.ErrDecode},
	} {
		if err := d.Deserialize(tc.data, &u); !errors.Is(err, tc.want) {
			t.Errorf("%s: Deserialize(% x) = %v, want %v", tc.name, tc.data, err, tc.want)
		}
	}
	if err := d.Deserialize(good, u); err == nil {
		t.Errorf("Deserialize into a non-pointer succeeded")
	}
	if err := d.Deserialize(good, &u); err != nil || u != (UserV1{Name: "ada", ID: 7}) {
		t.Errorf("after errors, Deserialize = %+v, %v", u, err)
	}

	// Values that do not fit the schema.
	for _, v := range []any{
		map[string]any{"name": "x"},               // missing field
		map[string]any{"name": 3, "id": int64(1)}, // wrong type
		struct{ X int }{1},                        // unrelated struct
		"a string",
	} {
		if _, err := s.Serialize(v); !errors.Is(err, serde.ErrEncode) {
			t.Errorf("Serialize(%#v) = %v, want ErrEncode", v, err)
		}
	}
	// Config errors.
	if _, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: c, Subject: "s", Schema: `{"type":"nope"}`}); err == nil {
		t.Error("an invalid schema was accepted")
	}
	if _, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: c, Schema: userV1}); err == nil {
		t.Error("an empty subject was accepted")
	}
	if _, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Subject: "s", Schema: userV1}); err == nil {
		t.Error("a nil registry was accepted")
	}
	if _, err := serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: c, Schema: `[`}); err == nil {
		t.Error("an invalid reader schema was accepted")
	}
}

// TestAvroRegistryDown: a registry that cannot be reached is an error that
// names its URL, for the serializer and the deserializer; once it is back,
// both work (failures are not cached).
func TestAvroRegistryDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := regclient.New(regclient.Config{URLs: []string{"http://" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	s := newSerializer(t, c, "down-value", userV1, true)
	_, err = s.Serialize(UserV1{})
	if !errors.Is(err, regclient.ErrUnavailable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Serialize with the registry down: %v", err)
	}
	d := newDeserializer(t, c, "")
	var m map[string]any
	err = d.Deserialize([]byte{0, 0, 0, 0, 1, 0}, &m)
	if !errors.Is(err, regclient.ErrUnavailable) || errors.Is(err, serde.ErrUnknownSchema) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Deserialize with the registry down: %v", err)
	}
}

// TestAvroWarmCache: after one record each way, N more records ask the
// registry nothing, and neither does a second serializer sharing the
// client.
func TestAvroWarmCache(t *testing.T) {
	reg := startRegistry(t)
	c := reg.client(t)
	s := newSerializer(t, c, "warm-value", userV2, true)
	d := newDeserializer(t, c, userV2)
	d1 := newDeserializer(t, c, userV1)
	warm := func(v any) {
		b, err := s.Serialize(v)
		if err != nil {
			t.Fatal(err)
		}
		var u UserV2
		if err := d.Deserialize(b, &u); err != nil {
			t.Fatal(err)
		}
		var u1 UserV1
		if err := d1.Deserialize(b, &u1); err != nil {
			t.Fatal(err)
		}
	}
	warm(UserV2{Name: "warm"})
	before := reg.requests.Load()
	if before != 2 { // register, then one GET /schemas/ids/1 for both deserializers
		t.Errorf("warm-up made %d requests, want 2", before)
	}
	const n = 1000
	var buf []byte
	for i := range n {
		in := UserV2{Name: fmt.Sprint("u", i), ID: int64(i), Email: "e"}
		var err error
		if buf, err = s.Append(buf[:0], &in); err != nil {
			t.Fatal(err)
		}
		var out UserV2
		if err := d.Deserialize(buf, &out); err != nil || out != in {
			t.Fatalf("record %d: %+v, %v", i, out, err)
		}
	}
	s2 := newSerializer(t, c, "warm-value", userV2, true)
	if _, err := s2.Serialize(UserV2{}); err != nil {
		t.Fatal(err)
	}
	if after := reg.requests.Load(); after != before {
		t.Fatalf("%d records made %d registry requests, want none", n, after-before)
	}
}

// TestAvroConcurrent: one serializer and one deserializer shared by many
// goroutines from a cold start (run with -race).
func TestAvroConcurrent(t *testing.T) {
	reg := startRegistry(t)
	c := reg.client(t)
	s := newSerializer(t, c, "c-value", userV2, true)
	d := newDeserializer(t, c, userV1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := range 200 {
				in := UserV2{Name: fmt.Sprint(g, "-", i), ID: int64(i)}
				var err error
				if buf, err = s.Append(buf[:0], in); err != nil {
					errs <- err
					return
				}
				var out UserV1
				if err := d.Deserialize(buf, &out); err != nil || out.Name != in.Name || out.ID != in.ID {
					errs <- fmt.Errorf("goroutine %d record %d: %+v, %v", g, i, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := reg.requests.Load(); n != 2 {
		t.Errorf("%d registry requests, want 2 (one register, one schema fetch)", n)
	}
}

// TestAvroHostileBlockCounts: block counts hamba/avro would trust are
// refused before it decodes: 2^62 elements in a field the reader skips
// (which would loop for good), -2^63 elements (which would decode into a
// slice of negative length), more zero-size elements than allowed, and a
// block size that does not match the block.
func TestAvroHostileBlockCounts(t *testing.T) {
	reg := startRegistry(t)
	c := reg.client(t)
	const writer = `{"type":"record","name":"R","fields":[
		{"name":"keep","type":"int"},
		{"name":"ints","type":{"type":"array","items":"int"}},
		{"name":"nulls","type":{"type":"array","items":"null"}}]}`
	// The reader drops ints (skipped) but not nulls: hamba cannot skip a
	// null-typed schema.
	const reader = `{"type":"record","name":"R","fields":[
		{"name":"keep","type":"int"},
		{"name":"nulls","type":{"type":"array","items":"null"}}]}`
	s := newSerializer(t, c, "r-value", writer, true)
	good, err := s.Serialize(map[string]any{"keep": 1, "ints": []int{1, 2}, "nulls": []any{nil}})
	if err != nil {
		t.Fatal(err)
	}
	skipping := newDeserializer(t, c, reader)
	whole := newDeserializer(t, c, writer)
	var r map[string]any
	if err := skipping.Deserialize(good, &r); err != nil || !reflect.DeepEqual(r, map[string]any{"keep": 1, "nulls": []any{nil}}) {
		t.Fatalf("good record: %v, %v", r, err)
	}
	long := func(v int64) []byte { // zig-zag varint
		u := uint64(v<<1) ^ uint64(v>>63)
		var b []byte
		for u >= 0x80 {
			b = append(b, byte(u)|0x80)
			u >>= 7
		}
		return append(b, byte(u))
	}
	cat := func(parts ...[]byte) []byte {
		b := []byte{0, 0, 0, 0, 1, 2} // header, keep=1
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for name, data := range map[string][]byte{
		"2^62 ints":              cat(long(1<<62), long(1), []byte{0}, []byte{0}),
		"-2^63 ints":             cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{0}, []byte{0}),
		"2^62 nulls":             cat([]byte{0}, long(1<<62), []byte{0}),
		"too many nulls":         cat([]byte{0}, long(serde.DefaultMaxArrayLen/2), long(serde.DefaultMaxArrayLen/2+1), []byte{0}),
		"block size too small":   cat(long(-2), long(1), long(1), long(2), []byte{0}, []byte{0}),
		"block size too large":   cat(long(-2), long(3), long(1), long(2), []byte{0}, []byte{0}),
		"block size beyond data": cat(long(-1), long(100), long(1), []byte{0}, []byte{0}),
	} {
		var m map[string]any
		if err := whole.Deserialize(data, &m); !errors.Is(err, serde.ErrDecode) {
			t.Errorf("%s, whole: %v, want ErrDecode", name, err)
		}
		if err := skipping.Deserialize(data, &r); !errors.Is(err, serde.ErrDecode) {
			t.Errorf("%s, skipping: %v, want ErrDecode", name, err)
		}
	}
	// A block with its byte size, as Java's encoder may write, is fine.
	sized := cat(long(-2), long(2), long(1), long(2), []byte{0}, long(1), []byte{0})
	var m map[string]any
	if err := whole.Deserialize(sized, &m); err != nil || !reflect.DeepEqual(m["ints"], []any{1, 2}) {
		t.Errorf("sized block: %v, %v", m, err)
	}
	r = nil
	if err := skipping.Deserialize(sized, &r); err != nil || r["keep"] != 1 {
		t.Errorf("sized block, skipping: %v, %v", r, err)
	}
}
