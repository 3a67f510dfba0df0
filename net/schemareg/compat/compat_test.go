package compat

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

// parse parses with a cache of its own: avro.Parse shares one
// process-wide cache of named types, through which one test's "User"
// would leak into the next test's schema.
func parse(t testing.TB, s string) avro.Schema {
	t.Helper()
	sch, err := avro.ParseWithCache(s, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return sch
}

// user is record com.acme.User with the given fields (JSON, comma
// separated).
func user(fields string) string {
	return `{"type":"record","name":"User","namespace":"com.acme","fields":[` + fields + `]}`
}

// ok marks a direction that must pass.
const ok = ""

// evolution is one change from an old schema to a new one, with what each
// direction must say: ok, or a substring of the refusal.
type evolution struct {
	name     string
	old, new string
	backward string // the new schema reads the old one's data
	forward  string // the old schema reads the new one's data
	// hambaDiffers names a direction in which hamba's checker gives the
	// other verdict, where it departs from the specification (see
	// resolve.go); elsewhere the two must agree.
	hambaDiffers Level
}

var evolutions = []evolution{
	{
		name:     "add optional field with default",
		old:      user(`{"name":"id","type":"int"}`),
		new:      user(`{"name":"id","type":"int"},{"name":"email","type":["null","string"],"default":null}`),
		backward: ok, forward: ok,
	},
	{
		name:     "add required field without default",
		old:      user(`{"name":"id","type":"int"}`),
		new:      user(`{"name":"id","type":"int"},{"name":"email","type":"string"}`),
		backward: `reader field "email" of record "com.acme.User" has no default and is missing from the writer's schema`,
		forward:  ok,
	},
	{
		name:     "remove field with default",
		old:      user(`{"name":"id","type":"int"},{"name":"email","type":"string","default":""}`),
		new:      user(`{"name":"id","type":"int"}`),
		backward: ok, forward: ok,
	},
	{
		name:     "remove field without default",
		old:      user(`{"name":"id","type":"int"},{"name":"email","type":"string"}`),
		new:      user(`{"name":"id","type":"int"}`),
		backward: ok,
		forward:  `reader field "email" of record "com.acme.User" has no default`,
	},
	{
		name:     "rename field via alias",
		old:      user(`{"name":"id","type":"int"},{"name":"mail","type":"string"}`),
		new:      user(`{"name":"id","type":"int"},{"name":"email","type":"string","aliases":["mail"]}`),
		backward: ok,
		forward:  `reader field "mail" of record "com.acme.User" has no default`,
	},
	{
		// The reader's "b" reads the writer's "b", not the writer's "a"
		// its alias names: aliases are for a writer without the name.
		name:         "field of the same name wins over an alias",
		old:          user(`{"name":"a","type":"string"},{"name":"b","type":"int"}`),
		new:          user(`{"name":"b","type":"int","aliases":["a"]}`),
		backward:     ok,
		forward:      `reader field "a" of record "com.acme.User" has no default`,
		hambaDiffers: Backward,
	},
	{
		name:     "widen int to long",
		old:      user(`{"name":"n","type":"int"}`),
		new:      user(`{"name":"n","type":"long"}`),
		backward: ok,
		forward:  `field "n" of record "com.acme.User": the reader's int cannot read the writer's long: Avro widens numbers`,
	},
	{
		name:     "narrow long to int",
		old:      user(`{"name":"n","type":"long"}`),
		new:      user(`{"name":"n","type":"int"}`),
		backward: `field "n" of record "com.acme.User": the reader's int cannot read the writer's long`,
		forward:  ok,
	},
	{
		name:     "widen float to double",
		old:      user(`{"name":"n","type":"float"}`),
		new:      user(`{"name":"n","type":"double"}`),
		backward: ok,
		forward:  `the reader's float cannot read the writer's double`,
	},
	{
		name:     "string to bytes and back",
		old:      user(`{"name":"s","type":"string"}`),
		new:      user(`{"name":"s","type":"bytes"}`),
		backward: ok, forward: ok,
	},
	{
		name:     "change field type string to int",
		old:      user(`{"name":"s","type":"string"}`),
		new:      user(`{"name":"s","type":"int"}`),
		backward: `field "s" of record "com.acme.User": the reader's int cannot read the writer's string`,
		forward:  `field "s" of record "com.acme.User": the reader's string cannot read the writer's int`,
	},
	{
		name:     "add enum symbol",
		old:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}}`),
		new:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}}`),
		backward: ok,
		forward:  `field "c" of record "com.acme.User": the reader's enum "com.acme.Color" lacks the writer's symbol BLUE and has no default symbol`,
	},
	{
		name:     "add enum symbol to an enum with a default",
		old:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"],"default":"RED"}}`),
		new:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"],"default":"RED"}}`),
		backward: ok, forward: ok,
	},
	{
		name:     "remove enum symbols",
		old:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE","TEAL"]}}`),
		new:      user(`{"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}}`),
		backward: `lacks the writer's symbols BLUE, TEAL`,
		forward:  ok,
	},
	{
		name:     "rename enum via alias",
		old:      user(`{"name":"c","type":{"type":"enum","name":"Colour","symbols":["RED"]}}`),
		new:      user(`{"name":"c","type":{"type":"enum","name":"Color","aliases":["Colour"],"symbols":["RED"]}}`),
		backward: ok,
		forward:  `the reader's enum "com.acme.Colour" cannot read the writer's enum "com.acme.Color": the names differ and the reader has no alias "com.acme.Color"`,
	},
	{
		name:     "add union branch",
		old:      user(`{"name":"v","type":["null","string"]}`),
		new:      user(`{"name":"v","type":["null","string","int"]}`),
		backward: ok,
		forward:  `field "v" of record "com.acme.User": the reader's union [null, string] has no branch that can read the writer's int`,
	},
	{
		name:     "remove union branch",
		old:      user(`{"name":"v","type":["null","string","int"]}`),
		new:      user(`{"name":"v","type":["null","string"]}`),
		backward: `the reader's union [null, string] has no branch that can read the writer's int`,
		forward:  ok,
	},
	{
		// An int written into a union the reader widened to long reads.
		name:     "union branch read by promotion",
		old:      user(`{"name":"v","type":["null","int"]}`),
		new:      user(`{"name":"v","type":["null","long"]}`),
		backward: ok,
		forward:  `the reader's union [null, int] has no branch that can read the writer's long`,
	},
	{
		name:     "make field nullable",
		old:      user(`{"name":"s","type":"string"}`),
		new:      user(`{"name":"s","type":["null","string"],"default":null}`),
		backward: ok,
		forward:  `field "s" of record "com.acme.User": the writer's union [null, string] has a branch null that the reader's string cannot read`,
	},
	{
		name: "nested record evolution",
		old: user(`{"name":"address","type":{"type":"record","name":"Address","fields":[
			{"name":"street","type":"string"}]}}`),
		new: user(`{"name":"address","type":{"type":"record","name":"Address","fields":[
			{"name":"street","type":"string"},{"name":"zip","type":"string"}]}}`),
		backward: `reader field "zip" of record "com.acme.Address" at "address.zip" has no default and is missing from the writer's schema`,
		forward:  ok,
	},
	{
		// The reader's union has a branch for Address that does not
		// resolve: its reason, not "no branch fits", is the one to give.
		name: "nested optional record evolution",
		old: user(`{"name":"address","type":["null",{"type":"record","name":"Address","fields":[
			{"name":"street","type":"string"}]}],"default":null}`),
		new: user(`{"name":"address","type":["null",{"type":"record","name":"Address","fields":[
			{"name":"street","type":"string"},{"name":"zip","type":"int"}]}],"default":null}`),
		backward: `reader field "zip" of record "com.acme.Address" at "address.zip" has no default`,
		forward:  ok,
	},
	{
		name: "deeply nested type change",
		old: user(`{"name":"a","type":{"type":"record","name":"A","fields":[
			{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"n","type":"long"}]}}]}}`),
		new: user(`{"name":"a","type":{"type":"record","name":"A","fields":[
			{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"n","type":"int"}]}}]}}`),
		backward: `field "n" of record "com.acme.B" at "a.b.n": the reader's int cannot read the writer's long`,
		forward:  ok,
	},
	{
		name:     "array items widened",
		old:      user(`{"name":"tags","type":{"type":"array","items":"int"}}`),
		new:      user(`{"name":"tags","type":{"type":"array","items":"long"}}`),
		backward: ok,
		forward:  `field "tags" of record "com.acme.User" at "tags[]": the reader's int cannot read the writer's long`,
	},
	{
		name: "array of records gains a required field",
		old: user(`{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
			{"name":"sku","type":"string"}]}}}`),
		new: user(`{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
			{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}}`),
		backward: `reader field "qty" of record "com.acme.Line" at "lines[].qty" has no default`,
		forward:  ok,
	},
	{
		name:     "map values changed",
		old:      user(`{"name":"attrs","type":{"type":"map","values":"string"}}`),
		new:      user(`{"name":"attrs","type":{"type":"map","values":"double"}}`),
		backward: `field "attrs" of record "com.acme.User" at "attrs{}": the reader's double cannot read the writer's string`,
		forward:  `at "attrs{}": the reader's string cannot read the writer's double`,
	},
	{
		name:     "map values widened",
		old:      user(`{"name":"attrs","type":{"type":"map","values":"float"}}`),
		new:      user(`{"name":"attrs","type":{"type":"map","values":"double"}}`),
		backward: ok,
		forward:  `at "attrs{}": the reader's float cannot read the writer's double`,
	},
	{
		name:     "array becomes map",
		old:      user(`{"name":"xs","type":{"type":"array","items":"int"}}`),
		new:      user(`{"name":"xs","type":{"type":"map","values":"int"}}`),
		backward: `field "xs" of record "com.acme.User": the reader's map cannot read the writer's array`,
		forward:  `the reader's array cannot read the writer's map`,
	},
	{
		name:     "fixed size change",
		old:      user(`{"name":"h","type":{"type":"fixed","name":"Hash","size":16}}`),
		new:      user(`{"name":"h","type":{"type":"fixed","name":"Hash","size":32}}`),
		backward: `field "h" of record "com.acme.User": the reader's fixed "com.acme.Hash" is 32 bytes long but the writer's is 16`,
		forward:  `the reader's fixed "com.acme.Hash" is 16 bytes long but the writer's is 32`,
	},
	{
		name:     "fixed renamed",
		old:      user(`{"name":"h","type":{"type":"fixed","name":"Hash","size":16}}`),
		new:      user(`{"name":"h","type":{"type":"fixed","name":"Digest","size":16}}`),
		backward: `the reader's fixed "com.acme.Digest" cannot read the writer's fixed "com.acme.Hash": the names differ`,
		forward:  `the reader's fixed "com.acme.Hash" cannot read the writer's fixed "com.acme.Digest"`,
	},
	{
		name:     "record renamed without alias",
		old:      user(`{"name":"id","type":"int"}`),
		new:      `{"type":"record","name":"Customer","namespace":"com.acme","fields":[{"name":"id","type":"int"}]}`,
		backward: `the reader's record "com.acme.Customer" cannot read the writer's record "com.acme.User": the names differ and the reader has no alias "com.acme.User"`,
		forward:  `the reader's record "com.acme.User" cannot read the writer's record "com.acme.Customer"`,
	},
	{
		name:     "record renamed with alias",
		old:      user(`{"name":"id","type":"int"}`),
		new:      `{"type":"record","name":"Customer","namespace":"com.acme","aliases":["User"],"fields":[{"name":"id","type":"int"}]}`,
		backward: ok,
		forward:  `the names differ and the reader has no alias "com.acme.Customer"`,
	},
	{
		// The specification and Avro's Java checker (so Confluent) match
		// named types by unqualified name.
		name:     "namespace change",
		old:      user(`{"name":"id","type":"int"}`),
		new:      `{"type":"record","name":"User","namespace":"com.other","fields":[{"name":"id","type":"int"}]}`,
		backward: ok, forward: ok,
	},
	{
		name:     "record becomes enum",
		old:      user(`{"name":"x","type":{"type":"record","name":"X","fields":[]}}`),
		new:      user(`{"name":"x","type":{"type":"enum","name":"X","symbols":["A"]}}`),
		backward: `field "x" of record "com.acme.User": the reader's enum "com.acme.X" cannot read the writer's record "com.acme.X"`,
		forward:  `the reader's record "com.acme.X" cannot read the writer's enum "com.acme.X"`,
	},
	{
		name:     "several problems at once",
		old:      user(`{"name":"id","type":"long"},{"name":"name","type":"string"}`),
		new:      user(`{"name":"id","type":"int"},{"name":"name","type":"string"},{"name":"email","type":"string"}`),
		backward: `field "id" of record "com.acme.User": the reader's int cannot read the writer's long`,
		forward:  ok,
	},
	{
		name:     "root primitive widened",
		old:      `"int"`,
		new:      `"long"`,
		backward: ok,
		forward:  `the reader's int cannot read the writer's long`,
	},
	{
		name:     "root union against root record",
		old:      `["null","string"]`,
		new:      user(`{"name":"id","type":"int"}`),
		backward: `the writer's union [null, string] has a branch null that the reader's record "com.acme.User" cannot read`,
		forward:  `the reader's union [null, string] has no branch that can read the writer's record "com.acme.User"`,
	},
	{
		name: "recursive list widened",
		old: `{"type":"record","name":"List","fields":[{"name":"v","type":"int"},
			{"name":"next","type":["null","List"],"default":null}]}`,
		new: `{"type":"record","name":"List","fields":[{"name":"v","type":"long"},
			{"name":"next","type":["null","List"],"default":null}]}`,
		backward: ok,
		forward:  `field "v" of record "List": the reader's int cannot read the writer's long`,
	},
	{
		name: "recursive list gains a required field",
		old: `{"type":"record","name":"List","fields":[{"name":"v","type":"int"},
			{"name":"next","type":["null","List"],"default":null}]}`,
		new: `{"type":"record","name":"List","fields":[{"name":"v","type":"int"},{"name":"w","type":"int"},
			{"name":"next","type":["null","List"],"default":null}]}`,
		backward: `reader field "w" of record "List" has no default`,
		forward:  ok,
	},
	{
		// x resolves through the reader's second branch, T2, after T (a
		// record that recursively holds Q) failed; y then compares Q again.
		// That Q looked compatible while T was assumed to be must not be
		// remembered: through T, y's data cannot be read.
		name: "verdict that leaned on a failed assumption",
		old: `{"type":"record","name":"Top","fields":[
			{"name":"x","type":{"type":"record","name":"T","fields":[
				{"name":"q","type":{"type":"record","name":"Q","fields":[{"name":"back","type":"T"}]}}]}},
			{"name":"y","type":"Q"}]}`,
		new: `{"type":"record","name":"Top","fields":[
			{"name":"x","type":[
				{"type":"record","name":"T","fields":[
					{"name":"q","type":{"type":"record","name":"Q","fields":[{"name":"back","type":"T"}]}},
					{"name":"bad","type":"int"}]},
				{"type":"record","name":"T2","aliases":["T"],"fields":[]}]},
			{"name":"y","type":"Q"}]}`,
		backward:     `reader field "bad" of record "T" at "y.back.bad" has no default`,
		forward:      `field "x" of record "Top": the reader's record "T" cannot read the writer's record "T2"`,
		hambaDiffers: Backward,
	},
}

