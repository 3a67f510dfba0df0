package compat

import (
	"errors"
	"testing"

	"github.com/hamba/avro/v2"
)

// FuzzCheck checks two schemas against each other at every level. Check
// must not panic, must refuse only with an *IncompatibleError whose every
// failure gives reasons that name their place, and must find every schema
// compatible with itself.
func FuzzCheck(f *testing.F) {
	for _, e := range evolutions {
		f.Add(e.old, e.new)
	}
	for _, vs := range [][]string{backwardVersions, forwardVersions} {
		f.Add(vs[0], vs[2])
	}
	f.Add(binaryTree(3, `{"name":"v","type":"int"}`), binaryTree(3, `{"name":"v","type":"long"},{"name":"b","type":["null","T1"]}`))
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, err := avro.ParseWithCache(a, "", &avro.SchemaCache{})
		if err != nil {
			t.Skip()
		}
		sb, err := avro.ParseWithCache(b, "", &avro.SchemaCache{})
		if err != nil {
			t.Skip()
		}
		for _, level := range levels {
			for _, c := range [][2]avro.Schema{{sa, sb}, {sb, sa}} {
				checkInvariants(t, level, Check(level, c[0], []avro.Schema{c[1]}))
			}
			checkInvariants(t, level, Check(level, sb, []avro.Schema{sa, sb}))
		}
		for _, s := range []avro.Schema{sa, sb} {
			if err := Check(FullTransitive, s, []avro.Schema{s}); err != nil {
				t.Errorf("schema incompatible with itself: %v\n%s", err, s)
			}
		}
	})
}

func checkInvariants(t *testing.T, level Level, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ie *IncompatibleError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: refused without an *IncompatibleError: %v", level, err)
	}
	if level == None || len(ie.Failures) == 0 {
		t.Fatalf("%s: empty or unwarranted refusal: %v", level, err)
	}
	for _, f := range ie.Failures {
		if len(f.Reasons) == 0 || len(f.Reasons) > maxReasons {
			t.Fatalf("%s: %d reasons: %v", level, len(f.Reasons), err)
		}
		for _, r := range f.Reasons {
			if r.Detail == "" || r.Kind == "" || (r.Field != "" && r.Record == "") || (r.Field == "" && r.Kind == ReaderFieldMissingDefault) {
				t.Fatalf("%s: reason without a place or a rule: %#v", level, r)
			}
		}
	}
	_ = err.Error()
}
