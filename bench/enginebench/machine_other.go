//go:build !linux

package enginebench

// describePlatform knows only Linux's /proc; elsewhere the facts stay
// "unknown".
func describePlatform(m *Machine, dir string) {}
