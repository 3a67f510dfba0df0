// Command sluice is Sluice's command-line tool: topic and group
// administration, console producer and consumer, schemas, in the spirit of
// Kafka's kafka-topics, kafka-consumer-groups, kafka-console-producer,
// kafka-console-consumer and Confluent's kafka-avro-console-producer.
//
//	sluice topics create|delete|describe|list|alter-config|alter
//	sluice groups list|describe|delete|reset-offsets|...
//	sluice produce TOPIC [--value-format avro --value-schema F.avsc] < lines
//	sluice consume TOPIC [--from-beginning] [--value-format avro]
//	sluice schemas register|get|list|check|delete|config
//	sluice configs describe|alter --entity-type topics|brokers (kafka-configs)
//	sluice log dump --files SEGMENT.log,SEGMENT.index (kafka-dump-log, offline)
//	sluice top, sluice bench
//
// Every command takes --bootstrap-server (default 127.0.0.1:9192); the
// schema commands and formats take --schema-registry (default
// http://127.0.0.1:8081). Errors go to stderr with a non-zero exit status.
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
