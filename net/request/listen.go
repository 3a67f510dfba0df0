package request

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
)

// Bind is the listeners' shared start: it listens on addr and works out
// the address clients are given, advertised or else the one bound (with
// port 0 the kernel's pick). Bound to every interface with nothing
// advertised, clients get this machine's host name, as Kafka gives its
// canonical host name. When cluster is an Advertiser it learns the address
// as listener's.
func Bind(listener, addr, advertised string, cluster Cluster, logger *slog.Logger) (net.Listener, Broker, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, Broker{}, fmt.Errorf("listen %s: %w", addr, err)
	}
	adv := advertised
	if adv == "" {
		adv = ln.Addr().String()
	}
	host, port, err := net.SplitHostPort(adv)
	var p int
	if err == nil {
		p, err = strconv.Atoi(port)
	}
	if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
		if host, err = os.Hostname(); err == nil && logger != nil {
			logger.Warn("advertising the host name: set advertised.listeners="+listener+"://host:port to choose",
				"listen", ln.Addr().String(), "advertised", host)
		}
	}
	if err != nil {
		ln.Close()
		return nil, Broker{}, fmt.Errorf("advertised address %q: %w", adv, err)
	}
	b := Broker{ID: -1, Host: host, Port: int32(p)}
	if cluster != nil {
		b.ID = cluster.NodeID()
		if a, ok := cluster.(Advertiser); ok {
			a.Advertise(listener, host, int32(p))
		}
	}
	return ln, b, nil
}
