package compat_test

import (
	"errors"
	"fmt"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/compat"
)

// parse gives each schema a cache of its own: avro.Parse's process-wide
// cache would let one subject's named types resolve names in another's.
func parse(s string) avro.Schema {
	sch, err := avro.ParseWithCache(s, "", &avro.SchemaCache{})
	if err != nil {
		panic(err)
	}
	return sch
}

func ExampleCheck() {
	v1 := parse(`{"type":"record","name":"User","namespace":"com.acme","fields":[
		{"name":"id","type":"long"}]}`)
	v2 := parse(`{"type":"record","name":"User","namespace":"com.acme","fields":[
		{"name":"id","type":"long"},
		{"name":"email","type":"string"}]}`)

	level, err := compat.ParseLevel("backward")
	if err != nil {
		panic(err)
	}
	err = compat.Check(level, v2, []avro.Schema{v1})
	var ie *compat.IncompatibleError
	if errors.As(err, &ie) {
		for _, m := range ie.Messages() {
			fmt.Println(m)
		}
	}
	// Output:
	// reader field "email" of record "com.acme.User" has no default and is missing from the writer's schema (BACKWARD against version 1)
}

func ExampleCheckVersions() {
	v1 := parse(`{"type":"record","name":"Reading","fields":[{"name":"value","type":"int"}]}`)
	v3 := parse(`{"type":"record","name":"Reading","fields":[{"name":"value","type":"long"}]}`)
	cand := parse(`{"type":"record","name":"Reading","fields":[{"name":"value","type":"double"}]}`)

	// Version 2 was soft-deleted: the subject's versions are 1 and 3.
	err := compat.CheckVersions(compat.FullTransitive, cand, []compat.Version{{Number: 1, Schema: v1}, {Number: 3, Schema: v3}})
	var ie *compat.IncompatibleError
	if errors.As(err, &ie) {
		for _, f := range ie.Failures {
			fmt.Printf("%s against version %d: %s at %s\n", f.Direction, f.Version, f.Reasons[0].Kind, f.Reasons[0].Path)
		}
	}
	// Output:
	// FORWARD against version 3: TYPE_MISMATCH at value
	// FORWARD against version 1: TYPE_MISMATCH at value
}
