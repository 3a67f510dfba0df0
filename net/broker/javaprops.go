package broker

// The .properties format, read and written as java.util.Properties does
// (load and store), so that a Kafka server.properties means the same to
// sluiced as to Kafka:
//
//   - A natural line ends at \n, \r or \r\n. Its leading whitespace (space,
//     tab, form feed) is skipped; a line left empty is blank, and one whose
//     first character is # or ! is a comment.
//   - A line ending in an odd number of backslashes continues on the next:
//     the backslash and the line break go, and so does the next line's
//     leading whitespace. A comment never continues, and a continued line is
//     never a comment. A backslash ending the input is dropped.
//   - The key runs to the first unescaped '=', ':' or whitespace; then
//     whitespace, at most one '=' or ':', and whitespace again are skipped,
//     and the rest of the line, trailing whitespace included, is the value.
//     A line with a key alone has the empty value.
//   - In keys and values, \t \n \r \f are those characters, \uXXXX is a
//     UTF-16 code unit (a surrogate pair makes one rune), and a backslash
//     before any other character stands for that character (\: \= \  \\ \#).
//
// Where this reader departs from Java's, it is stricter or more Go-like:
// input is UTF-8 rather than ISO 8859-1 (bytes are passed through as they
// are, valid or not), a malformed \u escape is an error naming its line
// (Java throws without one), and so is an empty key, which Kafka could only
// ignore. Invariant: for any key and value, parsing what AppendProperty
// writes gives them back byte for byte.

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// maxPropertiesBytes bounds what ParseProperties reads: a broker's
// configuration is a few kilobytes, and the whole input is held at once.
const maxPropertiesBytes = 16 << 20

// Property is one key=value entry of a properties file, with the line its
// entry starts on (1-based).
type Property struct {
	Key, Value string
	Line       int
}

// ParsePropertyList reads r in the .properties format and returns every
// entry in order, repeated keys included. Errors wrap ErrConfig and name the
// line.
func ParsePropertyList(r io.Reader) ([]Property, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPropertiesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if len(data) > maxPropertiesBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrConfig, maxPropertiesBytes)
	}
	return parseProperties(data)
}

// ParseProperties reads r in the .properties format (see the file comment):
// the last value of a repeated key wins, as in Java.
func ParseProperties(r io.Reader) (map[string]string, error) {
	list, err := ParsePropertyList(r)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string, len(list))
	for _, p := range list {
		props[p.Key] = p.Value
	}
	return props, nil
}

// isPropSpace is Java's whitespace for properties: space, tab, form feed.
func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// logicalLine is one entry's text before unescaping, joined from its
// natural lines; starts[i] is where natural line first+i begins in raw.
type logicalLine struct {
	raw    []byte
	first  int
	starts []int
}

// lineAt is the natural line that raw[off] came from.
func (l *logicalLine) lineAt(off int) int {
	// The last line starting at or before off: an empty continuation line
	// starts where the next one does and holds nothing.
	i, _ := slices.BinarySearch(l.starts, off+1)
	return l.first + max(i-1, 0)
}

