package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

const (
	// defaultRegistry is where Confluent's tools look for a registry too.
	defaultRegistry = "http://127.0.0.1:8081"
	// registryEnv names the registry when --schema-registry is not given,
	// so a shell pointed at one cluster need not repeat it.
	registryEnv = "SLUICE_SCHEMA_REGISTRY"
)

// schemaOpts are the flags every `sluice schemas` subcommand shares.
type schemaOpts struct {
	g        *globals
	registry string // --schema-registry, as given
}

func newSchemasCommand(g *globals) *cobra.Command {
	o := &schemaOpts{g: g}
	cmd := &cobra.Command{
		Use:   "schemas",
		Short: "Register, show, list, check and delete schemas and set compatibility levels in a schema registry",
		Long: "Talk to a schema registry with Confluent Schema Registry's REST API: the one built into\n" +
			"sluiced (schema.registry.listeners) or any other. The registry is --schema-registry, else\n" +
			"$" + registryEnv + ", else " + defaultRegistry + ", e.g.\n" +
			"  sluice schemas register orders-value --schema-file order.avsc\n" +
			"  sluice schemas check orders-value --schema-file order-v2.avsc && sluice schemas register orders-value --schema-file order-v2.avsc\n" +
			"  sluice schemas get orders-value --version latest",
		// Runnable only so that a mistyped subcommand is an error (exit 1)
		// rather than help and exit 0, which a script would take for success.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&o.registry, "schema-registry", defaultRegistry,
		"schema registry URL, comma-separated for several of one cluster; $"+registryEnv+" when not given")
	cmd.AddCommand(schemasRegister(o), schemasGet(o), schemasList(o), schemasCheck(o), schemasDelete(o), schemasConfig(o))
	return cmd
}

// urls is the registry the command talks to: the flag when given, else
// the environment, else the default.
func (o *schemaOpts) urls(cmd *cobra.Command) string {
	if !cmd.Flags().Changed("schema-registry") {
		if env, ok := os.LookupEnv(registryEnv); ok && strings.TrimSpace(env) != "" {
			return env
		}
	}
	return o.registry
}

// client opens a registry client.
func (o *schemaOpts) client(cmd *cobra.Command) (*regclient.Client, error) {
	c, err := regclient.New(regclient.Config{URLs: []string{o.urls(cmd)}, Timeout: o.g.timeout})
	if err != nil {
		return nil, fmt.Errorf("--schema-registry: %w", err)
	}
	return c, nil
}

// explain words a failed request for the user: the registry's own code
// and message for a refusal, the registry's URLs when none answered.
func (o *schemaOpts) explain(cmd *cobra.Command, what string, err error) error {
	var refusal *regclient.Error
	switch {
	case errors.As(err, &refusal):
		// Without regclient's "METHOD URL" prefix: the registry's message
		// is what tells the user what is wrong.
		err = fmt.Errorf("%s: %w", what, refusal)
		switch refusal.Code {
		case regclient.CodeSubjectNotSoftDeleted, regclient.CodeVersionNotSoftDeleted:
			err = fmt.Errorf("%w (a permanent delete comes after a soft one: run it once without --permanent)", err)
		}
		return err
	case errors.Is(err, regclient.ErrUnavailable):
		return fmt.Errorf("%s: schema registry %s unreachable (set --schema-registry or %s): %w", what, o.urls(cmd), registryEnv, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// schemaInput is where a command reads a schema from: --schema-file or
// --schema, "-" for stdin.
type schemaInput struct {
	file, text, typ string
}

func (in *schemaInput) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&in.file, "schema-file", "", "file holding the schema (- for stdin)")
	cmd.Flags().StringVar(&in.text, "schema", "", "the schema itself, e.g. '{\"type\":\"string\"}' (- for stdin)")
	cmd.Flags().StringVar(&in.typ, "schema-type", "AVRO", "schema language: AVRO, JSON or PROTOBUF (Sluice's registry holds AVRO only)")
}

func (in *schemaInput) read(stdin io.Reader) (regclient.Schema, error) {
	var text, from string
	switch {
	case in.file != "" && in.text != "":
		return regclient.Schema{}, errors.New("give --schema-file or --schema, not both")
	case in.file == "" && in.text == "":
		return regclient.Schema{}, errors.New("give the schema with --schema-file FILE (- for stdin) or --schema TEXT")
	case in.file == "-" || in.text == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return regclient.Schema{}, fmt.Errorf("read the schema from stdin: %w", err)
		}
		text, from = string(b), "stdin"
	case in.file != "":
		b, err := os.ReadFile(in.file)
		if err != nil {
			return regclient.Schema{}, fmt.Errorf("read the schema: %w", err)
		}
		text, from = string(b), in.file
	default:
		text, from = in.text, "--schema"
	}
	if strings.TrimSpace(text) == "" {
		return regclient.Schema{}, fmt.Errorf("the schema from %s is empty", from)
	}
	typ := regclient.SchemaType(strings.ToUpper(in.typ))
	switch typ {
	case regclient.Avro:
		typ = "" // as Confluent's serializers send Avro: no schemaType
	case regclient.JSON, regclient.Protobuf:
	default:
		return regclient.Schema{}, fmt.Errorf("--schema-type %q: want AVRO, JSON or PROTOBUF", in.typ)
	}
	return regclient.Schema{Schema: text, Type: typ}, nil
}

