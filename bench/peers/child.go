package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process: sluiced, or this binary with -serve.
type child struct {
	name string
	cmd  *exec.Cmd
	addr string
	done chan struct{}

	mu   sync.Mutex
	tail []string // its last lines of output
	err  error    // Wait's result
}

// startChild starts argv and waits until a line of its output matches re,
// whose first group is the address it listens on.
func startChild(ctx context.Context, name string, argv []string, re *regexp.Regexp) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	setDeathSignal(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.tail = append(c.tail, line)
			if len(c.tail) > 30 {
				c.tail = c.tail[1:]
			}
			c.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case c.addr = <-addr:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, c.waitErr(), c.output())
	case <-t.C:
		c.stop()
		return nil, fmt.Errorf("%s did not say where it listens within 30 s:\n%s", name, c.output())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

func (c *child) waitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// stop sends SIGTERM and waits (SIGKILL after 30 s); it returns an error
// if the process did not exit cleanly.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within 30 s of SIGTERM", c.name)
	}
	if err := c.waitErr(); err != nil {
		return fmt.Errorf("%s: %w\n%s", c.name, err, c.output())
	}
	return nil
}

// serveMain runs the hidden -serve KIND [DIR [durable]] mode: a server
// for the parent, which prints "listening on ADDR" and runs until SIGTERM.
func serveMain(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "-serve: want kfake|nats|sink [dir] [durable]")
		return 2
	}
	dir := ""
	if len(args) > 1 {
		dir = args[1]
	}
	durable := len(args) > 2 && args[2] == "durable"
	var (
		addr string
		stop func()
		err  error
	)
	switch args[0] {
	case "kfake":
		addr, stop, err = serveKfake(dir, durable)
	case "nats":
		addr, stop, err = serveNATS(dir, durable)
	case "sink":
		addr, stop, err = serveSink()
	default:
		err = fmt.Errorf("unknown server %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "-serve %s: %v\n", args[0], err)
		return 1
	}
	fmt.Printf("listening on %s\n", addr)
	waitForSignal()
	stop()
	return 0
}

// childListenRe matches the -serve line.
var childListenRe = regexp.MustCompile(`^listening on (\S+)$`)

// startServer re-executes this binary as a server of the given kind.
func startServer(ctx context.Context, kind, dir string, durable bool) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary: %w", err)
	}
	argv := []string{self, "-serve", kind, dir}
	if durable {
		argv = append(argv, "durable")
	}
	return startChild(ctx, kind, argv, childListenRe)
}
