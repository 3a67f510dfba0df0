package cluster

// Registered reports whether this broker has registered with the active
// controller in this process's life: from then on it is in the image and
// serves clients. A controller-only node never registers.
func (m *Member) Registered() bool { return m.registered.Load() }