// TestEvolutions runs every evolution at every level, with the old schema
// as the subject's only version.
func TestEvolutions(t *testing.T) {
	for _, e := range evolutions {
		t.Run(e.name, func(t *testing.T) {
			old, cand := parse(t, e.old), parse(t, e.new)
			for _, level := range levels {
				var want []string
				if level.backward() && e.backward != ok {
					want = append(want, e.backward)
				}
				if level.forward() && e.forward != ok {
					want = append(want, e.forward)
				}
				err := Check(level, cand, []avro.Schema{old})
				if len(want) == 0 {
					if err != nil {
						t.Errorf("%s: refused: %v", level, err)
					}
					continue
				}
				var ie *IncompatibleError
				if !errors.As(err, &ie) {
					t.Errorf("%s: got %v, want an *IncompatibleError saying %q", level, err, want)
					continue
				}
				if ie.Level != level {
					t.Errorf("%s: error's level is %s", level, ie.Level)
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error\n\t%v\nlacks\n\t%s", level, err, w)
					}
				}
				for _, f := range ie.Failures {
					if f.Version != 1 || len(f.Reasons) == 0 ||
						(f.Direction == Backward && e.backward == ok) || (f.Direction == Forward && e.forward == ok) {
						t.Errorf("%s: unexpected failure %+v", level, f)
					}
				}
				if len(ie.Failures) != len(want) {
					t.Errorf("%s: %d failures, want %d: %v", level, len(ie.Failures), len(want), err)
				}
			}
		})
	}
}

