package index

// LookupFull exposes the plain binary search so tests can check that the
// tail-first Lookup agrees with it and benchmarks can compare the two.
func (x *Offset) LookupFull(target int64) OffsetEntry { return x.lookupFull(target) }

// LookupFull is the Time index's plain binary search; see Offset.LookupFull.
func (x *Time) LookupFull(target int64) TimeEntry { return x.lookupFull(target) }