func parseProperties(data []byte) ([]Property, error) {
	var out []Property
	pos, lineNo := 0, 0
	// next returns the natural line at pos, without its terminator.
	next := func() ([]byte, bool) {
		if pos >= len(data) {
			return nil, false
		}
		lineNo++
		end := pos
		for end < len(data) && data[end] != '\n' && data[end] != '\r' {
			end++
		}
		line := data[pos:end]
		pos = end
		if pos < len(data) {
			if data[pos] == '\r' && pos+1 < len(data) && data[pos+1] == '\n' {
				pos++
			}
			pos++
		}
		return line, true
	}
	for {
		nl, ok := next()
		if !ok {
			return out, nil
		}
		nl = bytes.TrimLeft(nl, " \t\f")
		if len(nl) == 0 || nl[0] == '#' || nl[0] == '!' {
			continue
		}
		ll := logicalLine{first: lineNo, starts: []int{0}}
		for {
			odd := false
			for i := len(nl) - 1; i >= 0 && nl[i] == '\\'; i-- {
				odd = !odd
			}
			if !odd {
				ll.raw = append(ll.raw, nl...)
				break
			}
			ll.raw = append(ll.raw, nl[:len(nl)-1]...)
			if nl, ok = next(); !ok {
				break
			}
			nl = bytes.TrimLeft(nl, " \t\f")
			ll.starts = append(ll.starts, len(ll.raw))
		}
		p, err := splitEntry(&ll)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

// splitEntry cuts a logical line into its key and value and unescapes both.
func splitEntry(ll *logicalLine) (Property, error) {
	raw := ll.raw
	keyEnd, valStart, hasSep, escaped := len(raw), len(raw), false, false
	for i, c := range raw {
		if !escaped && (c == '=' || c == ':') {
			keyEnd, valStart, hasSep = i, i+1, true
			break
		}
		if !escaped && isPropSpace(c) {
			keyEnd, valStart = i, i+1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valStart < len(raw) {
		c := raw[valStart]
		if !isPropSpace(c) {
			if hasSep || c != '=' && c != ':' {
				break
			}
			hasSep = true
		}
		valStart++
	}
	key, err := unescapeProperty(ll, 0, keyEnd)
	if err != nil {
		return Property{}, err
	}
	if key == "" {
		return Property{}, fmt.Errorf("%w: line %d: %q has no key before its value", ErrConfig, ll.first, raw)
	}
	val, err := unescapeProperty(ll, valStart, len(raw))
	if err != nil {
		return Property{}, err
	}
	return Property{Key: key, Value: val, Line: ll.first}, nil
}

// unescapeProperty decodes raw[from:to] of a logical line.
func unescapeProperty(ll *logicalLine, from, to int) (string, error) {
	s := ll.raw[from:to]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s), nil
	}
	out := make([]byte, 0, len(s))
	pendingHigh := rune(-1) // a high surrogate waiting for its low half
	flushHigh := func() {
		if pendingHigh >= 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flushHigh()
			out = append(out, c)
			continue
		}
		i++
		if i == len(s) {
			// Only a splitting bug could leave a lone backslash here:
			// an odd one at the end of a line continues it.
			break
		}
		switch c = s[i]; c {
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		case 'u':
			u, ok := hex4(s[i+1:])
			if !ok {
				end := min(i+5, len(s))
				return "", fmt.Errorf("%w: line %d: malformed unicode escape %q: \\u takes four hexadecimal digits",
					ErrConfig, ll.lineAt(from+i-1), "\\"+string(s[i:end]))
			}
			i += 4
			r := rune(u)
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00:
				flushHigh()
				pendingHigh = r
			case utf16.IsSurrogate(r) && pendingHigh >= 0:
				out = utf8.AppendRune(out, utf16.DecodeRune(pendingHigh, r))
				pendingHigh = -1
			default:
				flushHigh()
				out = utf8.AppendRune(out, r) // a lone low surrogate becomes U+FFFD
			}
			continue
		}
		flushHigh()
		out = append(out, c)
	}
	flushHigh()
	return string(out), nil
}

// hex4 reads four hexadecimal digits at the start of s.
func hex4(s []byte) (uint16, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var v uint16
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

// AppendProperty appends one key=value line, escaped so that
// ParsePropertyList reads key and value back exactly: separators,
// whitespace and comment marks in the key, a leading space in the value,
// backslashes and control characters in both. Bytes from 0x80 up are
// written as they are (the file is UTF-8).
func AppendProperty(dst []byte, key, value string) []byte {
	dst = appendEscaped(dst, key, true)
	dst = append(dst, '=')
	dst = appendEscaped(dst, value, false)
	return append(dst, '\n')
}

func appendEscaped(dst []byte, s string, isKey bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		case c == ' ' && (isKey || i == 0):
			dst = append(dst, '\\', ' ')
		case isKey && (c == '=' || c == ':' || c == '#' || c == '!'):
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// WriteProperties writes props to w in the .properties format, one entry a
// line, sorted by key.
func WriteProperties(w io.Writer, props map[string]string) error {
	var buf []byte
	for _, k := range slices.Sorted(maps.Keys(props)) {
		buf = AppendProperty(buf, k, props[k])
	}
	_, err := w.Write(buf)
	return err
}
