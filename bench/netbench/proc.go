package netbench

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

// quoteArgs renders argv as a shell command line.
func quoteArgs(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// moduleDir finds the module root with `go env GOMOD`.
func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the Sluice module (go env GOMOD is empty): run from the repository or set Config.ModuleDir")
	}
	return filepath.Dir(gomod), nil
}

// buildSluiced builds cmd/sluiced into dir and returns the binary's path.
func buildSluiced(ctx context.Context, modDir, dir string) (string, string, error) {
	bin := filepath.Join(dir, "sluiced")
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s (in %s): %w\n%s", quoteArgs(argv), modDir, err, out)
	}
	return bin, quoteArgs(argv), nil
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// brokerProc is a running sluiced.
type brokerProc struct {
	cmd     *exec.Cmd
	argv    []string
	addr    string
	stderr  *tailBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	warned  []string // WARN and ERROR lines it logged
	wmu     sync.Mutex
}

var startedRe = regexp.MustCompile(`msg="broker started".*\blisten=(\S+)`)

// startBroker runs the broker and waits for its "broker started" line.
func startBroker(ctx context.Context, bin, dataDir, config string, overrides ...string) (*brokerProc, error) {
	// Both listeners on free ports: the properties file names fixed ones,
	// which a broker already running here (make run, or another netbench)
	// would hold.
	argv := []string{bin, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"}
	if config != "" {
		argv = append(argv, "--config", config)
	}
	for _, o := range overrides {
		argv = append(argv, "--override", o)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	dieWithParent(cmd, syscall.SIGTERM)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", quoteArgs(argv), err)
	}
	b := &brokerProc{cmd: cmd, argv: argv, stderr: &tailBuffer{max: 40}, done: make(chan struct{})}
	addrCh := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			b.stderr.add(line)
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				b.wmu.Lock()
				if len(b.warned) < 20 {
					b.warned = append(b.warned, line)
				}
				b.wmu.Unlock()
			}
			if m := startedRe.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		b.waitErr = cmd.Wait()
		close(b.done)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case b.addr = <-addrCh:
		return b, nil
	case <-b.done:
		return nil, fmt.Errorf("%s exited before it started listening (%v):\n%s", quoteArgs(argv), b.waitErr, strings.Join(b.stderr.get(), "\n"))
	case <-timer.C:
		b.kill()
		return nil, fmt.Errorf("%s did not log \"broker started\" within 30s:\n%s", quoteArgs(argv), strings.Join(b.stderr.get(), "\n"))
	case <-ctx.Done():
		b.kill()
		return nil, ctx.Err()
	}
}

func (b *brokerProc) pid() int { return b.cmd.Process.Pid }

func (b *brokerProc) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

func (b *brokerProc) warnings() []string {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	return append([]string(nil), b.warned...)
}

// stop sends SIGTERM and waits up to timeout for the exit; it returns the
// exit code (-1 if killed or not exited) and how long the stop took.
func (b *brokerProc) stop(timeout time.Duration) (int, time.Duration, error) {
	start := time.Now()
	if b.exited() {
		return b.cmd.ProcessState.ExitCode(), 0, fmt.Errorf("the broker had already exited: %v", b.waitErr)
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, 0, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-b.done:
		return b.cmd.ProcessState.ExitCode(), time.Since(start), nil
	case <-timer.C:
		b.kill()
		return -1, time.Since(start), fmt.Errorf("the broker did not exit within %v of SIGTERM; killed", timeout)
	}
}

// kill ends the broker at once (error paths only) and waits for it.
func (b *brokerProc) kill() {
	if b.exited() {
		return
	}
	b.cmd.Process.Kill()
	<-b.done
}

// helperProc is a running sink or source helper.
type helperProc struct {
	cmd  *exec.Cmd
	argv []string
	addr string
	out  *bufio.Reader
	errb *strings.Builder
}

// startHelper runs exe with args and reads its "listen=ADDR" line.
func startHelper(ctx context.Context, exe string, args ...string) (*helperProc, error) {
	argv := append([]string{exe}, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	dieWithParent(cmd, syscall.SIGKILL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	h := &helperProc{cmd: cmd, argv: argv, out: bufio.NewReader(stdout), errb: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: h.errb}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", quoteArgs(argv), err)
	}
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := h.out.ReadString('\n')
		ch <- res{line, err}
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case r := <-ch:
		addr, ok := strings.CutPrefix(strings.TrimSpace(r.line), "listen=")
		if r.err != nil || !ok {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("%s: no listen= line (got %q, %v); stderr: %s", quoteArgs(argv), r.line, r.err, h.errb.String())
		}
		h.addr = addr
		return h, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("%s did not start listening", quoteArgs(argv))
}

// finish waits for the helper to exit and returns the byte count it
// reported.
func (h *helperProc) finish() (int64, error) {
	rest, _ := io.ReadAll(h.out)
	err := h.cmd.Wait()
	if err != nil {
		return 0, fmt.Errorf("%s: %w; stderr: %s", quoteArgs(h.argv), err, h.errb.String())
	}
	var n int64
	for _, line := range strings.Split(string(rest), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "bytes="); ok {
			if _, err := fmt.Sscan(v, &n); err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("%s: no bytes= line in %q", quoteArgs(h.argv), rest)
}

// kill ends the helper (error paths).
func (h *helperProc) kill() {
	if h.cmd.ProcessState == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