// parseVersion reads --version: a version number or "latest".
func parseVersion(s string) (int, error) {
	if strings.EqualFold(s, "latest") {
		return regclient.Latest, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("--version %q: want a version number (1, 2, ...) or latest", s)
	}
	return v, nil
}

func versionName(v int) string {
	if v == regclient.Latest {
		return "latest"
	}
	return strconv.Itoa(v)
}

func schemasRegister(o *schemaOpts) *cobra.Command {
	var in schemaInput
	cmd := &cobra.Command{
		Use:   "register SUBJECT --schema-file FILE",
		Short: "Register a schema as a subject's next version",
		Long: "Register a schema under a subject and print the version and id it got. A schema the\n" +
			"subject holds already is not registered again; a schema the subject's compatibility level\n" +
			"refuses is not registered and the registry's reasons are printed, e.g.\n" +
			"  sluice schemas register orders-value --schema-file order.avsc\n" +
			"  cat order.avsc | sluice schemas register orders-value --schema-file -",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject := args[0]
			s, err := in.read(o.g.stdin)
			if err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			// Asked first so that a re-run says nothing changed rather than
			// claiming a registration: the registry answers both with the
			// same id.
			had, err := c.Lookup(ctx, subject, s)
			switch {
			case err == nil:
				fmt.Fprintf(o.g.stdout, "Subject %s already holds this schema as version %d, id %d.\n", subject, had.Version, had.ID)
				return nil
			case !errors.Is(err, regclient.ErrSubjectNotFound) && !errors.Is(err, regclient.ErrSchemaNotFound):
				return o.explain(cmd, "register a schema under "+subject, err)
			}
			id, err := c.Register(ctx, subject, s)
			if err != nil {
				return o.explain(cmd, "register a schema under "+subject, err)
			}
			got, err := c.Lookup(ctx, subject, s)
			if err != nil {
				return o.explain(cmd, fmt.Sprintf("registered under %s with id %d, but look up its version", subject, id), err)
			}
			fmt.Fprintf(o.g.stdout, "Registered %s version %d, id %d.\n", subject, got.Version, id)
			return nil
		},
	}
	in.addFlags(cmd)
	return cmd
}

