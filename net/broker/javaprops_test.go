package broker_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// TestParsePropertiesJavaFormat reads the .properties format as
// java.util.Properties.load does, one rule of it a case.
func TestParsePropertiesJavaFormat(t *testing.T) {
	type kv = map[string]string
	cases := []struct {
		name, in string
		want     kv
	}{
		{"equals", "a=1", kv{"a": "1"}},
		{"colon", "a:1", kv{"a": "1"}},
		{"whitespace separator", "a 1", kv{"a": "1"}},
		{"tab separator", "a\t1", kv{"a": "1"}},
		{"form feed separator", "a\f1", kv{"a": "1"}},
		{"spaces around equals", "a   =   1", kv{"a": "1"}},
		{"spaces around colon", "a : 1", kv{"a": "1"}},
		{"whitespace then equals", "a \t= 1", kv{"a": "1"}},
		{"only the first separator counts", "a==1", kv{"a": "=1"}},
		{"colon after equals is value", "a=:1", kv{"a": ":1"}},
		{"separator in value", "url=http://h:1/p?q=2", kv{"url": "http://h:1/p?q=2"}},
		{"leading whitespace of line", "  \t\fa=1", kv{"a": "1"}},
		{"trailing whitespace kept", "a=1  ", kv{"a": "1  "}},
		{"key alone", "a", kv{"a": ""}},
		{"key then equals", "a=", kv{"a": ""}},
		{"key then spaces", "a   ", kv{"a": ""}},
		{"empty value with colon", "a:", kv{"a": ""}},
		{"hash comment", "# a=1\nb=2", kv{"b": "2"}},
		{"bang comment", "! a=1\nb=2", kv{"b": "2"}},
		{"indented comment", "   # a=1\n\t! c=3\nb=2", kv{"b": "2"}},
		{"hash inside value", "a=1 # not a comment", kv{"a": "1 # not a comment"}},
		{"blank lines", "\n\n  \n\t\na=1\n\n", kv{"a": "1"}},
		{"CRLF", "a=1\r\nb=2\r\n", kv{"a": "1", "b": "2"}},
		{"CR alone", "a=1\rb=2", kv{"a": "1", "b": "2"}},
		{"no final newline", "a=1\nb=2", kv{"b": "2", "a": "1"}},
		{"last wins", "a=1\na=2", kv{"a": "2"}},
		{"continuation", "a=1\\\n2", kv{"a": "12"}},
		{"continuation drops leading whitespace", "a=one, \\\n    two", kv{"a": "one, two"}},
		{"continuation over CRLF", "a=1\\\r\n  2\r\n", kv{"a": "12"}},
		{"continuation over several lines", "a=1\\\n 2\\\n\t3\\\n  4", kv{"a": "1234"}},
		{"continued line is not a comment", "a=1\\\n# 2", kv{"a": "1# 2"}},
		{"comment does not continue", "# a=1\\\nb=2", kv{"b": "2"}},
		{"continuation through an empty line", "a=1\\\n\nb=2", kv{"a": "1", "b": "2"}},
		{"continued key", "lo\\\n  g.dirs=/d", kv{"log.dirs": "/d"}},
		{"backslash at end of input", "a=1\\", kv{"a": "1"}},
		{"even backslashes do not continue", "a=1\\\\\nb=2", kv{"a": "1\\", "b": "2"}},
		{"odd backslashes continue", "a=1\\\\\\\nb=2", kv{"a": "1\\b=2"}},
		{"escaped colon in key", "a\\:b=1", kv{"a:b": "1"}},
		{"escaped equals in key", "a\\=b=1", kv{"a=b": "1"}},
		{"escaped space in key", "a\\ b 1", kv{"a b": "1"}},
		{"escaped hash starts a key", "\\#a=1", kv{"#a": "1"}},
		{"escaped bang starts a key", "\\!a=1", kv{"!a": "1"}},
		{"escapes in value", `a=\t\n\r\f\\\=\:\ \#\!`, kv{"a": "\t\n\r\f\\=: #!"}},
		{"escaped leading space in value", `a=\  1`, kv{"a": "  1"}},
		{"unknown escape gives the character", `a=\q\z\é`, kv{"a": "qzé"}},
		{"unicode escape", `a=caf\u00e9 \u0041\u00DF`, kv{"a": "café Aß"}},
		{"unicode escape in key", `\u006eode.id=1`, kv{"node.id": "1"}},
		{"unicode-escaped separator is literal", `a\u003db=1`, kv{"a=b": "1"}},
		{"surrogate pair", `a=\uD83D\uDE00`, kv{"a": "\U0001F600"}},
		{"lone high surrogate", `a=\uD83Dx`, kv{"a": "\uFFFDx"}},
		{"lone low surrogate", `a=\uDE00`, kv{"a": "\uFFFD"}},
		{"unicode escape across a continuation", "a=\\u00\\\n  41", kv{"a": "A"}},
		{"UTF-8 passes through", "clé=värde", kv{"clé": "värde"}},
	}
	for _, tc := range cases {
		got, err := broker.ParseProperties(strings.NewReader(tc.in))
		if err != nil {
			t.Errorf("%s: %q: %v", tc.name, tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestParsePropertiesErrors: what the reader refuses, with the line that
// holds the fault.
func TestParsePropertiesErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"short unicode escape", "a=1\nb=\\u12", "line 2: malformed unicode escape"},
		{"non-hex unicode escape", "# c\n\na=\\u12g4", "line 3: malformed unicode escape"},
		{"bad escape in key", "\\uzzzz=1", "line 1: malformed unicode escape"},
		{"bad escape on a continuation line", "a=1\\\n  2\\\n  \\u00", "line 3: malformed unicode escape"},
		{"no key", "=1", "line 1"},
		{"no key after colon", "x=1\n  : 1", "line 2"},
	}
	for _, tc := range cases {
		_, err := broker.ParseProperties(strings.NewReader(tc.in))
		if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q: %v, want ErrConfig with %q", tc.name, tc.in, err, tc.want)
		}
	}
}

// TestParsePropertyListLines: every entry in order, repeats included, with
// the line it starts on.
func TestParsePropertyListLines(t *testing.T) {
	in := "# header\n\na=1\nb=2\\\n  3\nc\na=4\n"
	got, err := broker.ParsePropertyList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []broker.Property{{"a", "1", 3}, {"b", "23", 4}, {"c", "", 6}, {"a", "4", 7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestWritePropertiesRoundTrip: what WriteProperties writes reads back the
// same, however awkward the keys and values.
func TestWritePropertiesRoundTrip(t *testing.T) {
	props := map[string]string{
		"plain":                "value",
		"key with spaces":      "  leading and trailing  ",
		"k=e:y#!":              "v=a:l#!",
		"#comment-like":        "!also",
		"ctl\x01\x7f":          "\x00\x1f",
		"esc\\apes":            "back\\slash\\",
		"lines\n\r\t\f":        "\n\r\t\f",
		"empty":                "",
		"unicode é \U0001F600": "ß \uFFFD",
		"bad utf8 \xff":        "\xfe\xc3",
		"trailing backslash":   "\\",
	}
	var buf bytes.Buffer
	if err := broker.WriteProperties(&buf, props); err != nil {
		t.Fatal(err)
	}
	got, err := broker.ParseProperties(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, props) {
		t.Fatalf("round trip:\n got %q\nwant %q", got, props)
	}
}
