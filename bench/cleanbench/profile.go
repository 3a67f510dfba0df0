package cleanbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
)

// Profile is where the cleanings' CPU time went: go tool pprof's top
// functions over the rounds' profiles, merged.
type Profile struct {
	Command string `json:"command"`
	// Top is pprof's output from its "Showing nodes" line on, verbatim.
	Top string `json:"top"`
	// Files are the profiles, kept when Config.ProfileDir is set.
	Files []string `json:"files,omitempty"`
}

// profileTop is how many functions the report lists.
const profileTop = 12

// startProfile starts a CPU profile of this process into file ("" for
// none) and returns the function that stops it.
func startProfile(file string) (func() error, error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// topFunctions runs go tool pprof -top over the profiles.
func topFunctions(ctx context.Context, files []string) (*Profile, error) {
	args := []string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", profileTop)}
	out, err := exec.CommandContext(ctx, "go", append(args, files...)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	top, err := trimTop(string(out))
	if err != nil {
		return nil, err
	}
	return &Profile{Command: "go " + strings.Join(args, " ") + " clean-round-*.pprof", Top: top}, nil
}

// trimTop keeps pprof -top's output from the line that totals the
// samples on: what precedes it names the binary and the temporary files.
func trimTop(out string) (string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Duration:") || strings.HasPrefix(l, "Showing nodes") {
			return strings.Join(lines[i:], "\n"), nil
		}
	}
	return "", fmt.Errorf("go tool pprof -top printed no table:\n%s", out)
}
