package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newClusterCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Describe the cluster: its brokers and its controller",
	}
	cmd.AddCommand(clusterDescribe(g))
	return cmd
}

func clusterDescribe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe",
		Short: "List the brokers, their addresses and liveness, and the active controller",
		Long: "List every registered broker with its native address and whether it is alive or fenced\n" +
			"(no heartbeat within broker.session.timeout.ms), and the active controller, as the\n" +
			"broker asked (--bootstrap-server) sees the cluster, e.g.\n" +
			"  sluice cluster describe --bootstrap-server 127.0.0.1:9193",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := c.DescribeCluster(cmd.Context())
			if err != nil {
				return fmt.Errorf("describe cluster: %w", err)
			}
			controller := "none"
			if info.ControllerID >= 0 {
				controller = fmt.Sprint(info.ControllerID)
			}
			fmt.Fprintf(g.stdout, "ClusterId: %s\tController: %s\tBrokers: %d\n", info.ClusterID, controller, len(info.Brokers))
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BROKER\tADDRESS\tSTATE\tCONTROLLER")
			for _, b := range info.Brokers {
				state, addr, isController := "alive", b.Addr, ""
				if b.Fenced {
					state = "fenced"
				}
				if addr == "" {
					addr = "-"
				}
				if b.NodeID == info.ControllerID {
					isController = "yes"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", b.NodeID, addr, state, isController)
			}
			return tw.Flush()
		},
	}
}