func schemasGet(o *schemaOpts) *cobra.Command {
	var version string
	var id int
	cmd := &cobra.Command{
		Use:   "get SUBJECT [--version N|latest] | get --id ID",
		Short: "Show a version of a subject, or the schema with an id",
		Long: "Show a subject's version (the latest unless --version says) with its id and the schema\n" +
			"pretty-printed, or with --id the schema a record's id names, e.g.\n" +
			"  sluice schemas get orders-value --version 2\n" +
			"  sluice schemas get --id 7",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			byID := cmd.Flags().Changed("id")
			switch {
			case byID && len(args) > 0:
				return errors.New("give a SUBJECT or --id, not both")
			case byID && cmd.Flags().Changed("version"):
				return errors.New("--version goes with a SUBJECT, not with --id")
			case !byID && len(args) == 0:
				return errors.New("give a SUBJECT (with --version N|latest) or --id ID")
			case byID && id < 1:
				return fmt.Errorf("--id %d: schema ids start at 1", id)
			}
			v, err := parseVersion(version)
			if err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			if byID {
				s, err := c.SchemaByID(cmd.Context(), id)
				if err != nil {
					return o.explain(cmd, fmt.Sprintf("get schema id %d", id), err)
				}
				fmt.Fprintf(o.g.stdout, "ID: %d\tType: %s\n", id, typeName(s))
				return printSchema(o.g.stdout, s.Schema)
			}
			subject := args[0]
			s, err := c.Version(cmd.Context(), subject, v)
			if err != nil {
				return o.explain(cmd, fmt.Sprintf("get %s version %s", subject, versionName(v)), err)
			}
			fmt.Fprintf(o.g.stdout, "Subject: %s\tVersion: %d\tID: %d\tType: %s\n", s.Subject, s.Version, s.ID, typeName(s.Schema))
			return printSchema(o.g.stdout, s.Schema.Schema)
		},
	}
	cmd.Flags().StringVar(&version, "version", "latest", "the subject's version: a number or latest")
	cmd.Flags().IntVar(&id, "id", 0, "show the schema with this id instead of a subject's")
	return cmd
}

func typeName(s regclient.Schema) string {
	if s.IsAvro() {
		return string(regclient.Avro)
	}
	return string(s.Type)
}

// printSchema writes a schema indented when it is JSON (Avro, JSON
// Schema), as it is otherwise (Protobuf).
func printSchema(w io.Writer, text string) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(text), "", "  "); err != nil {
		buf.Reset()
		buf.WriteString(text)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func schemasList(o *schemaOpts) *cobra.Command {
	var deleted bool
	cmd := &cobra.Command{
		Use:   "list [SUBJECT]",
		Short: "List subjects, or a subject's versions with their ids",
		Long: "List the subjects, or with a SUBJECT its versions and their schema ids. --deleted adds\n" +
			"what was soft-deleted (and still may be deleted permanently), marked so, e.g.\n" +
			"  sluice schemas list\n" +
			"  sluice schemas list orders-value --deleted",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			if len(args) == 0 {
				return o.listSubjects(cmd, c, deleted)
			}
			return o.listVersions(cmd, c, args[0], deleted)
		},
	}
	cmd.Flags().BoolVar(&deleted, "deleted", false, "include soft-deleted subjects or versions")
	return cmd
}

// listSubjects prints the subjects; with deleted, a table of the live and
// the soft-deleted ones.
func (o *schemaOpts) listSubjects(cmd *cobra.Command, c *regclient.Client, deleted bool) error {
	ctx := cmd.Context()
	names, err := c.Subjects(ctx, readOpts(deleted)...)
	if err != nil {
		return o.explain(cmd, "list subjects", err)
	}
	if !deleted {
		for _, n := range names {
			fmt.Fprintln(o.g.stdout, n)
		}
		return nil
	}
	liveNames, err := c.Subjects(ctx)
	if err != nil {
		return o.explain(cmd, "list subjects", err)
	}
	tw := tabwriter.NewWriter(o.g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tSTATE")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\n", n, liveOrDeleted(slices.Contains(liveNames, n)))
	}
	return tw.Flush()
}

