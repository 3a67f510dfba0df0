package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// metaPropertiesFile is Kafka's name for the file that ties a data
// directory to one node of one cluster.
const metaPropertiesFile = "meta.properties"

// metaProperties is what meta.properties holds.
type metaProperties struct {
	NodeID    int32
	ClusterID string
}

// readMetaProperties reads dir's meta.properties; ok is false when there is
// none (a directory that was never a cluster member).
func readMetaProperties(dir string) (mp metaProperties, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, metaPropertiesFile))
	if errors.Is(err, os.ErrNotExist) {
		return metaProperties{}, false, nil
	}
	if err != nil {
		return metaProperties{}, false, err
	}
	mp.NodeID = -1
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if !found {
			return metaProperties{}, false, fmt.Errorf("%s: %q is not key=value", metaPropertiesFile, line)
		}
		switch strings.TrimSpace(k) {
		case "node.id":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return metaProperties{}, false, fmt.Errorf("%s: node.id %q: %v", metaPropertiesFile, v, err)
			}
			mp.NodeID = int32(n)
		case "cluster.id":
			mp.ClusterID = strings.TrimSpace(v)
		}
	}
	if mp.NodeID < 0 {
		return metaProperties{}, false, fmt.Errorf("%s: no node.id", metaPropertiesFile)
	}
	return mp, true, nil
}

// writeMetaProperties writes meta.properties durably (temp file, fsync,
// rename, fsync of the directory).
func writeMetaProperties(dir string, mp metaProperties) error {
	lines := []string{
		"#Written by sluiced: this data directory belongs to this node of this cluster.",
		"version=1",
		"node.id=" + strconv.Itoa(int(mp.NodeID)),
	}
	if mp.ClusterID != "" {
		lines = append(lines, "cluster.id="+mp.ClusterID)
	}
	sort.Strings(lines[1:])
	tmp := filepath.Join(dir, metaPropertiesFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, metaPropertiesFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
