package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sluicelog/sluice/bench/perf"
)

// sluiceStartedRe finds the address in sluiced's start-up log line.
var sluiceStartedRe = regexp.MustCompile(`msg="broker started".*\blisten=(\S+)`)

// buildSluiced builds cmd/sluiced of the repository at root into dir.
func buildSluiced(ctx context.Context, root, dir string) (string, string, error) {
	bin := filepath.Join(dir, "sluiced")
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), root, err, out)
	}
	return bin, strings.Join(argv, " "), nil
}

// startSluiced starts the broker on 127.0.0.1:0 with data in dir, with a
// CPU profile of its whole run written to cpuprofile when that is set, and
// with more flags when given.
func startSluiced(ctx context.Context, bin, dir, cpuprofile string, flags ...string) (*child, error) {
	argv := []string{bin, "--data-dir", dir, "--listen", "127.0.0.1:0"}
	if cpuprofile != "" {
		argv = append(argv, "--cpuprofile", cpuprofile)
	}
	return startChild(ctx, "sluiced", append(argv, flags...), sluiceStartedRe)
}

// kafkaStartedRe finds the Kafka listener's address in sluiced's log.
var kafkaStartedRe = regexp.MustCompile(`msg="kafka listener started".*\bkafka=(\S+)`)

// kafkaAddr returns the Kafka listener's address of a started sluiced: its
// log line comes before the "broker started" line startChild waited for.
func kafkaAddr(c *child) (string, error) {
	for _, line := range strings.Split(c.output(), "\n") {
		if m := kafkaStartedRe.FindStringSubmatch(line); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("sluiced did not log a Kafka listener:\n%s", c.output())
}

// sluiceRun runs a bench/perf workload against a started sluiced.
func sluiceRun(ctx context.Context, addr string, cfg perf.Config, progress io.Writer) (*perf.Result, error) {
	cfg.Bootstrap = []string{addr}
	res, err := perf.Run(ctx, cfg, progress)
	if res != nil {
		res.Command = cfg.CommandLine()
	}
	return res, err
}
