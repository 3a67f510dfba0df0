//go:build !linux

package enginebench

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

func syncAll() {}
