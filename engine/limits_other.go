//go:build !linux

package engine

// readSysLimits knows no limits off Linux: every budget is unknown, and
// nothing is checked against it.
func readSysLimits() (sysLimits, error) {
	return sysLimits{openFiles: -1, maxMapCount: -1, mappings: -1}, nil
}

// readDiskSpace knows no free space off Linux.
func readDiskSpace(string) (diskSpace, error) {
	return diskSpace{freeBytes: -1, freeInodes: -1}, nil
}