// TestAgreesWithHamba checks that hamba's checker, a fresh one for each
// pair, gives every evolution the verdicts this package does except where
// the table says hamba departs from the specification.
func TestAgreesWithHamba(t *testing.T) {
	for _, e := range evolutions {
		old, cand := parse(t, e.old), parse(t, e.new)
		for _, d := range []struct {
			dir            Level
			reader, writer avro.Schema
			want           string
		}{{Backward, cand, old, e.backward}, {Forward, old, cand, e.forward}} {
			hambaOK := avro.NewSchemaCompatibility().Compatible(d.reader, d.writer) == nil
			oursOK := resolve(d.reader, d.writer).ok()
			if oursOK != (d.want == ok) {
				t.Errorf("%s %s: ours says compatible=%v", e.name, d.dir, oursOK)
			}
			if differs := e.hambaDiffers == d.dir; (hambaOK != oursOK) != differs {
				t.Errorf("%s %s: hamba says compatible=%v, we say %v, table says they differ: %v", e.name, d.dir, hambaOK, oursOK, differs)
			}
		}
	}
}

// TestPromotions checks every pair of primitive types against the
// specification's promotions, in both directions of a one-field record.
func TestPromotions(t *testing.T) {
	prims := []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
	allowed := map[string]bool{ // writer>reader
		"int>long": true, "int>float": true, "int>double": true,
		"long>float": true, "long>double": true, "float>double": true,
		"string>bytes": true, "bytes>string": true,
	}
	for _, w := range prims {
		for _, r := range prims {
			writer := parse(t, user(`{"name":"f","type":"`+w+`"}`))
			reader := parse(t, user(`{"name":"f","type":"`+r+`"}`))
			want := w == r || allowed[w+">"+r]
			err := Check(Backward, reader, []avro.Schema{writer})
			if (err == nil) != want {
				t.Errorf("reader %s, writer %s: got %v, want compatible=%v", r, w, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("the reader's %s cannot read the writer's %s", r, w)) {
				t.Errorf("reader %s, writer %s: reason does not name the types: %v", r, w, err)
			}
			if hamba := avro.NewSchemaCompatibility().Compatible(reader, writer) == nil; hamba != want {
				t.Errorf("reader %s, writer %s: hamba says compatible=%v", r, w, hamba)
			}
		}
	}
}

// The transitive subjects: v3 is compatible with v2 but not with v1.
var (
	// v3 drops email's default: it reads v2's data, which has email, but
	// not v1's, which does not.
	backwardVersions = []string{
		user(`{"name":"id","type":"int"}`),
		user(`{"name":"id","type":"int"},{"name":"email","type":"string","default":""}`),
		user(`{"name":"id","type":"int"},{"name":"email","type":"string"}`),
	}
	// v3 drops name: v2's readers fill it with the default v2 gave it,
	// v1's have none.
	forwardVersions = []string{
		user(`{"name":"id","type":"int"},{"name":"name","type":"string"}`),
		user(`{"name":"id","type":"int"},{"name":"name","type":"string","default":""}`),
		user(`{"name":"id","type":"int"}`),
	}
)

func TestTransitive(t *testing.T) {
	for _, c := range []struct {
		versions []string
		level    Level
		want     string // "" to pass
	}{
		{backwardVersions, Backward, ok},
		{backwardVersions, BackwardTransitive, `reader field "email" of record "com.acme.User" has no default and is missing from the writer's schema (BACKWARD against version 1)`},
		{backwardVersions, Forward, ok},
		{backwardVersions, ForwardTransitive, ok},
		{backwardVersions, Full, ok},
		{backwardVersions, FullTransitive, `(BACKWARD against version 1)`},
		{forwardVersions, Forward, ok},
		{forwardVersions, ForwardTransitive, `reader field "name" of record "com.acme.User" has no default and is missing from the writer's schema (FORWARD against version 1)`},
		{forwardVersions, Backward, ok},
		{forwardVersions, BackwardTransitive, ok},
		{forwardVersions, Full, ok},
		{forwardVersions, FullTransitive, `(FORWARD against version 1)`},
	} {
		existing := []avro.Schema{parse(t, c.versions[0]), parse(t, c.versions[1])}
		cand := parse(t, c.versions[2])
		err := Check(c.level, cand, existing)
		if c.want == ok {
			if err != nil {
				t.Errorf("%s: %v", c.level, err)
			}
			continue
		}
		var ie *IncompatibleError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.level, err, c.want)
			continue
		}
		if len(ie.Failures) != 1 || ie.Failures[0].Version != 1 {
			t.Errorf("%s: want one failure, against version 1: %+v", c.level, ie.Failures)
		}
	}
}

