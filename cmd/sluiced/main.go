// Command sluiced runs a Sluice broker: a single node, or a member of a
// cluster whose brokers agree on metadata through a raft quorum
// (process.roles and controller.quorum.voters, Kafka's KRaft properties).
//
//	sluiced [--config server.properties] [--override key=value ...]
//
// The configuration uses Kafka's broker property names (see
// --help-config); --override, --data-dir, --listen and --kafka-listen win
// over the file.
// SIGINT or SIGTERM stop the broker gracefully: it stops accepting, answers
// the requests it has read, flushes every log and marks a clean shutdown.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// overrides collects repeated --override key=value flags.
type overrides map[string]string

func (o overrides) String() string { return fmt.Sprint(map[string]string(o)) }

func (o overrides) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	o[strings.TrimSpace(k)] = strings.TrimSpace(val)
	return nil
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluiced", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "broker properties file (Kafka property names)")
	dataDir := fs.String("data-dir", "", "data directory (log.dirs); overrides the file")
	listen := fs.String("listen", "", "native protocol address host:port (listeners=SLUICE://host:port); overrides the file")
	kafkaListen := fs.String("kafka-listen", "", "Kafka protocol address host:port (listeners=PLAINTEXT://host:port); overrides the file")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long a graceful shutdown may take")
	helpConfig := fs.Bool("help-config", false, "list the accepted properties and exit")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the broker's whole run to this file")
	over := overrides{}
	fs.Var(over, "override", "property key=value, may repeat; wins over the file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sluiced [flags]\n\nRuns a Sluice broker: a single node, or a cluster member when\nprocess.roles and controller.quorum.voters are set (see --help-config).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluiced: unexpected arguments %q (use --config FILE)\n", fs.Args())
		return 2
	}
	if *helpConfig {
		for _, line := range broker.PropertyDocs() {
			fmt.Fprintln(stderr, line)
		}
		return 0
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "sluiced: %v\n", err)
		return 2
	}

	cfg := broker.DefaultConfig()
	if *configPath != "" {
		if err := cfg.LoadFile(*configPath); err != nil {
			fmt.Fprintf(stderr, "sluiced: %v\n", err)
			return 2
		}
	}
	if err := cfg.ApplyProperties(over); err != nil {
		fmt.Fprintf(stderr, "sluiced: --override: %v\n", err)
		return 2
	}
	// Kafka's own keys that Sluice has no use for start it all the same,
	// with one warning line each.
	cfg.WarnIgnored(logger)
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *kafkaListen != "" {
		cfg.KafkaListen = *kafkaListen
	}

	// Signals are caught before anything starts: a SIGTERM that arrives
	// while the broker recovers its logs or joins its quorum stops it
	// cleanly instead of killing it half-started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("starting", "node_id", cfg.NodeID, "data_dir", cfg.DataDir)

	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sluiced: --cpuprofile: %v\n", err)
			return 2
		}
		defer stopProfile()
	}
	if cfg.MetricsListen != "" {
		// /debug/pprof/mutex samples one contended unlock in 100: cheap,
		// as it costs nothing without contention. The block profile stays
		// off: it would cost on every blocking channel and lock operation.
		runtime.SetMutexProfileFraction(100)
	}
	b, err := broker.StartContext(ctx, cfg, logger)
	if err != nil {
		if ctx.Err() != nil {
			logger.Info("stopped while starting", "signal", "received")
			return 0
		}
		fmt.Fprintf(stderr, "sluiced: %v\n", err)
		return 1
	}
	code := 0
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "signal", "received")
	case err := <-b.Done():
		logger.Error("listener failed", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := b.Close(sctx); err != nil {
		return 1
	}
	return code
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
