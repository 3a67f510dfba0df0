package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

const orderSchema = `{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":"string"},
  {"name":"qty","type":"int"},
  {"name":"price","type":"double"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":"string"},"default":[]}
]}`

// orderV2Schema adds a field with a default: a reader with it reads v1's
// records with the default.
const orderV2Schema = `{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":"string"},
  {"name":"qty","type":"int"},
  {"name":"price","type":"double"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
  {"name":"currency","type":"string","default":"EUR"}
]}`

// TestCLIFormats: produce and consume with --value-format avro (JSON lines
// in, JSON out, the schema registered in the broker's registry, a reader
// schema applying evolution) and with Kafka's int, long and double byte
// layouts; bad lines and missing schemas exit non-zero naming the line.
func TestCLIFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ := binaries(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := broker.StartTest(t, func(c *broker.Config) { c.SchemaRegistryListener = ln })
	bs := "--bootstrap-server=" + b.Addr().String()
	sr := "--schema-registry=http://" + ln.Addr().String()
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "order.avsc"), filepath.Join(dir, "order-v2.avsc")
	os.WriteFile(v1, []byte(orderSchema), 0o644)
	os.WriteFile(v2, []byte(orderV2Schema), 0o644)

	lines := `{"id": 1, "customer": "ada", "qty": 2, "price": 9.5, "status": "NEW"}
{"id": 9007199254740993, "customer": "bob", "qty": 1, "price": 0.25, "status": "PAID", "note": "gift", "tags": ["x", "y"]}
{"id": 3, "customer": "cy", "qty": 5, "price": 1, "status": "NEW", "note": {"string": "wrapped"}}
`
	if out, errOut, code := cli(t, bin, lines, "produce", "orders", "--value-format", "avro", "--value-schema", v1, sr, bs); code != 0 {
		t.Fatalf("produce avro: %d %s %s", code, out, errOut)
	}
	out, errOut, code := cli(t, bin, "", "consume", "orders", "--from-beginning", "--max-messages", "3", "--timeout", "20s", "--value-format", "avro", sr, bs)
	if code != 0 {
		t.Fatalf("consume avro: %d %s", code, errOut)
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		`{"customer":"ada","id":1,"note":null,"price":9.5,"qty":2,"status":"NEW","tags":[]}`,
		`{"customer":"bob","id":9007199254740993,"note":"gift","price":0.25,"qty":1,"status":"PAID","tags":["x","y"]}`,
		`{"customer":"cy","id":3,"note":"wrapped","price":1,"qty":5,"status":"NEW","tags":[]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("consumed as written:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	// A reader schema applies evolution: v2's new field takes its default.
	out, errOut, code = cli(t, bin, "", "consume", "orders", "--from-beginning", "--max-messages", "1", "--timeout", "20s", "--value-format", "avro", "--value-schema", v2, sr, bs)
	if code != 0 || !strings.Contains(out, `"currency":"EUR"`) || !strings.Contains(out, `"customer":"ada"`) {
		t.Fatalf("consume with a reader schema: %d %q %s", code, out, errOut)
	}
	// The schema is in the registry under orders-value.
	if out, errOut, code := cli(t, bin, "", "schemas", "list", "orders-value", sr); code != 0 || !strings.Contains(out, "1") {
		t.Fatalf("schemas list: %d %s %s", code, out, errOut)
	}

	// Kafka's fixed-width layouts, keys and values.
	if out, errOut, code := cli(t, bin, "7:123456789012\n-1:42\n", "produce", "numbers", "--key-separator", ":", "--key-format", "int", "--value-format", "long", bs); code != 0 {
		t.Fatalf("produce int/long: %d %s %s", code, out, errOut)
	}
	out, errOut, code = cli(t, bin, "", "consume", "numbers", "--from-beginning", "--max-messages", "2", "--timeout", "20s", "--print-key", "--key-format", "int", "--value-format", "long", bs)
	if code != 0 || out != "7\t123456789012\n-1\t42\n" {
		t.Fatalf("consume int/long: %d %q %s", code, out, errOut)
	}
	if _, errOut, code := cli(t, bin, "2.5\n-0.125\n", "produce", "doubles", "--value-format", "double", bs); code != 0 {
		t.Fatalf("produce double: %s", errOut)
	}
	out, _, _ = cli(t, bin, "", "consume", "doubles", "--from-beginning", "--max-messages", "2", "--timeout", "20s", "--value-format", "double", bs)
	if out != "2.5\n-0.125\n" {
		t.Fatalf("consume double: %q", out)
	}

	// Bad input: each exits non-zero with the line and the reason.
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{`{"id": 1}` + "\n", []string{"produce", "orders", "--value-format", "avro", "--value-schema", v1, sr}, `line 1: value: the value: field "customer" is missing`},
		{`{"id": 1` + "\n", []string{"produce", "orders", "--value-format", "avro", "--value-schema", v1, sr}, "line 1: value: not JSON"},
		{`{"id": "one", "customer": "x", "qty": 1, "price": 1, "status": "NEW"}` + "\n", []string{"produce", "orders", "--value-format", "avro", "--value-schema", v1, sr}, `id: "one" is not an integer`},
		{"x\n", []string{"produce", "orders", "--value-format", "avro", sr}, "avro needs a writer schema"},
		{"x\n", []string{"produce", "orders", "--value-format", "xml", sr}, "--value-format \"xml\""},
		{"abc\n", []string{"produce", "numbers", "--value-format", "long"}, `line 1: value: "abc" is not a long`},
		{"1:2\n", []string{"produce", "numbers", "--key-format", "int", "--value-format", "long"}, "--key-format needs --key-separator"},
		{"", []string{"consume", "numbers", "--from-beginning", "--max-messages", "1", "--timeout", "20s", "--value-format", "avro", sr}, "numbers-0 offset 0: value"},
		{"{}\n", []string{"produce", "orders", "--value-format", "avro", "--value-schema", filepath.Join(dir, "missing.avsc"), sr}, "--value-schema"},
		{"{}\n", []string{"produce", "orders", "--value-format", "avro", "--value-schema", v1, "--schema-registry=http://127.0.0.1:1"}, "127.0.0.1:1"},
	} {
		if out, errOut, code := cli(t, bin, c.stdin, append(c.args, bs)...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a failure saying %q", c.args, code, out, errOut, c.want)
		}
	}
}
