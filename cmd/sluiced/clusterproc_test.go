package main

// Helpers for the multi-process cluster tests (cluster_test.go): real
// sluiced processes, each in its own process group, on free ports of
// 127.0.0.1, and the few requests the tests need to ask each one what it
// sees.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/protocol"
)

// buildSluiced builds the broker binary (without -race: the processes are
// the system under test, not the test).
func buildSluiced(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluiced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freeAddrs returns n addresses on 127.0.0.1 that were free a moment ago:
// each bound on port 0 and closed again.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var lns []net.Listener
	var out []string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// logBuffer collects a process's stdout and stderr.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one sluiced process, in a process group of its own.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
	err  error // cmd.Wait's result, once done is closed
}

// startProc starts bin with args. The test's cleanup kills the process
// group if the process is still running, and logs the process's output
// when the test failed.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.signal(syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s (pid %d) survived SIGKILL", name, p.cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("--- %s (pid %d) output:\n%s", name, p.cmd.Process.Pid, tail(p.out.String(), 60))
		}
	})
	return p
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = append([]string{fmt.Sprintf("[... %d lines ...]", len(ls)-lines)}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal signals the process's group: the process and nothing else it
// did not start.
func (p *proc) signal(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig)
}

// waitExit waits up to d for the process to exit and returns its exit
// code (-1 when a signal ended it).
func (p *proc) waitExit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v", p.name, d)
		return 0
	}
}

// kill9 kills the process group with SIGKILL and waits for the process.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGKILL)
	p.waitExit(t, 10*time.Second)
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("%s exited with %d after SIGTERM", p.name, code)
	}
}

