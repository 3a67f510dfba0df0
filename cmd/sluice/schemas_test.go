package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
)

// Avro schemas of one record as it evolves. orderV2 adds a field with a
// default (BACKWARD compatible); orderPriced adds one without (not).
const (
	orderV1     = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"}]}`
	orderV2     = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"qty","type":"int","default":1}]}`
	orderPriced = `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"},{"name":"price","type":"double"}]}`
)

// startRegistry starts a broker with its schema registry on 127.0.0.1:0
// and returns the built sluice binary and the registry's URL.
func startRegistry(t *testing.T) (bin, url string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin, _ = binaries(t)
	b := broker.StartTest(t, func(c *broker.Config) { c.SchemaRegistryListen = "127.0.0.1:0" })
	return bin, "http://" + b.SchemaRegistryAddr().String()
}

// writeSchemas writes each name → schema to a file in a temp directory and
// returns the files' paths by name.
func writeSchemas(t *testing.T, schemas map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, text := range schemas {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// deadURL is a registry URL nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func TestSchemaCLI(t *testing.T) {
	bin, url := startRegistry(t)
	files := writeSchemas(t, map[string]string{"v1.avsc": orderV1, "v2.avsc": orderV2, "priced.avsc": orderPriced})
	reg := "--schema-registry=" + url
	// run runs `sluice schemas args...` and wants it to succeed with
	// exactly want on stdout.
	run := func(stdin, want string, args ...string) {
		t.Helper()
		out, errOut, code := cli(t, bin, stdin, append(append([]string{"schemas"}, args...), reg)...)
		if code != 0 {
			t.Fatalf("sluice schemas %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		if out != want {
			t.Fatalf("sluice schemas %s printed\n%s\nwant\n%s", strings.Join(args, " "), out, want)
		}
	}
	// fail runs `sluice schemas args...` and wants exit 1 with want on
	// stdout and wantErr within stderr.
	fail := func(want, wantErr string, args ...string) {
		t.Helper()
		out, errOut, code := cli(t, bin, "", append(append([]string{"schemas"}, args...), reg)...)
		if code != 1 || out != want || !strings.Contains(errOut, wantErr) {
			t.Fatalf("sluice schemas %s: exit %d, stdout\n%s\nstderr %q; want exit 1, stdout\n%s\nstderr with %q",
				strings.Join(args, " "), code, out, errOut, want, wantErr)
		}
	}

	run("", "", "list")

	// Register from a file, again (nothing changes), from stdin, and as
	// text for a second subject.
	run("", "Registered orders-value version 1, id 1.\n", "register", "orders-value", "--schema-file", files["v1.avsc"])
	run("", "Subject orders-value already holds this schema as version 1, id 1.\n", "register", "orders-value", "--schema-file", files["v1.avsc"])
	run(orderV2, "Registered orders-value version 2, id 2.\n", "register", "orders-value", "--schema-file", "-")
	run("", "Registered payments-value version 1, id 3.\n", "register", "payments-value", "--schema", `"string"`)
	run(`"long"`, "Registered refunds-value version 1, id 4.\n", "register", "refunds-value", "--schema", "-")

	// get: the latest version, a given one, and a schema by id.
	v2Pretty := `{
  "type": "record",
  "name": "Order",
  "namespace": "shop",
  "fields": [
    {
      "name": "id",
      "type": "long"
    },
    {
      "name": "item",
      "type": "string"
    },
    {
      "name": "qty",
      "type": "int",
      "default": 1
    }
  ]
}
`
	run("", "Subject: orders-value\tVersion: 2\tID: 2\tType: AVRO\n"+v2Pretty, "get", "orders-value")
	run("", "Subject: orders-value\tVersion: 2\tID: 2\tType: AVRO\n"+v2Pretty, "get", "orders-value", "--version", "latest")
	run("", "Subject: orders-value\tVersion: 1\tID: 1\tType: AVRO\n"+`{
  "type": "record",
  "name": "Order",
  "namespace": "shop",
  "fields": [
    {
      "name": "id",
      "type": "long"
    },
    {
      "name": "item",
      "type": "string"
    }
  ]
}
`, "get", "orders-value", "--version", "1")
	run("", "ID: 3\tType: AVRO\n\"string\"\n", "get", "--id", "3")

	// list: subjects, then a subject's versions with their ids.
	run("", "orders-value\npayments-value\nrefunds-value\n", "list")
	run("", "VERSION  ID\n1        1\n2        2\n", "list", "orders-value")

	// check: compatible exits 0; incompatible exits 1 with the reasons.
	run("", "compatible\n", "check", "orders-value", "--schema-file", files["v2.avsc"])
	run("", "compatible\n", "check", "orders-value", "--schema-file", files["v2.avsc"], "--version", "1")
	fail("incompatible:\n  reader field \"price\" of record \"shop.Order\" has no default and is missing from the writer's schema (BACKWARD against version 2)\n",
		"sluice: the schema is incompatible with subject orders-value", "check", "orders-value", "--schema-file", files["priced.avsc"])
	fail("incompatible:\n  reader field \"price\" of record \"shop.Order\" has no default and is missing from the writer's schema (BACKWARD against version 1)\n",
		"incompatible with version 1 of subject orders-value", "check", "orders-value", "--schema-file", files["priced.avsc"], "--version", "1")
	// Registering it is refused with the registry's reasons, and nothing
	// is registered.
	fail("", `incompatible with an earlier schema for subject; details: reader field "price"`, "register", "orders-value", "--schema-file", files["priced.avsc"])
	run("", "VERSION  ID\n1        1\n2        2\n", "list", "orders-value")

	// config: global and per subject, shown and set (any case).
	run("", "Global compatibility level: BACKWARD\n", "config")
	run("", "Compatibility level of orders-value: BACKWARD (the global level; orders-value has none of its own)\n", "config", "orders-value")
	run("", "Compatibility level of orders-value set to NONE.\n", "config", "orders-value", "--set", "none")
	run("", "Compatibility level of orders-value: NONE\n", "config", "orders-value")
	run("", "Global compatibility level: BACKWARD\n", "config")
	run("", "compatible\n", "check", "orders-value", "--schema-file", files["priced.avsc"])
	run("", "Global compatibility level set to FULL_TRANSITIVE.\n", "config", "--set", "FULL_TRANSITIVE")
	run("", "Global compatibility level: FULL_TRANSITIVE\n", "config")
	run("", "Compatibility level of payments-value: FULL_TRANSITIVE (the global level; payments-value has none of its own)\n", "config", "payments-value")

	// delete: a version softly (listed only with --deleted), the subject
	// softly, then for good, which a permanent delete refuses before.
	run("", "Soft-deleted version 1 of subject orders-value.\n", "delete", "orders-value", "--version", "1")
	run("", "VERSION  ID\n2        2\n", "list", "orders-value")
	run("", "VERSION  ID  STATE\n1        1   soft-deleted\n2        2   live\n", "list", "orders-value", "--deleted")
	run("", "Permanently deleted version 1 of subject orders-value.\n", "delete", "orders-value", "--version", "1", "--permanent")
	run("", "VERSION  ID  STATE\n2        2   live\n", "list", "orders-value", "--deleted")
	fail("", "was not deleted first before being permanently deleted (a permanent delete comes after a soft one: run it once without --permanent)",
		"delete", "orders-value", "--permanent")
	run("", "Soft-deleted subject orders-value: version 2.\n", "delete", "orders-value")
	run("", "payments-value\nrefunds-value\n", "list")
	run("", "SUBJECT         STATE\norders-value    soft-deleted\npayments-value  live\nrefunds-value   live\n", "list", "--deleted")
	run("", "VERSION  ID  STATE\n2        2   soft-deleted\n", "list", "orders-value", "--deleted")
	fail("", "Subject 'orders-value' not found.", "get", "orders-value")
	// A soft-deleted schema's id still resolves, for records written with it.
	run("", "ID: 2\tType: AVRO\n"+v2Pretty, "get", "--id", "2")
	run("", "Permanently deleted subject orders-value: version 2.\n", "delete", "orders-value", "--permanent")
	run("", "SUBJECT         STATE\npayments-value  live\nrefunds-value   live\n", "list", "--deleted")
	fail("", "Subject 'orders-value' not found.", "list", "orders-value", "--deleted")

	// The latest version by name; a subject of several versions deleted
	// at once lists them all. NONE: the global FULL_TRANSITIVE would refuse
	// widening a string to a union.
	run("", "Compatibility level of payments-value set to NONE.\n", "config", "payments-value", "--set", "none")
	run("", "Registered payments-value version 2, id 5.\n", "register", "payments-value", "--schema", `["null","string"]`)
	run("", "Soft-deleted version 2 of subject payments-value.\n", "delete", "payments-value", "--version", "latest")
	run("", "Registered payments-value version 3, id 5.\n", "register", "payments-value", "--schema", `["null","string"]`)
	run("", "Soft-deleted subject payments-value: versions 1, 3.\n", "delete", "payments-value")
	run("", "Permanently deleted subject payments-value: versions 1, 2, 3.\n", "delete", "payments-value", "--permanent")
}

// TestSchemaCLIRegistryURL: --schema-registry wins over
// SLUICE_SCHEMA_REGISTRY, which wins over the default; several URLs fail
// over; an unreachable registry is named.
func TestSchemaCLIRegistryURL(t *testing.T) {
	bin, url := startRegistry(t)
	dead := deadURL(t)
	schemas := func(env string, args ...string) (string, string, int) {
		t.Helper()
		t.Setenv(registryEnv, env) // the built CLI inherits the test's environment
		return cli(t, bin, "", append([]string{"schemas"}, args...)...)
	}
	if out, errOut, code := schemas(url, "register", "s", "--schema", `"int"`); code != 0 || out != "Registered s version 1, id 1.\n" {
		t.Fatalf("registry from %s: exit %d, %q %s", registryEnv, code, out, errOut)
	}
	if out, errOut, code := schemas(dead, "list", "--schema-registry", url); code != 0 || out != "s\n" {
		t.Fatalf("--schema-registry over a dead %s: exit %d, %q %s", registryEnv, code, out, errOut)
	}
	if out, errOut, code := schemas("", "list", "--schema-registry", dead+","+url); code != 0 || out != "s\n" {
		t.Fatalf("failover from a dead URL: exit %d, %q %s", code, out, errOut)
	}
	for _, c := range []struct {
		name, env string
		args      []string
	}{
		{"dead flag", url, []string{"list", "--schema-registry", dead}},
		{"dead env", dead, []string{"list"}},
		{"every URL dead", "", []string{"get", "s", "--schema-registry", dead + "," + dead}},
	} {
		_, errOut, code := schemas(c.env, c.args...)
		want := "schema registry " + dead
		if c.name == "every URL dead" {
			want += "," + dead
		}
		if code != 1 || !strings.Contains(errOut, want+" unreachable") || !strings.Contains(errOut, "connection refused") {
			t.Errorf("%s: exit %d, stderr %q; want it to name %s", c.name, code, errOut, dead)
		}
	}
}

// TestSchemaCLIErrors: bad input exits 1 with a message that says what is
// wrong, the registry's own message when it refuses.
func TestSchemaCLIErrors(t *testing.T) {
	bin, url := startRegistry(t)
	files := writeSchemas(t, map[string]string{"v1.avsc": orderV1, "empty.avsc": "  "})
	reg := "--schema-registry=" + url
	if out, errOut, code := cli(t, bin, "", "schemas", "register", "orders-value", "--schema-file", files["v1.avsc"], reg); code != 0 {
		t.Fatalf("register: exit %d %s %s", code, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "missing.avsc")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown subject", []string{"get", "nosuch"}, "get nosuch version latest: registry error 40401 (HTTP 404): Subject 'nosuch' not found."},
		{"unknown subject's versions", []string{"list", "nosuch"}, "Subject 'nosuch' not found."},
		{"unknown version", []string{"get", "orders-value", "--version", "7"}, "Version 7 not found for subject 'orders-value'."},
		{"check an unknown version", []string{"check", "orders-value", "--schema-file", files["v1.avsc"], "--version", "7"}, "Version 7 not found"},
		{"unknown id", []string{"get", "--id", "99"}, "get schema id 99: registry error 40403 (HTTP 404): Schema not found"},
		{"delete an unknown subject", []string{"delete", "nosuch"}, "Subject 'nosuch' not found."},
		{"invalid schema", []string{"register", "x", "--schema", `{"type":"recrd"}`}, "registry error 42201 (HTTP 422): Invalid schema: avro: unknown type: recrd"},
		{"schema not JSON", []string{"register", "x", "--schema", `{"type":`}, "Invalid schema: not JSON"},
		{"check an invalid schema", []string{"check", "orders-value", "--schema", `{"type":"recrd"}`}, "Invalid schema"},
		{"no schema", []string{"register", "x"}, "give the schema with --schema-file FILE (- for stdin) or --schema TEXT"},
		{"check without a schema", []string{"check", "orders-value"}, "--schema-file"},
		{"two schemas", []string{"register", "x", "--schema-file", files["v1.avsc"], "--schema", `"int"`}, "not both"},
		{"missing file", []string{"register", "x", "--schema-file", missing}, "read the schema: open " + missing + ": no such file or directory"},
		{"empty file", []string{"register", "x", "--schema-file", files["empty.avsc"]}, "the schema from " + files["empty.avsc"] + " is empty"},
		{"unsupported type", []string{"register", "x", "--schema", `syntax = "proto3";`, "--schema-type", "protobuf"}, "Unsupported schema type PROTOBUF"},
		{"unknown type", []string{"register", "x", "--schema", `"int"`, "--schema-type", "thrift"}, `--schema-type "thrift": want AVRO, JSON or PROTOBUF`},
		{"invalid level", []string{"config", "--set", "loose"}, `--set "loose": not a compatibility level; want one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE`},
		{"invalid version", []string{"get", "orders-value", "--version", "two"}, `--version "two": want a version number (1, 2, ...) or latest`},
		{"version zero", []string{"delete", "orders-value", "--version", "0"}, "--version"},
		{"neither subject nor id", []string{"get"}, "give a SUBJECT (with --version N|latest) or --id ID"},
		{"subject and id", []string{"get", "orders-value", "--id", "1"}, "give a SUBJECT or --id, not both"},
		{"bad id", []string{"get", "--id", "0"}, "--id 0"},
		{"too many subjects", []string{"list", "a", "b"}, "accepts at most 1 arg"},
		{"register without a subject", []string{"register", "--schema", `"int"`}, "accepts 1 arg"},
		{"not a registry URL", []string{"list", "--schema-registry", "ftp://example.com"}, `--schema-registry: regclient: registry URL "ftp://example.com"`},
		{"unknown subcommand", []string{"frobnicate"}, `unknown command "frobnicate" for "sluice schemas"`},
	}
	for _, c := range cases {
		args := append([]string{"schemas"}, c.args...)
		if !strings.Contains(strings.Join(c.args, " "), "--schema-registry") {
			args = append(args, reg)
		}
		out, errOut, code := cli(t, bin, "", args...)
		if code == 0 {
			t.Errorf("%s: exit 0, stdout %q", c.name, out)
			continue
		}
		if !strings.Contains(errOut, c.want) {
			t.Errorf("%s: stderr %q does not say %q", c.name, errOut, c.want)
		}
	}
	// Nothing above registered anything.
	if out, _, _ := cli(t, bin, "", "schemas", "list", "--deleted", reg); out != "SUBJECT       STATE\norders-value  live\n" {
		t.Errorf("after the refusals the registry holds\n%s", out)
	}
}
