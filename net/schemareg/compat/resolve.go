package compat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"
)

// This file walks one reader schema against one writer schema by the Avro
// specification's resolution rules, collecting a Reason for every place
// that does not resolve.
//
// hamba/avro's SchemaCompatibility.Compatible applies the same rules and
// agrees with this walk on ordinary schemas (the tests compare the two),
// but it is not used here, for these reasons:
//   - Its errors name neither the record nor the field, nor the path to
//     them ("reader field zip is missing in writer schema and has no
//     default", "reader union lacking writer schema int"), and it stops at
//     the first problem.
//   - It remembers verdicts by the schemas' canonical-form fingerprints,
//     which leave out field defaults and aliases: one checker, asked about
//     a reader whose field has no default, goes on refusing that reader
//     once the field has one. And it keeps verdicts reached by assuming a
//     recursive pair compatible while comparing it even when that pair
//     turns out not to be (see the test "verdict that leaned on a failed
//     assumption"); Avro's Java checker memoizes in the same way.
//   - It matches a reader field to the first writer field whose name is
//     the reader field's name or one of its aliases, in the writer's order;
//     the specification, and Avro's Java checker, take the field of the
//     same name first and fall back to aliases only without one.

// maxReasons bounds the reasons of one verdict. A broken type used in many
// places breaks each of them, and a schema can reach one type by a number
// of paths exponential in its depth.
const maxReasons = 50

// verdict is what comparing a reader with a writer found.
type verdict struct {
	reasons   []Reason // none: the reader reads what the writer wrote
	truncated bool     // more reasons were found than reasons holds
	// provisional is 1 + the stack depth of the shallowest record pair
	// this verdict took for compatible because it was being compared
	// already, or 0. A compatible verdict that leans on a pair still on
	// the stack is not known until that pair is done. Incompatible
	// verdicts are final regardless: assuming compatibility can hide
	// problems, never invent them.
	provisional int
}

func (v verdict) ok() bool { return len(v.reasons) == 0 }

// add appends r unless the verdict is full.
func (v *verdict) add(r Reason) {
	if len(v.reasons) == maxReasons {
		v.truncated = true
		return
	}
	v.reasons = append(v.reasons, r)
}

// merge takes in sub's reasons, each moved by place when place is not nil,
// and its assumptions. It copies the reasons, so verdicts that walker
// remembers are never written to.
func (v *verdict) merge(sub verdict, place func(Reason) Reason) {
	v.provisional = shallowest(v.provisional, sub.provisional)
	v.truncated = v.truncated || sub.truncated
	for _, r := range sub.reasons {
		if place != nil {
			r = place(r)
		}
		v.add(r)
	}
}

func shallowest(a, b int) int {
	if a == 0 {
		return b
	}
	if b == 0 {
		return a
	}
	return min(a, b)
}

func refused(r Reason) verdict { return verdict{reasons: []Reason{r}} }

// pair is a record of the reader's and a record of the writer's being
// compared. Records are the only types that can contain themselves.
type pair struct {
	reader, writer *avro.RecordSchema
}

// walker compares one reader with one writer. It lives for one comparison,
// so what it remembers is about these two schemas only.
type walker struct {
	onStack map[pair]int     // pairs being compared: their depth
	depth   int              // how many pairs are being compared
	done    map[pair]verdict // pairs compared, with their verdicts
	// leaning lists the pairs whose remembered verdicts are provisional,
	// oldest first. Remembering them too keeps the walk linear when a
	// recursive type is reached by many paths; settle revises them when
	// the pair they leaned on is done.
	leaning []pair
}

// resolve compares reader with writer.
func resolve(reader, writer avro.Schema) verdict {
	w := walker{onStack: map[pair]int{}, done: map[pair]verdict{}}
	return w.compare(reader, writer)
}

func (w *walker) compare(r, wr avro.Schema) verdict {
	r, wr = deref(r), deref(wr)
	// A writer's union first: its data may be any branch, so each branch
	// must be readable, whatever the reader is.
	if u, ok := wr.(*avro.UnionSchema); ok {
		return w.writerUnion(r, u)
	}
	if u, ok := r.(*avro.UnionSchema); ok {
		return w.readerUnion(u, wr)
	}
	if r.Type() != wr.Type() {
		if promotes(wr.Type(), r.Type()) {
			return verdict{}
		}
		return refused(mismatch(r, wr))
	}
	switch r := r.(type) {
	case *avro.ArraySchema:
		if wa, ok := wr.(*avro.ArraySchema); ok {
			var v verdict
			v.merge(w.compare(r.Items(), wa.Items()), within("[]"))
			return v
		}
	case *avro.MapSchema:
		if wm, ok := wr.(*avro.MapSchema); ok {
			var v verdict
			v.merge(w.compare(r.Values(), wm.Values()), within("{}"))
			return v
		}
	case *avro.FixedSchema:
		if wf, ok := wr.(*avro.FixedSchema); ok {
			if !namesMatch(r, wf) {
				return refused(nameMismatch(r, wf))
			}
			if r.Size() != wf.Size() {
				return refused(Reason{Kind: FixedSizeMismatch, Detail: fmt.Sprintf(
					"the reader's %s is %d bytes long but the writer's is %d", describe(r), r.Size(), wf.Size())})
			}
			return verdict{}
		}
	case *avro.EnumSchema:
		if we, ok := wr.(*avro.EnumSchema); ok {
			return enum(r, we)
		}
	case *avro.RecordSchema:
		if wrec, ok := wr.(*avro.RecordSchema); ok {
			if !namesMatch(r, wrec) {
				return refused(nameMismatch(r, wrec))
			}
			return w.record(r, wrec)
		}
	default:
		// Primitives of one type: null, boolean, int, long, float, double,
		// bytes, string. Their logical types are not compared.
		return verdict{}
	}
	// Equal Type() but a Go type hamba does not use for it: refuse rather
	// than guess.
	return refused(mismatch(r, wr))
}