// waitLog waits for the process's output to contain s; it fails early if
// the process exits first.
func (p *proc) waitLog(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.out.String(), s) {
		if p.exited() {
			t.Fatalf("%s exited (%v) before logging %q", p.name, p.err, s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %v", p.name, s, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond every 50 ms until it holds or d passes; cond's string
// says what it saw, for the failure message.
func waitFor(t *testing.T, what string, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last saw: %s", d, what, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterNode is one member of a test cluster: its addresses and data
// directory outlive its processes, so a restart is the same broker.
type clusterNode struct {
	id                         int32
	native, kafka, controller  string
	dir                        string
	proc                       *proc
	restarts                   int
	extraOverrides, extraFlags []string
}

// procCluster is a cluster of sluiced processes, each a broker and a
// controller, with timers short enough that a lost broker is fenced in
// about three seconds.
type procCluster struct {
	t      *testing.T
	bin    string
	opts   clusterOptions
	nodes  []*clusterNode
	voters string

	mu    sync.Mutex
	kafka map[string]*kgo.Client // by address: kafkaMetadata's clients
}

// clusterOptions adjust the brokers of a procCluster beyond args' usual
// properties.
type clusterOptions struct {
	// overrides are properties for every broker; they win over args' own.
	overrides []string
	// nodeOverrides, when set, gives a node's own properties (they win
	// over overrides). It is asked at every start, so it sees the node's
	// addresses even after a start retried on new ports.
	nodeOverrides func(nd *clusterNode) []string
}

// startProcCluster picks free ports, starts n brokers with node ids 1..n
// together (none can join a quorum alone) and waits until every one serves
// and lists all n.
func startProcCluster(t *testing.T, bin string, n int) *procCluster {
	t.Helper()
	return startProcClusterWith(t, bin, n, clusterOptions{})
}

// startProcClusterWith is startProcCluster with opts.
func startProcClusterWith(t *testing.T, bin string, n int, opts clusterOptions) *procCluster {
	t.Helper()
	// freeAddrs' ports were free a moment before the brokers bind them;
	// another process may take one in between. Such a start is tried
	// again on new ports, a few times.
	for attempt := 1; ; attempt++ {
		c, clash := tryProcCluster(t, bin, n, opts)
		if !clash {
			return c
		}
		if attempt == 3 {
			t.Fatalf("three cluster starts lost a port to another process")
		}
		t.Logf("a port was taken before a broker bound it; starting again on new ports")
	}
}

// tryProcCluster starts a cluster of n brokers; clash reports that a
// broker exited because one of its ports was taken (the others are
// stopped then).
func tryProcCluster(t *testing.T, bin string, n int, opts clusterOptions) (c *procCluster, clash bool) {
	t.Helper()
	c = &procCluster{t: t, bin: bin, opts: opts}
	addrs := freeAddrs(t, 3*n)
	var voters []string
	for i := 0; i < n; i++ {
		nd := &clusterNode{id: int32(i + 1), native: addrs[3*i], kafka: addrs[3*i+1], controller: addrs[3*i+2], dir: t.TempDir()}
		c.nodes = append(c.nodes, nd)
		voters = append(voters, fmt.Sprintf("%d@%s", nd.id, nd.controller))
	}
	c.voters = strings.Join(voters, ",")
	for _, nd := range c.nodes {
		c.start(nd)
	}
	for _, nd := range c.nodes {
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(nd.proc.out.String(), `msg="broker started"`) && !nd.proc.exited() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if nd.proc.exited() && strings.Contains(nd.proc.out.String(), "address already in use") {
			for _, other := range c.nodes {
				if !other.proc.exited() {
					other.proc.signal(syscall.SIGKILL)
					<-other.proc.done
				}
			}
			return nil, true
		}
		nd.proc.waitLog(t, `msg="broker started"`, time.Until(deadline))
	}
	c.waitBrokers(c.ids(), 30*time.Second)
	return c, false
}

// args are the flags that make a sluiced process node nd of this cluster.
func (c *procCluster) args(nd *clusterNode, extra ...string) []string {
	props := []string{
		"node.id=" + fmt.Sprint(nd.id),
		"process.roles=broker,controller",
		"controller.quorum.voters=" + c.voters,
		"controller.listener.names=CONTROLLER",
		fmt.Sprintf("listeners=SLUICE://%s,PLAINTEXT://%s,CONTROLLER://%s", nd.native, nd.kafka, nd.controller),
		"broker.session.timeout.ms=3000",
		"broker.heartbeat.interval.ms=300",
		"num.partitions=3",
		"default.replication.factor=3",
		"group.initial.rebalance.delay.ms=0",
		// Leadership goes back to the first replicas soon after a
		// restart, so a test can expect the placement it started with.
		"leader.imbalance.check.interval.seconds=1",
	}
	props = append(props, c.opts.overrides...)
	if c.opts.nodeOverrides != nil {
		props = append(props, c.opts.nodeOverrides(nd)...)
	}
	args := []string{"--data-dir", nd.dir}
	for _, p := range append(props, extra...) {
		args = append(args, "--override", p)
	}
	return args
}

// start starts (or restarts) node nd with its usual configuration.
func (c *procCluster) start(nd *clusterNode) {
	name := fmt.Sprintf("broker %d", nd.id)
	if nd.restarts > 0 {
		name = fmt.Sprintf("broker %d (restart %d)", nd.id, nd.restarts)
	}
	nd.restarts++
	nd.proc = startProc(c.t, name, c.bin, c.args(nd)...)
}

// restart starts a stopped node again on its data directory, waits until
// every broker in live lists exactly live, and returns the controller.
func (c *procCluster) restart(nd *clusterNode, live []int32) int32 {
	c.t.Helper()
	c.start(nd)
	nd.proc.waitLog(c.t, `msg="broker started"`, 45*time.Second)
	return c.waitBrokers(live, 30*time.Second)
}

func (c *procCluster) node(id int32) *clusterNode { return c.nodes[id-1] }

func (c *procCluster) ids() []int32 {
	var out []int32
	for _, nd := range c.nodes {
		out = append(out, nd.id)
	}
	return out
}

func (c *procCluster) without(ids []int32, gone int32) []int32 {
	return slices.DeleteFunc(slices.Clone(ids), func(id int32) bool { return id == gone })
}

// waitBrokers waits until every broker in live lists exactly live in its
// Metadata (native and Kafka), and all of them name the same live active
// controller, which it returns.
func (c *procCluster) waitBrokers(live []int32, d time.Duration) int32 {
	c.t.Helper()
	var ctrl int32
	waitFor(c.t, fmt.Sprintf("brokers %v to list exactly %v and agree on a live controller", live, live), d, func() (bool, string) {
		ctrl = -1
		var saw []string
		ok := true
		for _, id := range live {
			nd := c.node(id)
			md, err := nativeMetadata(nd.native, []string{})
			if err != nil {
				return false, fmt.Sprintf("broker %d: %v", id, err)
			}
			ids := brokerIDs(md)
			saw = append(saw, fmt.Sprintf("broker %d lists %v, controller %d", id, ids, md.ControllerID))
			if !slices.Equal(ids, live) || !slices.Contains(live, md.ControllerID) || ctrl != -1 && md.ControllerID != ctrl {
				ok = false
			}
			ctrl = md.ControllerID
			kmd, err := c.kafkaMetadata(nd.kafka, []string{})
			if err != nil {
				return false, fmt.Sprintf("broker %d (Kafka): %v", id, err)
			}
			var kids []int32
			for _, b := range kmd.Brokers {
				kids = append(kids, b.NodeID)
			}
			slices.Sort(kids)
			if !slices.Equal(kids, live) || kmd.ControllerID != md.ControllerID {
				ok = false
				saw = append(saw, fmt.Sprintf("broker %d (Kafka) lists %v, controller %d", id, kids, kmd.ControllerID))
			}
		}
		return ok, strings.Join(saw, "; ")
	})
	return ctrl
}

// nativeMetadata asks the broker at addr (native protocol) for Metadata:
// nil topics for all, empty for none.
func nativeMetadata(addr string, topics []string) (*protocol.MetadataResponse, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(protocol.AppendRequestFrame(nil, 1, &protocol.MetadataRequest{Topics: topics})); err != nil {
		return nil, err
	}
	frame, err := protocol.ReadFrame(nc, nil, 0)
	if err != nil {
		return nil, err
	}
	_, body, err := protocol.ParseResponseHeader(frame)
	if err != nil {
		return nil, err
	}
	var resp protocol.MetadataResponse
	if err := resp.DecodeFrom(body); err != nil {
		return nil, err
	}
	return &resp, nil
}

// kafkaBroker is the broker at addr, and only it, through a client kept
// for that address (one connection, not one a poll).
func (c *procCluster) kafkaBroker(addr string) (*kgo.Broker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.kafka[addr]
	if cl == nil {
		var err error
		cl, err = kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.DialTimeout(2*time.Second))
		if err != nil {
			return nil, err
		}
		if c.kafka == nil {
			c.kafka = map[string]*kgo.Client{}
			c.t.Cleanup(func() {
				for _, cl := range c.kafka {
					cl.Close()
				}
			})
		}
		c.kafka[addr] = cl
	}
	return cl.SeedBrokers()[0], nil
}

// kafkaMetadata asks the broker at addr, and only it, for Kafka Metadata.
func (c *procCluster) kafkaMetadata(addr string, topics []string) (*kmsg.MetadataResponse, error) {
	b, err := c.kafkaBroker(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
		for _, name := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
	}
	return req.RequestWith(ctx, b)
}

func brokerIDs(md *protocol.MetadataResponse) []int32 {
	var ids []int32
	for _, b := range md.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

// placement renders a topic's partitions from a native Metadata answer:
// partition:leader/replicas/isr each, or the topic's error.
func placement(md *protocol.MetadataResponse, topic string) string {
	for _, tp := range md.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.ErrorCode != protocol.NoError {
			return fmt.Sprintf("error %d", tp.ErrorCode)
		}
		ps := slices.Clone(tp.Partitions)
		slices.SortFunc(ps, func(a, b protocol.MetadataResponsePartition) int { return int(a.Partition - b.Partition) })
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%d:%d/%s/%s", p.Partition, p.Leader, joinIDs(p.Replicas), joinIDs(p.ISR)))
		}
		return strings.Join(out, " ")
	}
	return "absent"
}

// kafkaPlacement is placement from a Kafka Metadata answer.
func kafkaPlacement(md *kmsg.MetadataResponse, topic string) string {
	for _, tp := range md.Topics {
		if tp.Topic == nil || *tp.Topic != topic {
			continue
		}
		if tp.ErrorCode != 0 {
			return fmt.Sprintf("error %d", tp.ErrorCode)
		}
		ps := slices.Clone(tp.Partitions)
		slices.SortFunc(ps, func(a, b kmsg.MetadataResponseTopicPartition) int { return int(a.Partition - b.Partition) })
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%d:%d/%s/%s", p.Partition, p.Leader, joinIDs(p.Replicas), joinIDs(p.ISR)))
		}
		return strings.Join(out, " ")
	}
	return "absent"
}

func joinIDs(ids []int32) string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	return strings.Join(out, ",")
}
