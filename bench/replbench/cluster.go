package replbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Size is how many brokers the cluster has.
const Size = 3

// buildSluiced builds cmd/sluiced into dir; it returns the binary and the
// command that built it.
func buildSluiced(ctx context.Context, dir string) (string, string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", "", errors.New("not inside the Sluice module: run from the repository, or pass the sluiced binary (Config.Sluiced)")
	}
	bin := filepath.Join(dir, "sluiced")
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return bin, "go build -o sluiced ./cmd/sluiced", nil
}

// logLines keeps every line a broker process logged, over its restarts.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

// mark is the count of lines so far: count and wait look past it.
func (l *logLines) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// count returns how many lines after mark contain s.
func (l *logLines) count(mark int, s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines[min(mark, len(l.lines)):] {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func (l *logLines) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// node is one broker: its addresses and data directory outlive its
// processes, so a restart is the same broker.
type node struct {
	id                        int32
	native, kafka, controller string
	dir                       string
	log                       *logLines
	// profile, if set, is where the process writes its CPU profile
	// (sluiced --cpuprofile); a restart writes a new file beside it.
	profile  string
	restarts int

	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited

	meta *kgo.Client // a client that asks this broker only
}

// cluster is Size sluiced processes on 127.0.0.1, each a broker and a
// controller, started with the same properties.
type cluster struct {
	bin    string
	props  []string // properties every node gets (--override)
	voters string
	nodes  []*node
	logf   func(string, ...any)

	metaMu sync.Mutex // guards every node's meta client
}

// startCluster picks free ports and starts the brokers together (none can
// form the quorum alone), then waits until each lists every broker. A
// start that lost a port to another process is tried again on new ports.
func startCluster(ctx context.Context, bin, dir string, props []string, profileDir string, logf func(string, ...any)) (*cluster, error) {
	for attempt := 1; ; attempt++ {
		c, err := tryCluster(ctx, bin, dir, attempt, props, profileDir, logf)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, err
		}
		logf("replbench: a port was taken before a broker bound it; starting again on new ports")
	}
}

var errPortTaken = errors.New("a broker's port was taken")

func tryCluster(ctx context.Context, bin, dir string, attempt int, props []string, profileDir string, logf func(string, ...any)) (*cluster, error) {
	addrs, err := freeAddrs(3 * Size)
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, props: props, logf: logf}
	var voters []string
	for i := range Size {
		nd := &node{id: int32(i + 1), native: addrs[3*i], kafka: addrs[3*i+1], controller: addrs[3*i+2],
			dir: filepath.Join(dir, fmt.Sprintf("a%d-broker%d", attempt, i+1)), log: &logLines{}}
		if profileDir != "" {
			nd.profile = filepath.Join(profileDir, fmt.Sprintf("broker%d", nd.id))
		}
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		voters = append(voters, fmt.Sprintf("%d@%s", nd.id, nd.controller))
	}
	c.voters = strings.Join(voters, ",")
	for _, nd := range c.nodes {
		if err := c.start(nd); err != nil {
			c.kill()
			return nil, err
		}
	}
	for _, nd := range c.nodes {
		if err := c.waitStarted(ctx, nd, 0, 60*time.Second); err != nil {
			c.kill()
			return nil, err
		}
	}
	if err := c.waitBrokers(ctx, c.ids(), 30*time.Second); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// freeAddrs returns n addresses of 127.0.0.1 that were free a moment ago.
func freeAddrs(n int) ([]string, error) {
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// args are the flags that make a sluiced process node nd.
func (c *cluster) args(nd *node) []string {
	props := []string{
		fmt.Sprintf("node.id=%d", nd.id),
		"process.roles=broker,controller",
		"controller.quorum.voters=" + c.voters,
		"controller.listener.names=CONTROLLER",
		fmt.Sprintf("listeners=SLUICE://%s,PLAINTEXT://%s,CONTROLLER://%s", nd.native, nd.kafka, nd.controller),
		"inter.broker.listener.name=PLAINTEXT",
	}
	args := []string{"--data-dir", nd.dir}
	if nd.profile != "" {
		p := nd.profile + ".pprof"
		if nd.restarts > 0 {
			p = fmt.Sprintf("%s-restart%d.pprof", nd.profile, nd.restarts)
		}
		args = append(args, "--cpuprofile", p)
	}
	for _, p := range append(props, c.props...) {
		args = append(args, "--override", p)
	}
	return args
}

// start starts (or restarts) nd; its log lines go to nd.log.
func (c *cluster) start(nd *node) error {
	cmd := exec.Command(c.bin, c.args(nd)...)
	dieWithParent(cmd)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting broker %d: %w", nd.id, err)
	}
	nd.restarts++
	nd.cmd, nd.done = cmd, make(chan struct{})
	done, lg := nd.done, nd.log
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lg.add(sc.Text())
		}
		io.Copy(io.Discard, pipe)
		cmd.Wait()
		close(done)
	}()
	return nil
}

func (nd *node) exited() bool {
	if nd.done == nil {
		return true
	}
	select {
	case <-nd.done:
		return true
	default:
		return false
	}
}

