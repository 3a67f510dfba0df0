package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/net/client"
)

// globals are the flags every command shares.
type globals struct {
	bootstrap string
	timeout   time.Duration

	stdin          io.Reader
	stdout, stderr io.Writer
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Administer topics and produce and consume records on a Sluice broker",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.bootstrap, "bootstrap-server", "127.0.0.1:9192", "broker address host:port (comma-separated for several)")
	root.PersistentFlags().DurationVar(&g.timeout, "request-timeout", 30*time.Second, "timeout of each request to the broker")
	root.AddCommand(newTopicsCommand(g), newProduceCommand(g), newConsumeCommand(g))
	root.AddCommand(newGroupsCommand(g), newClusterCommand(g))
	root.AddCommand(newBenchCommand(g))
	root.AddCommand(newTopCommand(g))
	root.AddCommand(newSchemasCommand(g))
	root.AddCommand(newLogCommand(g), newConfigsCommand(g))
	return root
}

// connect opens a client to the bootstrap servers.
func (g *globals) connect(ctx context.Context) (*client.Client, error) {
	var servers []string
	for _, s := range strings.Split(g.bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("--bootstrap-server is empty")
	}
	c, err := client.New(ctx, client.Config{BootstrapServers: servers, RequestTimeout: g.timeout, DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", g.bootstrap, err)
	}
	return c, nil
}

// parseConfigs turns repeated k=v flags into a map.
func parseConfigs(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--config %q: want key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
