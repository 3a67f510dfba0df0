//go:build !linux

package partbench

import "errors"

var errNoProc = errors.New("partbench measures through /proc and statfs: Linux only")

func countFDs(int) (int, error)            { return 0, errNoProc }
func countMaps(int) (int, error)           { return 0, errNoProc }
func statusKB(int, string) (int64, error)  { return 0, errNoProc }
func nofileLimit(int) string               { return "unknown" }
func maxMapCount() int                     { return 0 }
func freeBytes(string) (int64, error)      { return 0, errNoProc }
func diskUsage(string) (int64, int, error) { return 0, 0, errNoProc }