// waitStarted waits for nd to log "broker started" after log line mark.
func (c *cluster) waitStarted(ctx context.Context, nd *node, mark int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for nd.log.count(mark, `msg="broker started"`) == 0 {
		if nd.exited() {
			if nd.log.count(mark, "address already in use") > 0 {
				return errPortTaken
			}
			return fmt.Errorf("broker %d exited before it started:\n%s", nd.id, nd.log.tail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker %d did not start within %v:\n%s", nd.id, d, nd.log.tail(30))
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// kill9 sends SIGKILL to nd's process and waits until it has exited.
func (nd *node) kill9() {
	if nd.exited() {
		return
	}
	nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.done
}

// stop sends SIGTERM (a graceful stop, which also ends a CPU profile) and
// waits up to d, then kills.
func (nd *node) stop(d time.Duration) error {
	if nd.exited() {
		return nil
	}
	nd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-nd.done:
		if code := nd.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("broker %d exited with status %d after SIGTERM", nd.id, code)
		}
		return nil
	case <-time.After(d):
		nd.kill9()
		return fmt.Errorf("broker %d did not stop within %v of SIGTERM; killed", nd.id, d)
	}
}

// close stops every broker gracefully, all at once.
func (c *cluster) close() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	c.closeMeta()
	for i, nd := range c.nodes {
		wg.Go(func() { errs[i] = nd.stop(30 * time.Second) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// kill ends every broker at once (error paths).
func (c *cluster) kill() {
	c.closeMeta()
	for _, nd := range c.nodes {
		nd.kill9()
	}
}

func (c *cluster) closeMeta() {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	for _, nd := range c.nodes {
		if nd.meta != nil {
			nd.meta.Close()
			nd.meta = nil
		}
	}
}

func (c *cluster) ids() []int32 {
	var out []int32
	for _, nd := range c.nodes {
		out = append(out, nd.id)
	}
	return out
}

func (c *cluster) node(id int32) *node { return c.nodes[id-1] }

// seeds are the brokers' Kafka listeners.
func (c *cluster) seeds() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.kafka)
	}
	return out
}

// metadata asks broker id, and only it, for Kafka Metadata of topics
// (nil: every topic).
func (c *cluster) metadata(ctx context.Context, id int32, topics ...string) (*kmsg.MetadataResponse, error) {
	nd := c.node(id)
	c.metaMu.Lock()
	if nd.meta == nil {
		cl, err := kgo.NewClient(kgo.SeedBrokers(nd.kafka), kgo.RequestRetries(0), kgo.DialTimeout(time.Second))
		if err != nil {
			c.metaMu.Unlock()
			return nil, err
		}
		nd.meta = cl
	}
	cl := nd.meta
	c.metaMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req.RequestWith(ctx, cl.SeedBrokers()[0])
}

// waitBrokers waits until every broker in live lists exactly live and
// names the same live controller.
func (c *cluster) waitBrokers(ctx context.Context, live []int32, d time.Duration) error {
	return waitFor(ctx, fmt.Sprintf("brokers %v to list exactly %v", live, live), d, func() (bool, string) {
		ctrl := int32(-1)
		for _, id := range live {
			md, err := c.metadata(ctx, id)
			if err != nil {
				return false, fmt.Sprintf("broker %d: %v", id, err)
			}
			var ids []int32
			for _, b := range md.Brokers {
				ids = append(ids, b.NodeID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, live) || !slices.Contains(live, md.ControllerID) || ctrl != -1 && ctrl != md.ControllerID {
				return false, fmt.Sprintf("broker %d lists %v, controller %d", id, ids, md.ControllerID)
			}
			ctrl = md.ControllerID
		}
		return true, ""
	})
}

// partitionState is one partition as a broker's Metadata gives it.
type partitionState struct {
	leader, epoch int32
	replicas, isr []int32
}

// partitions returns topic's partitions as broker id sees them, and the
// controller it names.
func (c *cluster) partitions(ctx context.Context, id int32, topic string) (map[int32]partitionState, int32, error) {
	md, err := c.metadata(ctx, id, topic)
	if err != nil {
		return nil, -1, err
	}
	for _, t := range md.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, -1, fmt.Errorf("topic %s: error code %d", topic, t.ErrorCode)
		}
		out := map[int32]partitionState{}
		for _, p := range t.Partitions {
			isr := slices.Clone(p.ISR)
			slices.Sort(isr)
			out[p.Partition] = partitionState{leader: p.Leader, epoch: p.LeaderEpoch, replicas: p.Replicas, isr: isr}
		}
		return out, md.ControllerID, nil
	}
	return nil, -1, fmt.Errorf("topic %s: absent", topic)
}

// waitInSync waits until every live broker sees every partition of topic
// with a live leader and an ISR of all its replicas.
func (c *cluster) waitInSync(ctx context.Context, topic string, parts int, d time.Duration) error {
	return waitFor(ctx, fmt.Sprintf("every replica of %s in sync", topic), d, func() (bool, string) {
		for _, nd := range c.nodes {
			ps, _, err := c.partitions(ctx, nd.id, topic)
			if err != nil {
				return false, fmt.Sprintf("broker %d: %v", nd.id, err)
			}
			if len(ps) != parts {
				return false, fmt.Sprintf("broker %d sees %d partitions", nd.id, len(ps))
			}
			for i, p := range ps {
				if p.leader < 0 || len(p.isr) != len(p.replicas) {
					return false, fmt.Sprintf("broker %d sees %s-%d led by %d, replicas %v, isr %v", nd.id, topic, i, p.leader, p.replicas, p.isr)
				}
			}
		}
		return true, ""
	})
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(ctx context.Context, what string, d time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(d)
	for {
		ok, saw := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v waiting for %s; last saw: %s", d, what, saw)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