// listVersions prints a table of the subject's versions with their ids;
// with deleted, the soft-deleted ones too, marked.
func (o *schemaOpts) listVersions(cmd *cobra.Command, c *regclient.Client, subject string, deleted bool) error {
	ctx := cmd.Context()
	versions, err := c.Versions(ctx, subject, readOpts(deleted)...)
	if err != nil {
		return o.explain(cmd, "list versions of "+subject, err)
	}
	var liveVersions []int
	if deleted {
		liveVersions, err = c.Versions(ctx, subject)
		if err != nil && !errors.Is(err, regclient.ErrSubjectNotFound) { // not found: every version is soft-deleted
			return o.explain(cmd, "list versions of "+subject, err)
		}
	}
	tw := tabwriter.NewWriter(o.g.stdout, 0, 4, 2, ' ', 0)
	if deleted {
		fmt.Fprintln(tw, "VERSION\tID\tSTATE")
	} else {
		fmt.Fprintln(tw, "VERSION\tID")
	}
	for _, v := range versions {
		s, err := c.Version(ctx, subject, v, readOpts(deleted)...)
		if err != nil {
			return o.explain(cmd, fmt.Sprintf("get %s version %d", subject, v), err)
		}
		if deleted {
			fmt.Fprintf(tw, "%d\t%d\t%s\n", v, s.ID, liveOrDeleted(slices.Contains(liveVersions, v)))
		} else {
			fmt.Fprintf(tw, "%d\t%d\n", v, s.ID)
		}
	}
	return tw.Flush()
}

// readOpts asks for soft-deleted subjects and versions too, with deleted.
func readOpts(deleted bool) []regclient.ReadOption {
	if deleted {
		return []regclient.ReadOption{regclient.IncludeDeleted()}
	}
	return nil
}

func liveOrDeleted(live bool) string {
	if live {
		return "live"
	}
	return "soft-deleted"
}

// errIncompatible makes `schemas check` exit non-zero after printing why,
// so that a script can branch on the exit status.
var errIncompatible = errors.New("the schema is incompatible")

func schemasCheck(o *schemaOpts) *cobra.Command {
	var in schemaInput
	var version string
	cmd := &cobra.Command{
		Use:   "check SUBJECT --schema-file FILE [--version N|latest]",
		Short: "Check whether a schema may be registered under a subject",
		Long: "Test a schema under the subject's compatibility level: against the versions registering it\n" +
			"would be checked against (all of them for the *_TRANSITIVE levels), or with --version against\n" +
			"that one. Prints compatible and exits 0, or incompatible: and the registry's reasons and\n" +
			"exits 1, e.g.\n" +
			"  sluice schemas check orders-value --schema-file order-v2.avsc && sluice schemas register orders-value --schema-file order-v2.avsc",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject := args[0]
			v, against := regclient.AllVersions, "subject "+subject
			if cmd.Flags().Changed("version") {
				var err error
				if v, err = parseVersion(version); err != nil {
					return err
				}
				against = fmt.Sprintf("version %s of subject %s", versionName(v), subject)
			}
			s, err := in.read(o.g.stdin)
			if err != nil {
				return err
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.CheckCompatibility(cmd.Context(), subject, v, s)
			if err != nil {
				return o.explain(cmd, "check against "+against, err)
			}
			if res.Compatible {
				fmt.Fprintln(o.g.stdout, "compatible")
				return nil
			}
			fmt.Fprintln(o.g.stdout, "incompatible:")
			for _, m := range res.Messages {
				fmt.Fprintf(o.g.stdout, "  %s\n", m)
			}
			if len(res.Messages) == 0 {
				fmt.Fprintln(o.g.stdout, "  (the registry gave no reasons)")
			}
			return fmt.Errorf("%w with %s", errIncompatible, against)
		},
	}
	in.addFlags(cmd)
	cmd.Flags().StringVar(&version, "version", "", "check against this version only: a number or latest (default: as registering would)")
	return cmd
}

