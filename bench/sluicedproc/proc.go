// Package sluicedproc runs a sluiced binary for a benchmark harness:
// builds it from the module, starts it on free ports with a properties
// file and overrides, watches its log (the "broker started" line gives
// the native address; a caller's hook sees every line), and stops it with
// SIGTERM, killing it if it does not exit in time.
//
// Invariants: a started broker dies with the harness where the OS allows
// (Pdeathsig on Linux); Stop and Kill wait for the process, so no broker
// outlives the harness's own cleanup; the log is read to its end before
// the process is reaped.
package sluicedproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ModuleDir finds the module root with `go env GOMOD`.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the Sluice module: run from the repository, or name the sluiced binary and its properties file")
	}
	return filepath.Dir(gomod), nil
}

// Build builds modDir's cmd/sluiced into dir; it returns the binary and
// the command that built it.
func Build(ctx context.Context, modDir, dir string) (string, string, error) {
	bin := filepath.Join(dir, "sluiced")
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), modDir, err, out)
	}
	return bin, "go build -o sluiced ./cmd/sluiced", nil
}

// GitDescribe names the working tree's commit, and whether it differs.
func GitDescribe(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "an unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	cmd = exec.CommandContext(ctx, "git", "status", "--porcelain", "--", ".")
	cmd.Dir = dir
	if dirty, err := cmd.Output(); err == nil && len(strings.TrimSpace(string(dirty))) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// Options say how to start a broker.
type Options struct {
	Bin, DataDir, Config string
	// Profile, when set, is where sluiced writes a CPU profile
	// (--cpuprofile; it ends with a graceful stop).
	Profile   string
	Overrides []string // each a --override key=value
	// OnLine, when set, sees every line the broker logs, with the time it
	// was read, on the goroutine reading the log: it must not block.
	OnLine func(line string, at time.Time)
	// StartTimeout bounds the wait for "broker started" (30 s).
	StartTimeout time.Duration
}

// Proc is a running sluiced.
type Proc struct {
	Argv []string
	Addr string // the native listener

	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited
	waitErr error

	mu    sync.Mutex
	lines []string // the last lines it logged
	warns []string // its WARN and ERROR lines, the first 20
}

var startedRe = regexp.MustCompile(`msg="broker started".*\blisten=(\S+)`)

// Start runs the broker with both client listeners on free ports (the
// properties file names fixed ones, which a broker already running here
// would hold) and waits for its "broker started" line.
func Start(ctx context.Context, o Options) (*Proc, error) {
	argv := []string{o.Bin, "--config", o.Config, "--data-dir", o.DataDir, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"}
	if o.Profile != "" {
		argv = append(argv, "--cpuprofile", o.Profile)
	}
	for _, ov := range o.Overrides {
		argv = append(argv, "--override", ov)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	dieWithParent(cmd)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(argv, " "), err)
	}
	p := &Proc{Argv: argv, cmd: cmd, done: make(chan struct{})}
	started := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if o.OnLine != nil {
				o.OnLine(line, time.Now())
			}
			p.add(line, started)
		}
		io.Copy(io.Discard, pipe)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(o.StartTimeout)
	defer timer.Stop()
	select {
	case p.Addr = <-started:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it started (%v):\n%s", strings.Join(argv, " "), p.waitErr, p.Tail())
	case <-timer.C:
		p.Kill()
		return nil, fmt.Errorf("%s did not log \"broker started\" within %v:\n%s", strings.Join(argv, " "), o.StartTimeout, p.Tail())
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
}

func (p *Proc) add(line string, started chan<- string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
	if len(p.lines) > 40 {
		p.lines = p.lines[len(p.lines)-40:]
	}
	if (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) && len(p.warns) < 20 {
		p.warns = append(p.warns, line)
	}
	if m := startedRe.FindStringSubmatch(line); m != nil {
		select {
		case started <- m[1]:
		default:
		}
	}
}

// Tail is the last lines the broker logged.
func (p *Proc) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// Warnings are the broker's first WARN and ERROR lines.
func (p *Proc) Warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.warns...)
}

// PID is the broker's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited; WaitErr then says how.
func (p *Proc) Done() <-chan struct{} { return p.done }

// WaitErr is the process's exit error, once Done is closed.
func (p *Proc) WaitErr() error { return p.waitErr }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM (a graceful stop, which also ends a CPU profile) and
// waits up to d; it returns the exit code, -1 if it had to kill.
func (p *Proc) Stop(d time.Duration) (int, error) {
	if p.Exited() {
		return p.cmd.ProcessState.ExitCode(), fmt.Errorf("the broker had already exited: %v", p.waitErr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-t.C:
		p.Kill()
		return -1, fmt.Errorf("the broker did not exit within %v of SIGTERM; killed", d)
	}
}

// Kill ends the broker at once (error paths) and waits for it.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}
