package client

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// staleClaims are things this package's comments once said that stopped
// being true when a feature arrived. TestNoStaleDocClaims fails when any
// comment in the module's non-test Go files says one again (a package
// comment, a type's, a field's), so that documentation written before a
// feature, or copied from an old comment, is caught in review rather than
// by a user. Each entry proves its own premise: holds checks, in this
// package's source, that the feature exists (or that the removed name is
// gone); if that stops being true the entry itself is stale and the test
// says so. Each entry also carries a sentence it must match, the one it
// was written for, so a pattern cannot quietly rot into matching nothing.
//
// It catches only the phrasings listed: add one when a feature makes an
// old sentence false.
var staleClaims = []struct {
	pattern *regexp.Regexp
	fact    string
	holds   func(d decls) bool
	example string
}{
	{
		pattern: regexp.MustCompile(`(?i)\bno (consumer )?groups\b|\bwithout (consumer )?groups\b|\bgroups? (are|is) not (yet )?(supported|implemented)`),
		fact:    "consumer groups exist: GroupConsumer",
		holds:   func(d decls) bool { return d.types["GroupConsumer"] },
		example: "keeps ([Consumer.Seek] and friends; there are no consumer groups yet).",
	},
	{
		pattern: regexp.MustCompile(`(?i)\bno auto\.offset\.reset\b|\bauto\.offset\.reset (is|are) not (yet )?(supported|implemented)`),
		fact:    "auto.offset.reset exists: GroupConfig.AutoOffsetReset",
		holds:   func(d decls) bool { return d.fields["GroupConfig.AutoOffsetReset"] },
		example: "There are no consumer groups yet and so no auto.offset.reset: the caller decides",
	},
	{
		pattern: regexp.MustCompile(`\bAnyPartition\b`),
		fact:    "AnyPartition is gone: the configured Partitioner decides, and ManualPartitioner honours Record.Partition",
		holds:   func(d decls) bool { return !d.values["AnyPartition"] && d.funcs["ManualPartitioner"] },
		example: "Partition is the partition to write to, or AnyPartition (-1) for the partitioner",
	},
	{
		pattern: regexp.MustCompile(`(?i)\ban explicit partition wins\b`),
		fact:    "the default partitioner ignores Record.Partition; only ManualPartitioner honours it",
		holds:   func(d decls) bool { return d.funcs["ManualPartitioner"] && d.funcs["StickyKeyPartitioner"] },
		example: "keyed records go to [KeyPartition], as with Kafka's clients; an explicit partition wins.",
	},
}

// decls are the names this package declares at top level, and its struct
// types' fields as Type.Field.
type decls struct {
	types, funcs, values, fields map[string]bool
}

func packageDecls(t *testing.T) decls {
	t.Helper()
	d := decls{types: map[string]bool{}, funcs: map[string]bool{}, values: map[string]bool{}, fields: map[string]bool{}}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					d.funcs[decl.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						d.types[spec.Name.Name] = true
						if st, ok := spec.Type.(*ast.StructType); ok {
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									d.fields[spec.Name.Name+"."+n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							d.values[n.Name] = true
						}
					}
				}
			}
		}
	}
	return d
}

// moduleRoot is the nearest directory above this one with a go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func TestNoStaleDocClaims(t *testing.T) {
	d := packageDecls(t)
	for _, c := range staleClaims {
		if !c.holds(d) {
			t.Errorf("the denylist entry %q is itself stale: no longer true that %s", c.pattern, c.fact)
		}
		if !c.pattern.MatchString(c.example) {
			t.Errorf("pattern %q does not match the sentence it was written for: %q", c.pattern, c.example)
		}
	}
	root := moduleRoot(t)
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != root && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" || e.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil // not this test's business: the build reports it
		}
		files++
		rel, _ := filepath.Rel(root, path)
		for _, cg := range f.Comments {
			// Comments wrap lines: match the text with its line breaks
			// turned into spaces.
			text := strings.Join(strings.Fields(cg.Text()), " ")
			for _, c := range staleClaims {
				if m := c.pattern.FindString(text); m != "" {
					t.Errorf("%s:%d: comment says %q, but %s", rel, fset.Position(cg.Pos()).Line, m, c.fact)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned only %d Go files under %s", files, root)
	}
}
