// Command sluice is Sluice's command-line tool: topic administration and
// console producer and consumer, in the spirit of Kafka's kafka-topics,
// kafka-console-producer and kafka-console-consumer.
//
//	sluice topics create|delete|describe|list|alter-config|alter
//	sluice produce TOPIC < lines
//	sluice consume TOPIC [--from-beginning]
//
// Every command takes --bootstrap-server (default 127.0.0.1:9192). Errors
// go to stderr with a non-zero exit status.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	return 0
}
