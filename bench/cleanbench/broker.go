package cleanbench

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

// moduleDir finds the module root with `go env GOMOD`.
func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the Sluice module: run from the repository, or set Config.Sluiced and Config.BrokerConfig")
	}
	return filepath.Dir(gomod), nil
}

// buildSluiced builds modDir's cmd/sluiced into dir; it returns the binary
// and the command that built it.
func buildSluiced(ctx context.Context, modDir, dir string) (string, string, error) {
	bin := filepath.Join(dir, "sluiced")
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), modDir, err, out)
	}
	return bin, "go build -o sluiced ./cmd/sluiced", nil
}

// gitDescribe names the working tree's commit, and whether it differs.
func gitDescribe(ctx context.Context, dir string) string {
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

// broker is a running sluiced.
type broker struct {
	cmd  *exec.Cmd
	argv []string
	addr string // the native listener

	done    chan struct{} // closed once the process has exited
	waitErr error

	// cleaned receives the broker's "log cleaned" lines, with the time
	// each was read.
	cleaned chan logLine

	mu    sync.Mutex
	lines []string // the last lines it logged
	warns []string // its WARN and ERROR lines, the first 20
}

// logLine is a line the broker logged and when this process read it.
type logLine struct {
	text string
	at   time.Time
}

var startedRe = regexp.MustCompile(`msg="broker started".*\blisten=(\S+)`)

// startBroker runs bin on dataDir with the properties file config and the
// overrides, and waits for its "broker started" line.
func startBroker(ctx context.Context, bin, dataDir, config string, overrides []string) (*broker, error) {
	// Both client listeners on free ports: the properties file names
	// fixed ones, which a broker already running here would hold.
	argv := []string{bin, "--config", config, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"}
	for _, o := range overrides {
		argv = append(argv, "--override", o)
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
	b := &broker{cmd: cmd, argv: argv, done: make(chan struct{}), cleaned: make(chan logLine, 64)}
	started := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			b.add(sc.Text(), started)
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
	case b.addr = <-started:
		return b, nil
	case <-b.done:
		return nil, fmt.Errorf("%s exited before it started (%v):\n%s", strings.Join(argv, " "), b.waitErr, b.tail())
	case <-timer.C:
		b.kill()
		return nil, fmt.Errorf("%s did not log \"broker started\" within 30s:\n%s", strings.Join(argv, " "), b.tail())
	case <-ctx.Done():
		b.kill()
		return nil, ctx.Err()
	}
}

func (b *broker) add(line string, started chan<- string) {
	now := time.Now()
	if strings.Contains(line, `msg="log cleaned"`) {
		select {
		case b.cleaned <- logLine{text: line, at: now}:
		default: // nobody waits for this many
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
	if len(b.lines) > 40 {
		b.lines = b.lines[len(b.lines)-40:]
	}
	if (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) && len(b.warns) < 20 {
		b.warns = append(b.warns, line)
	}
	if m := startedRe.FindStringSubmatch(line); m != nil {
		select {
		case started <- m[1]:
		default:
		}
	}
}

// waitCleaned waits up to d for the "log cleaned" line of topic's
// partition 0; it returns the cleaning and when the line was read.
func (b *broker) waitCleaned(ctx context.Context, topic string, d time.Duration) (BrokerClean, time.Time, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l := <-b.cleaned:
			if c, ok := parseCleaned(l.text, topic); ok {
				return c, l.at, nil
			}
		case <-b.done:
			return BrokerClean{}, time.Time{}, fmt.Errorf("the broker exited (%v):\n%s", b.waitErr, b.tail())
		case <-timer.C:
			return BrokerClean{}, time.Time{}, fmt.Errorf("%w of %s within %v:\n%s", errNoEvent, topic, d, b.tail())
		case <-ctx.Done():
			return BrokerClean{}, time.Time{}, ctx.Err()
		}
	}
}

func (b *broker) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

func (b *broker) warnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.warns...)
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

func (b *broker) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to d; it returns the exit code, -1 if
// it had to kill.
func (b *broker) stop(d time.Duration) (int, error) {
	if b.exited() {
		return b.cmd.ProcessState.ExitCode(), fmt.Errorf("the broker had already exited: %v", b.waitErr)
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-b.done:
		return b.cmd.ProcessState.ExitCode(), nil
	case <-t.C:
		b.kill()
		return -1, fmt.Errorf("the broker did not exit within %v of SIGTERM; killed", d)
	}
}

// kill ends the broker at once (error paths) and waits for it.
func (b *broker) kill() {
	if b.exited() {
		return
	}
	b.cmd.Process.Kill()
	<-b.done
}
