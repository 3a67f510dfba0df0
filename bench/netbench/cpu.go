package netbench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// CPUUse is the CPU time spent during one timed phase, from /proc (zero
// where there is none), in seconds of one core, at the kernel's 10 ms tick.
type CPUUse struct {
	ThisProcess float64 `json:"this_process_s"` // the client side
	Peer        float64 `json:"peer_s"`         // the broker, or the sink or source helper
	// Machine is every CPU's busy time (user, system, irq, softirq,
	// steal). Softirq is its softirq part plus the ksoftirqd threads',
	// where loopback TCP delivery runs when it is not charged to the
	// processes; Others is Machine less the two processes and Softirq:
	// other work on the machine.
	Machine float64 `json:"machine_s"`
	Softirq float64 `json:"softirq_s"`
	Others  float64 `json:"others_s"`
	// AllocBytes and GCs are this process's heap allocation and garbage
	// collections during the phase (runtime.MemStats).
	AllocBytes uint64 `json:"alloc_bytes"`
	GCs        uint32 `json:"gcs"`
}

// clockTick is USER_HZ, which /proc reports in; 100 on every Linux
// architecture Go supports.
const clockTick = 100

type cpuMeter struct {
	peer                         int
	self, other, system, softirq float64
	ksoftirqd                    float64
	mem                          runtime.MemStats
}

func startCPU(peer int) cpuMeter {
	m := cpuMeter{peer: peer}
	runtime.ReadMemStats(&m.mem)
	m.self, m.other, m.ksoftirqd = procCPU(os.Getpid()), procCPU(peer), ksoftirqdCPU()
	m.system, m.softirq = machineBusy()
	return m
}

func (m cpuMeter) stop() CPUUse {
	busy, soft := machineBusy()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	u := CPUUse{
		AllocBytes:  mem.TotalAlloc - m.mem.TotalAlloc,
		GCs:         mem.NumGC - m.mem.NumGC,
		ThisProcess: procCPU(os.Getpid()) - m.self,
		Peer:        procCPU(m.peer) - m.other,
		Machine:     busy - m.system,
		Softirq:     soft - m.softirq + ksoftirqdCPU() - m.ksoftirqd,
	}
	u.Others = max(u.Machine-u.ThisProcess-u.Peer-u.Softirq, 0)
	return u
}

// ksoftirqdPIDs are the kernel's softirq threads, found once.
var ksoftirqdPIDs = sync.OnceValue(func() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.HasPrefix(string(b), "ksoftirqd/") {
			pids = append(pids, pid)
		}
	}
	return pids
})

// ksoftirqdCPU is the CPU time of the softirq threads: softirq work the
// kernel deferred to them, which /proc/stat counts as system time.
func ksoftirqdCPU() float64 {
	var t float64
	for _, pid := range ksoftirqdPIDs() {
		t += procCPU(pid)
	}
	return t
}

// procCPU is a process's user+system time in seconds (a zombie's too, until
// it is reaped), or 0.
func procCPU(pid int) float64 { return hostinfo.ProcessCPU(pid) }

// machineBusy is the busy time of all CPUs since boot and its softirq
// part, in seconds, or zeros.
func machineBusy() (busy, softirq float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		n, _ := strconv.ParseFloat(v, 64)
		switch i {
		case 3, 4:
		case 6:
			softirq = n
			busy += n
		default:
			busy += n
		}
	}
	return busy / clockTick, softirq / clockTick
}
