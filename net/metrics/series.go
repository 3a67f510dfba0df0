package metrics

import "fmt"

// PartitionSeries chooses which partitions get series of their own (the
// {topic,partition} families: traffic, log size and offsets, ISR and
// replicas), the metrics.partition.series property. Each stored
// partition costs 11 series a scrape, so at 100,000 partitions "all"
// means over a million; topic and broker totals are exact in every mode.
// The zero value is PartitionSeriesAuto.
type PartitionSeries int

const (
	// PartitionSeriesAuto is all up to AutoPartitionSeriesLimit stored
	// partitions and active above: what a broker uses by default.
	PartitionSeriesAuto PartitionSeries = iota
	// PartitionSeriesAll reports every stored partition.
	PartitionSeriesAll
	// PartitionSeriesActive reports the partitions with traffic since the
	// last scrape (produce, fetch, failures or replication), those offline,
	// and, for ISR and replicas, those led here that are under-replicated.
	// A partition's series stop while it idles: Prometheus marks them
	// stale, and a counter starting again is read as continuing.
	PartitionSeriesActive
	// PartitionSeriesNone reports no partition alone.
	PartitionSeriesNone
)

// AutoPartitionSeriesLimit is the most stored partitions for which
// PartitionSeriesAuto reports them all.
const AutoPartitionSeriesLimit = 10_000

var partitionSeriesNames = [...]string{"auto", "all", "active", "none"}

func (s PartitionSeries) String() string {
	if s < 0 || int(s) >= len(partitionSeriesNames) {
		return fmt.Sprintf("PartitionSeries(%d)", int(s))
	}
	return partitionSeriesNames[s]
}

// ParsePartitionSeries reads a metrics.partition.series value: auto, all,
// active or none.
func ParsePartitionSeries(v string) (PartitionSeries, error) {
	for i, name := range partitionSeriesNames {
		if v == name {
			return PartitionSeries(i), nil
		}
	}
	return 0, fmt.Errorf("%q: want auto, all, active or none", v)
}

// resolve is the mode for a scrape of n stored partitions.
func (s PartitionSeries) resolve(n int) PartitionSeries {
	if s != PartitionSeriesAuto {
		return s
	}
	if n <= AutoPartitionSeriesLimit {
		return PartitionSeriesAll
	}
	return PartitionSeriesActive
}
