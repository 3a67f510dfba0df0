//go:build !linux

package metabench

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