func enum(r, wr *avro.EnumSchema) verdict {
	if !namesMatch(r, wr) {
		return refused(nameMismatch(r, wr))
	}
	if r.HasDefault() {
		// The reader reads any symbol it lacks as its default.
		return verdict{}
	}
	var missing []string
	for _, s := range wr.Symbols() {
		if !slices.Contains(r.Symbols(), s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return verdict{}
	}
	noun, pronoun := "symbol", "it"
	if len(missing) > 1 {
		noun, pronoun = "symbols", "them"
	}
	return refused(Reason{Kind: MissingEnumSymbols, Detail: fmt.Sprintf(
		"the reader's %s lacks the writer's %s %s and has no default symbol to read %s as",
		describe(r), noun, strings.Join(missing, ", "), pronoun)})
}

// record compares two records whose names match, field by field of the
// reader's.
func (w *walker) record(r, wr *avro.RecordSchema) verdict {
	key := pair{r, wr}
	if v, ok := w.done[key]; ok {
		return v
	}
	if d, ok := w.onStack[key]; ok {
		// Recursion: the pair is compatible unless something else in it
		// is not, which the outer comparison finds.
		return verdict{provisional: d + 1}
	}
	d := w.depth
	w.onStack[key] = d
	w.depth++
	start := len(w.leaning)

	var v verdict
	for _, rf := range r.Fields() {
		wf := writerField(wr, rf)
		if wf == nil {
			if !rf.HasDefault() {
				v.add(Reason{Kind: ReaderFieldMissingDefault, Path: rf.Name(), Record: r.FullName(), Field: rf.Name(),
					Detail: "has no default and is missing from the writer's schema"})
			}
			continue // a writer field the reader lacks is skipped
		}
		v.merge(w.compare(rf.Type(), wf.Type()), inField(r, rf))
	}

	w.depth--
	delete(w.onStack, key)
	if !v.ok() || v.provisional > d {
		v.provisional = 0 // final: a refusal, or leaning on this pair only
	}
	w.settle(start, d, v)
	w.done[key] = v
	if v.provisional != 0 {
		w.leaning = append(w.leaning, key)
	}
	return v
}

// settle revises the provisional verdicts remembered since leaning[start],
// while the pair at depth d was being compared, now that its verdict v is
// known. If the pair is compatible, those that leaned on it lean on what v
// leans on, or nothing. If it is not, those that leaned on it are wrong;
// which ones did is not recorded, so all of them are forgotten, to be
// compared again if asked: a pair is refused once at most, so this costs
// a polynomial, not an exponential.
func (w *walker) settle(start, d int, v verdict) {
	kept := w.leaning[:start]
	for _, k := range w.leaning[start:] {
		rv := w.done[k]
		if rv.provisional == 0 {
			continue
		}
		if !v.ok() {
			delete(w.done, k)
			continue
		}
		if rv.provisional == d+1 {
			rv.provisional = v.provisional
			w.done[k] = rv
		}
		if rv.provisional != 0 {
			kept = append(kept, k)
		}
	}
	w.leaning = kept
}

// writerField finds the writer's field a reader field reads: the one of
// the same name, else the first of the reader field's aliases the writer
// has, as Avro's Java checker does.
func writerField(wr *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, f := range wr.Fields() {
		if f.Name() == rf.Name() {
			return f
		}
	}
	for _, a := range rf.Aliases() {
		for _, f := range wr.Fields() {
			if f.Name() == a {
				return f
			}
		}
	}
	return nil
}

// writerUnion requires the reader to read every branch of the writer's
// union.
func (w *walker) writerUnion(r avro.Schema, u *avro.UnionSchema) verdict {
	_, readerUnion := r.(*avro.UnionSchema)
	var v verdict
	for _, b := range u.Types() {
		b = deref(b)
		sub := w.compare(r, b)
		if !readerUnion && len(sub.reasons) == 1 && sub.reasons[0].Kind == TypeMismatch && sub.reasons[0].Path == "" {
			// Say that the writer's type is a union, or "the reader's
			// string cannot read the writer's null" puzzles.
			sub = refused(Reason{Kind: TypeMismatch, Detail: fmt.Sprintf(
				"the writer's %s has a branch %s that the reader's %s cannot read", describe(u), describe(b), describe(r))})
		}
		v.merge(sub, nil)
	}
	return v
}

// readerUnion requires some branch of the reader's union to read what the
// writer wrote (never a union: compare handled that).
func (w *walker) readerUnion(u *avro.UnionSchema, wr avro.Schema) verdict {
	var closest *verdict
	for _, b := range u.Types() {
		b = deref(b)
		sub := w.compare(b, wr)
		if sub.ok() {
			return sub
		}
		if closest == nil && matches(b, wr) {
			closest = &sub
		}
	}
	if closest != nil {
		// The branch meant for the writer's type (same kind and name) does
		// not resolve: its reasons, such as a nested field lacking a
		// default, say more than "no branch fits".
		return *closest
	}
	return refused(Reason{Kind: MissingUnionBranch, Detail: fmt.Sprintf(
		"the reader's %s has no branch that can read the writer's %s", describe(u), describe(wr))})
}

// matches reports whether the specification would pick reader branch b
// for writer type wr before resolving them: the same kind and, for named
// types, matching names, or a promotion.
func matches(b, wr avro.Schema) bool {
	if b.Type() != wr.Type() {
		return promotes(wr.Type(), b.Type())
	}
	bn, ok := b.(avro.NamedSchema)
	if !ok {
		return true
	}
	wn, ok := wr.(avro.NamedSchema)
	return ok && namesMatch(bn, wn)
}

// namesMatch applies the specification's rule for named types: the same
// unqualified name (a namespace may change, as Avro's Java checker and so
// Confluent's registry allow), or a reader alias naming the writer's type.
// hamba qualifies aliases with the type's namespace when it parses them.
func namesMatch(r, wr avro.NamedSchema) bool {
	return r.Name() == wr.Name() || slices.Contains(r.Aliases(), wr.FullName())
}

func nameMismatch(r, wr avro.NamedSchema) Reason {
	return Reason{Kind: NameMismatch, Detail: fmt.Sprintf(
		"the reader's %s cannot read the writer's %s: the names differ and the reader has no alias %q",
		describe(r), describe(wr), wr.FullName())}
}

// promotes reports whether the specification lets data written as writer
// be read as reader.
func promotes(writer, reader avro.Type) bool {
	switch writer {
	case avro.Int:
		return reader == avro.Long || reader == avro.Float || reader == avro.Double
	case avro.Long:
		return reader == avro.Float || reader == avro.Double
	case avro.Float:
		return reader == avro.Double
	case avro.String:
		return reader == avro.Bytes
	case avro.Bytes:
		return reader == avro.String
	}
	return false
}

func numeric(t avro.Type) bool {
	return t == avro.Int || t == avro.Long || t == avro.Float || t == avro.Double
}

func mismatch(r, wr avro.Schema) Reason {
	d := fmt.Sprintf("the reader's %s cannot read the writer's %s", describe(r), describe(wr))
	if numeric(r.Type()) && numeric(wr.Type()) {
		d += ": Avro widens numbers (int to long, float or double; long to float or double; float to double) but never narrows them"
	}
	return Reason{Kind: TypeMismatch, Detail: d}
}

// describe names a type for a message: int, record "com.acme.User",
// union [null, string].
func describe(s avro.Schema) string {
	s = deref(s)
	switch s := s.(type) {
	case avro.NamedSchema:
		return fmt.Sprintf("%s %q", s.Type(), s.FullName())
	case *avro.UnionSchema:
		parts := make([]string, len(s.Types()))
		for i, b := range s.Types() {
			parts[i] = describe(b)
		}
		return "union [" + strings.Join(parts, ", ") + "]"
	}
	return string(s.Type())
}

func deref(s avro.Schema) avro.Schema {
	for {
		ref, ok := s.(*avro.RefSchema)
		if !ok {
			return s
		}
		s = ref.Schema()
	}
}

// within moves a reason into an array's items or a map's values.
func within(seg string) func(Reason) Reason {
	return func(r Reason) Reason {
		r.Path = join(seg, r.Path)
		return r
	}
}

// inField moves a reason into field f of record rec; a reason not yet
// about a field becomes one about f.
func inField(rec *avro.RecordSchema, f *avro.Field) func(Reason) Reason {
	return func(r Reason) Reason {
		r.Path = join(f.Name(), r.Path)
		if r.Field == "" {
			r.Record, r.Field = rec.FullName(), f.Name()
		}
		return r
	}
}

// join puts a path below a step: "address" and "zip" give "address.zip",
// "lines" and "[].sku" give "lines[].sku".
func join(step, rest string) string {
	switch {
	case rest == "":
		return step
	case rest[0] == '[' || rest[0] == '{':
		return step + rest
	default:
		return step + "." + rest
	}
}
