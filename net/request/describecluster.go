package request

// BrokerState is a registered broker's address on one listener and
// whether it is fenced.
type BrokerState struct {
	Broker
	// Fenced: the broker missed its heartbeats for a session timeout; it
	// leads nothing and Brokers leaves it out.
	Fenced bool
}

// Registry is implemented by a Cluster that knows brokers beyond the live
// ones (the clustered one). Without it, DescribeCluster lists Brokers.
type Registry interface {
	// AllBrokers lists every registered broker, fenced ones included,
	// sorted by id, with its address on listener (empty if it has none).
	AllBrokers(listener string) []BrokerState
}

// ClusterDescription is DescribeCluster's answer.
type ClusterDescription struct {
	ClusterID    string
	ControllerID int32
	Brokers      []BrokerState
}

// DescribeCluster lists the cluster's brokers, fenced ones included, with
// their addresses on listener, and names the controller.
func (h *Handler) DescribeCluster(listener string) ClusterDescription {
	d := ClusterDescription{ClusterID: h.cluster.ClusterID(), ControllerID: h.cluster.ControllerID()}
	if r, ok := h.cluster.(Registry); ok {
		d.Brokers = r.AllBrokers(listener)
		return d
	}
	for _, b := range h.cluster.Brokers(listener) {
		d.Brokers = append(d.Brokers, BrokerState{Broker: b})
	}
	return d
}