func schemasDelete(o *schemaOpts) *cobra.Command {
	var version string
	var permanent bool
	cmd := &cobra.Command{
		Use:   "delete SUBJECT [--version N|latest] [--permanent]",
		Short: "Delete a subject or one of its versions, softly or for good",
		Long: "Delete a subject (every version) or, with --version, one version. A soft delete hides it\n" +
			"from readers by subject while its ids still resolve; --permanent then removes it for good\n" +
			"(the registry wants the soft delete first), e.g.\n" +
			"  sluice schemas delete orders-value --version 1\n" +
			"  sluice schemas delete orders-value && sluice schemas delete orders-value --permanent",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject := args[0]
			one := cmd.Flags().Changed("version")
			v := 0
			if one {
				var err error
				if v, err = parseVersion(version); err != nil {
					return err
				}
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			how := "Soft-deleted"
			if permanent {
				how = "Permanently deleted"
			}
			if one {
				got, err := c.DeleteVersion(cmd.Context(), subject, v, permanent)
				if err != nil {
					return o.explain(cmd, fmt.Sprintf("delete %s version %s", subject, versionName(v)), err)
				}
				fmt.Fprintf(o.g.stdout, "%s version %d of subject %s.\n", how, got, subject)
				return nil
			}
			got, err := c.DeleteSubject(cmd.Context(), subject, permanent)
			if err != nil {
				return o.explain(cmd, "delete subject "+subject, err)
			}
			fmt.Fprintf(o.g.stdout, "%s subject %s: %s %s.\n", how, subject, plural(len(got), "version", "versions"), joinInts(got))
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "delete only this version: a number or latest")
	cmd.Flags().BoolVar(&permanent, "permanent", false, "delete for good what was soft-deleted")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func schemasConfig(o *schemaOpts) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "config [SUBJECT] [--set LEVEL]",
		Short: "Show or set the compatibility level, global or of a subject",
		Long: "Show the compatibility level of a subject (or the global one without a SUBJECT), or set it\n" +
			"with --set: BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,\n" +
			"FULL_TRANSITIVE or NONE, e.g.\n" +
			"  sluice schemas config --set FULL\n" +
			"  sluice schemas config orders-value --set backward_transitive",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject := ""
			if len(args) == 1 {
				subject = args[0]
			}
			var level regclient.Level
			if cmd.Flags().Changed("set") {
				var err error
				if level, err = parseLevel(set); err != nil {
					return err
				}
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			if level != "" {
				got, err := c.SetCompatibilityLevel(ctx, subject, level)
				if err != nil {
					return o.explain(cmd, "set the compatibility level", err)
				}
				if subject == "" {
					fmt.Fprintf(o.g.stdout, "Global compatibility level set to %s.\n", got)
				} else {
					fmt.Fprintf(o.g.stdout, "Compatibility level of %s set to %s.\n", subject, got)
				}
				return nil
			}
			if subject == "" {
				got, err := c.CompatibilityLevel(ctx, "")
				if err != nil {
					return o.explain(cmd, "get the global compatibility level", err)
				}
				fmt.Fprintf(o.g.stdout, "Global compatibility level: %s\n", got)
				return nil
			}
			// A registry answers a subject's own level, or 40408 when it
			// has none (without ?defaultToGlobal=true), so the user
			// learns whether it has one.
			got, err := c.CompatibilityLevel(ctx, subject)
			if err == nil {
				fmt.Fprintf(o.g.stdout, "Compatibility level of %s: %s\n", subject, got)
				return nil
			}
			if !errors.Is(err, regclient.ErrCompatibilityNotSet) {
				return o.explain(cmd, "get the compatibility level of "+subject, err)
			}
			global, err := c.CompatibilityLevel(ctx, "")
			if err != nil {
				return o.explain(cmd, "get the global compatibility level", err)
			}
			fmt.Fprintf(o.g.stdout, "Compatibility level of %s: %s (the global level; %s has none of its own)\n", subject, global, subject)
			return nil
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "the level to set (case does not matter)")
	return cmd
}

var levels = []regclient.Level{
	regclient.Backward, regclient.BackwardTransitive, regclient.Forward, regclient.ForwardTransitive,
	regclient.Full, regclient.FullTransitive, regclient.None,
}

// parseLevel checks --set here rather than leaving it to the registry, so
// a typo is named with the levels there are before any request.
func parseLevel(s string) (regclient.Level, error) {
	l := regclient.Level(strings.ToUpper(strings.TrimSpace(s)))
	if slices.Contains(levels, l) {
		return l, nil
	}
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = string(l)
	}
	return "", fmt.Errorf("--set %q: not a compatibility level; want one of %s", s, strings.Join(names, ", "))
}