// TestFailureOrder checks that a transitive refusal lists every version
// that fails, newest first, and for each BACKWARD before FORWARD.
func TestFailureOrder(t *testing.T) {
	v1 := parse(t, user(`{"name":"n","type":"long"},{"name":"k","type":"string"}`))
	v2 := parse(t, user(`{"name":"n","type":"long"},{"name":"k","type":"string"},{"name":"m","type":"int","default":0}`))
	cand := parse(t, user(`{"name":"n","type":"int"},{"name":"s","type":"string"}`))
	err := Check(FullTransitive, cand, []avro.Schema{v1, v2})
	var ie *IncompatibleError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, f := range ie.Failures {
		got = append(got, fmt.Sprintf("%s@%d:%d", f.Direction, f.Version, len(f.Reasons)))
	}
	// BACKWARD: n narrows and s has no default; FORWARD: k has none.
	want := "BACKWARD@2:2 FORWARD@2:1 BACKWARD@1:2 FORWARD@1:1"
	if strings.Join(got, " ") != want {
		t.Errorf("failures %s, want %s\n%v", strings.Join(got, " "), want, err)
	}
	msgs := ie.Messages()
	if len(msgs) != 6 || !strings.HasSuffix(msgs[0], "(BACKWARD against version 2)") || !strings.HasSuffix(msgs[5], "(FORWARD against version 1)") ||
		!strings.HasPrefix(msgs[2], `reader field "k" of record "com.acme.User" has no default`) {
		t.Errorf("messages: %q", msgs)
	}
}

