package schemareg

import "testing"

// FuzzRecords: any key and value read from the _schemas topic decode to a
// record or an error, never a panic, and applying what decodes (after
// other records) keeps the state whole: every live version's id has a
// schema, and no id above the highest handed out.
func FuzzRecords(f *testing.F) {
	f.Add(encodeKey(schemaKey("s", 1)), encodeValue(schemaValue{Subject: "s", Version: 1, ID: 1, Schema: `"string"`}), false)
	f.Add(encodeKey(schemaKey("s", 1)), []byte(nil), true)
	f.Add(encodeKey(configKey("")), encodeValue(configValue{CompatibilityLevel: "FULL"}), false)
	f.Add(encodeKey(configKey("s")), []byte(nil), true)
	f.Add(encodeKey(idKey()), encodeValue(idValue{ID: 7}), false)
	f.Add([]byte(`{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}`), []byte(`{"subject":"s","version":2,"id":1,"schema":"\"int\"","deleted":true}`), false)
	f.Add([]byte(`{"keytype":"NOOP","magic":0}`), []byte(`{}`), false)
	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		}
		st := newState()
		// Some state for the record to land on.
		for _, r := range []record{
			{key: schemaKey("s", 1), schema: &schemaValue{Subject: "s", Version: 1, ID: 1, Schema: `"string"`}},
			{key: schemaKey("t", 1), schema: &schemaValue{Subject: "t", Version: 1, ID: 2, Schema: `"int"`}},
		} {
			st.apply(r)
		}
		r, err := decodeRecord(key, value)
		if err != nil {
			return
		}
		st.apply(r)
		for subject, vs := range st.subjects {
			if len(vs) == 0 {
				t.Fatalf("subject %q kept with no versions", subject)
			}
			for i, v := range vs {
				if _, ok := st.schemas[v.id]; !ok {
					t.Fatalf("%s version %d: id %d has no schema", subject, v.version, v.id)
				}
				if v.id > st.maxID {
					t.Fatalf("id %d above the highest handed out, %d", v.id, st.maxID)
				}
				if i > 0 && vs[i-1].version >= v.version {
					t.Fatalf("%s: versions out of order: %+v", subject, vs)
				}
			}
		}
		_ = st.level("s")
	})
}
