package broker_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// FuzzParseProperties feeds arbitrary bytes to the .properties reader. It
// must never panic; it refuses only with ErrConfig; every entry it returns
// has a key and a line within the input; and what it read survives a write
// and a second read unchanged, one entry at a time and as a whole map.
func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{
		"a=1\nb : 2\nc 3\n",
		"# comment\n! comment\n\n  key = value  \n",
		"a=1\\\n   2\\\r\n3\rb\\:c\\=d\\ e=\\u0041\\t\\n\\\\",
		"k=\\uD83D\\uDE00 \\uD83D x \\uDE00",
		"k=\\u00\\\n  41",
		"=nokey",
		"k=\\u12",
		"a\\",
	} {
		f.Add([]byte(s))
	}
	// Kafka's example files (testdata/kafka) seed it with real ones.
	filepath.WalkDir(filepath.Join("testdata", "kafka"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".properties") {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := broker.ParsePropertyList(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, broker.ErrConfig) {
				t.Fatalf("error without ErrConfig: %v", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		props := map[string]string{}
		last := 0
		for _, p := range list {
			if p.Key == "" {
				t.Fatalf("empty key in %+v", p)
			}
			if p.Line <= last || p.Line > lines {
				t.Fatalf("entry %+v: line out of order or past the input's %d lines", p, lines)
			}
			last = p.Line
			props[p.Key] = p.Value

			// One entry written alone reads back as exactly that entry:
			// its key's separators, whitespace and comment marks are
			// escaped.
			one := broker.AppendProperty(nil, p.Key, p.Value)
			back, err := broker.ParsePropertyList(bytes.NewReader(one))
			if err != nil || len(back) != 1 || back[0].Key != p.Key || back[0].Value != p.Value || back[0].Line != 1 {
				t.Fatalf("entry %q=%q wrote %q, read back %+v, %v", p.Key, p.Value, one, back, err)
			}
		}
		var buf bytes.Buffer
		if err := broker.WriteProperties(&buf, props); err != nil {
			t.Fatal(err)
		}
		again, err := broker.ParseProperties(&buf)
		if err != nil {
			t.Fatalf("reading what was written: %v", err)
		}
		if !reflect.DeepEqual(again, props) {
			t.Fatalf("round trip:\n got %q\nwant %q", again, props)
		}
	})
}