// TestVersionNumbers checks that refusals name the subject's own version
// numbers, gaps left by soft deletes included.
func TestVersionNumbers(t *testing.T) {
	existing := []Version{
		{Number: 1, Schema: parse(t, backwardVersions[0])},
		{Number: 4, Schema: parse(t, backwardVersions[1])},
	}
	cand := parse(t, user(`{"name":"id","type":"long"}`))
	err := CheckVersions(Full, cand, existing)
	want := `field "id" of record "com.acme.User": the reader's int cannot read the writer's long: ` +
		`Avro widens numbers (int to long, float or double; long to float or double; float to double) but never narrows them (FORWARD against version 4)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// TestMessage pins one whole message, as the registry shows it.
func TestMessage(t *testing.T) {
	v1 := parse(t, user(`{"name":"id","type":"int"}`))
	v2 := parse(t, user(`{"name":"id","type":"int"},{"name":"name","type":"string","default":""}`))
	cand := parse(t, user(`{"name":"id","type":"int"},{"name":"name","type":"string","default":""},{"name":"email","type":"string"}`))
	err := Check(Backward, cand, []avro.Schema{v1, v2})
	want := `compat: schema is not BACKWARD compatible: reader field "email" of record "com.acme.User" has no default and is missing from the writer's schema (BACKWARD against version 2)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestCallerMistakes(t *testing.T) {
	s := parse(t, `"int"`)
	var ie *IncompatibleError
	if err := Check("SIDEWAYS", s, nil); err == nil || errors.As(err, &ie) {
		t.Errorf("unknown level: got %v", err)
	}
	if err := Check(Backward, nil, []avro.Schema{s}); err == nil || errors.As(err, &ie) {
		t.Errorf("nil candidate: got %v", err)
	}
	if err := Check(Backward, s, []avro.Schema{nil}); err == nil || errors.As(err, &ie) {
		t.Errorf("nil version: got %v", err)
	}
	// NONE and an empty subject pass whatever the schemas.
	if err := Check(None, s, []avro.Schema{parse(t, `"string"`)}); err != nil {
		t.Errorf("NONE: %v", err)
	}
	for _, l := range levels {
		if err := Check(l, s, nil); err != nil {
			t.Errorf("%s, no versions: %v", l, err)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, l := range levels {
		for _, s := range []string{string(l), strings.ToLower(string(l)), " " + strings.ToLower(string(l)) + "\n"} {
			got, err := ParseLevel(s)
			if err != nil || got != l {
				t.Errorf("ParseLevel(%q) = %q, %v", s, got, err)
			}
		}
	}
	_, err := ParseLevel("BACKWARDS")
	if err == nil || !strings.Contains(err.Error(), `"BACKWARDS"`) ||
		!strings.Contains(err.Error(), "NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE") {
		t.Errorf("ParseLevel(BACKWARDS): %v", err)
	}
	if _, err := ParseLevel(""); err == nil {
		t.Error("ParseLevel(\"\") succeeded")
	}
}

// binaryTree is record T0 with fields l and r of type T1, T1 with two of
// T2, and so on to T<depth>, whose fields are last: 2^depth paths lead to
// them.
func binaryTree(depth int, last string) string {
	s := fmt.Sprintf(`{"type":"record","name":"T%d","fields":[%s]}`, depth, last)
	for i := depth - 1; i >= 0; i-- {
		s = fmt.Sprintf(`{"type":"record","name":"T%d","fields":[{"name":"l","type":%s},{"name":"r","type":"T%d"}]}`, i, s, i+1)
	}
	return s
}

// TestManyPaths checks that a type reached by exponentially many paths is
// compared once, and that its reasons are capped.
func TestManyPaths(t *testing.T) {
	for _, c := range []struct{ name, oldLast, newLast string }{
		{"tree", `{"name":"v","type":"int"}`, `{"name":"v","type":"long"}`},
		// Every pair leans on T0's, being compared until the end.
		{"recursive tree",
			`{"name":"v","type":"int"},{"name":"back","type":["null","T0"]}`,
			`{"name":"v","type":"long"},{"name":"back","type":["null","T0"]}`},
	} {
		old, cand := parse(t, binaryTree(40, c.oldLast)), parse(t, binaryTree(40, c.newLast))
		if err := Check(Backward, cand, []avro.Schema{old}); err != nil {
			t.Fatalf("%s: BACKWARD: %v", c.name, err)
		}
		err := Check(Forward, cand, []avro.Schema{old})
		var ie *IncompatibleError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: FORWARD: got %v", c.name, err)
		}
		f := ie.Failures[0]
		if len(f.Reasons) != maxReasons || !f.Truncated {
			t.Errorf("%s: %d reasons, truncated %v", c.name, len(f.Reasons), f.Truncated)
		}
		if p := f.Reasons[0].Path; p != strings.Repeat("l.", 40)+"v" {
			t.Errorf("%s: first reason at %q", c.name, p)
		}
		if msgs := ie.Messages(); msgs[len(msgs)-1] != "and more reasons not listed (FORWARD against version 1)" {
			t.Errorf("%s: last message %q", c.name, msgs[len(msgs)-1])
		}
	}
}

// TestReflexive checks that every table schema is fully compatible with
// itself.
func TestReflexive(t *testing.T) {
	for _, e := range evolutions {
		for _, s := range []string{e.old, e.new} {
			a, b := parse(t, s), parse(t, s)
			if err := Check(FullTransitive, a, []avro.Schema{b, a}); err != nil {
				t.Errorf("%s: %v", e.name, err)
			}
		}
	}
}
