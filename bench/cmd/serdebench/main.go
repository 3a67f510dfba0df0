// Command serdebench measures Sluice's Avro serializers against raw bytes:
// produce throughput of orders serialised with serde.AvroSerializer as
// they are sent against the same values' bytes serialised beforehand,
// consume throughput with each record deserialised with
// serde.AvroDeserializer against reading the bytes alone, and schema
// registry lookups a second from the warm caches against uncached HTTP
// requests to the broker's registry; it prints them as a section of
// BENCHMARKS.md. See package github.com/sluicelog/sluice/bench/serdebench.
//
//	go run ./bench/cmd/serdebench
//	go run ./bench/cmd/serdebench -quick
//	go run ./bench/cmd/serdebench -records 4000000 -rounds 5 -goroutines 64
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/serdebench"
)

func main() {
	var (
		records    = flag.Int64("records", serdebench.DefaultRecords, "records each produce and consume run moves")
		rounds     = flag.Int("rounds", serdebench.DefaultRounds, "rounds, each every phase once raw and once Avro (raw first in odd rounds, Avro first in even ones)")
		lookupTime = flag.Duration("lookup-duration", serdebench.DefaultLookupDuration, "how long each kind of registry lookup runs in a round")
		goroutines = flag.Int("goroutines", serdebench.DefaultGoroutines, "goroutines making registry lookups at once")
		quick      = flag.Bool("quick", false, fmt.Sprintf("small rounds (-rounds %d -records %d -lookup-duration %v): checks that every part works; the figures are noise",
			serdebench.Quick.Rounds, serdebench.Quick.Records, serdebench.Quick.LookupDuration))
		sluiced = flag.String("sluiced", "", "the sluiced binary (default: build ./cmd/sluiced)")
		props   = flag.String("config", "", "the broker's properties file (default cmd/sluiced/sluiced.properties)")
		dir     = flag.String("dir", "", "parent of the temporary data directory (default $TMPDIR)")
		asJSON  = flag.Bool("json", false, "print the report as JSON instead of markdown")
		quiet   = flag.Bool("q", false, "no progress lines on stderr")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serdebench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	cfg := serdebench.Config{Records: *records, Rounds: *rounds, LookupDuration: *lookupTime, Goroutines: *goroutines,
		Sluiced: *sluiced, BrokerConfig: *props, Dir: *dir, Command: hostinfo.CommandLine("./bench/cmd/serdebench")}
	if *quick {
		// -quick sets what the flags given explicitly do not.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		q := serdebench.Quick
		if !set["rounds"] {
			cfg.Rounds = q.Rounds
		}
		if !set["records"] {
			cfg.Records = q.Records
		}
		if !set["lookup-duration"] {
			cfg.LookupDuration = q.LookupDuration
		}
	}
	if !*quiet {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := serdebench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serdebench: %v\n", err)
		os.Exit(1)
	}
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "serdebench: %v\n", err)
		os.Exit(1)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(os.Stderr, "serdebench: %d check(s) failed\n", len(rep.Problems))
		os.Exit(1)
	}
}
