package schemareg

import (
	"slices"
	"sort"
	"sync/atomic"
)

// version is one version of a subject.
type version struct {
	version int
	id      int
	deleted bool // soft deleted: hidden unless asked for
}

// schemaInfo is one schema, by id: the same schema registered under
// several subjects has one id.
type schemaInfo struct {
	text   string       // as registered (compact JSON), as served
	norm   string       // the schema's identity: see normalise
	typ    string       // "AVRO"
	parsed atomic.Value // avro.Schema, parsed on first need (readers share the state)
}

// state is the registry as the records of the topic so far say it is.
// Only the applier writes it, in log order; everyone reads it under the
// Registry's lock.
type state struct {
	subjects map[string][]version // each ascending by version, soft-deleted ones included
	schemas  map[int]*schemaInfo
	byText   map[string]int // normalise(schema text): its id
	configs  map[string]string
	maxID    int // the highest id ever handed out
}

func newState() *state {
	return &state{subjects: map[string][]version{}, schemas: map[int]*schemaInfo{}, byText: map[string]int{}, configs: map[string]string{}}
}

// apply makes one record part of the state. Records arrive in log order;
// a record that contradicts the state (a version pointing at an id that
// holds another schema) is taken as the log says, the newest winning.
func (s *state) apply(r record) {
	switch r.key.KeyType {
	case keySchema:
		subject, v := *r.key.Subject, r.key.Version
		vs := s.subjects[subject]
		i := sort.Search(len(vs), func(i int) bool { return vs[i].version >= v })
		if r.schema == nil { // a hard delete
			if i < len(vs) && vs[i].version == v {
				id := vs[i].id
				vs = slices.Delete(vs, i, i+1)
				s.setVersions(subject, vs)
				s.forgetUnused(id)
			}
			return
		}
		id := r.schema.ID
		s.maxID = max(s.maxID, id)
		if _, ok := s.schemas[id]; !ok {
			typ := r.schema.SchemaType
			if typ == "" {
				typ = typeAvro
			}
			norm := normalise(r.schema.Schema)
			s.schemas[id] = &schemaInfo{text: r.schema.Schema, norm: norm, typ: typ}
			s.byText[norm] = id
		}
		nv := version{version: v, id: id, deleted: r.schema.Deleted}
		if i < len(vs) && vs[i].version == v {
			old := vs[i].id
			vs[i] = nv
			s.setVersions(subject, vs)
			if old != id {
				s.forgetUnused(old)
			}
			return
		}
		s.setVersions(subject, slices.Insert(vs, i, nv))
	case keyConfig:
		subject := ""
		if r.key.Subject != nil {
			subject = *r.key.Subject
		}
		if r.config == nil {
			delete(s.configs, subject)
			return
		}
		s.configs[subject] = r.config.CompatibilityLevel
	case keyID:
		if r.id != nil {
			s.maxID = max(s.maxID, r.id.ID)
		}
	}
}

func (s *state) setVersions(subject string, vs []version) {
	if len(vs) == 0 {
		delete(s.subjects, subject)
		return
	}
	s.subjects[subject] = vs
}

// forgetUnused drops schema id once no version of any subject uses it
// (every one was hard deleted): Confluent answers 40403 for it then. The
// id itself is never handed out again (maxID).
func (s *state) forgetUnused(id int) {
	for _, vs := range s.subjects {
		for _, v := range vs {
			if v.id == id {
				return
			}
		}
	}
	if info, ok := s.schemas[id]; ok {
		delete(s.byText, info.norm)
		delete(s.schemas, id)
	}
}

// live returns a subject's versions that are not soft deleted, or all of
// them with deleted.
func (s *state) live(subject string, deleted bool) []version {
	var out []version
	for _, v := range s.subjects[subject] {
		if deleted || !v.deleted {
			out = append(out, v)
		}
	}
	return out
}

// level is the compatibility level that applies to subject.
func (s *state) level(subject string) string {
	if l, ok := s.configs[subject]; ok && subject != "" {
		return l
	}
	if l, ok := s.configs[""]; ok {
		return l
	}
	return defaultLevel
}
