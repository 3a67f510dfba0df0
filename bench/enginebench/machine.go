package enginebench

import (
	"runtime"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	CPU        string `json:"cpu"`         // model name from /proc/cpuinfo
	Cores      int    `json:"cores"`       // logical CPUs (runtime.NumCPU)
	GOMAXPROCS int    `json:"gomaxprocs"`  //
	MemoryMiB  int64  `json:"memory_mib"`  // MemTotal, 0 if unknown
	GoVersion  string `json:"go_version"`  //
	OS         string `json:"os"`          // GOOS/GOARCH
	Kernel     string `json:"kernel"`      // kernel release
	Dir        string `json:"dir"`         // the directory the run wrote in
	FileSystem string `json:"file_system"` // type of the file system holding Dir
	Device     string `json:"device"`      // its device
	MountPoint string `json:"mount_point"` // and mount point
	// MountOptions matter for what a sync or a truncate costs (discard,
	// barrier, data=...); JSON only.
	MountOptions string `json:"mount_options"`
	Date         string `json:"date"` // start of the run, UTC, RFC 3339
}

// DescribeMachine gathers the facts for a run that writes in dir.
func DescribeMachine(dir string) Machine {
	m := Machine{
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Dir:        dir,
		Date:       time.Now().UTC().Format(time.RFC3339),
	}
	describePlatform(&m, dir)
	for _, p := range []*string{&m.CPU, &m.Kernel, &m.FileSystem, &m.Device, &m.MountPoint} {
		if *p == "" {
			*p = "unknown"
		}
	}
	return m
}
