package broker

// Kafka's broker properties that Sluice accepts and does not use, each with
// the reason, so that a stock Kafka server.properties starts sluiced as it
// is: each one present costs one warning line at start-up (WarnIgnored),
// not a refusal. A misspelt name is still refused (ApplyProperties), since
// a typo silently ignored is a setting silently lost.
//
// Invariant: no name here is also in properties (a key Sluice implements
// under Kafka's name is honoured, never ignored); a test checks it.
// Security settings (ssl.*, sasl.*, authorizer.class.name) are deliberately
// absent: ignoring them would serve in the clear what the operator meant to
// protect, so they are refused as unknown.

import (
	"log/slog"
	"maps"
	"slices"
)

const (
	whyNetworkThreads = "Sluice has no network thread pool to size: each connection has its own goroutines"
	whyIOThreads      = "Sluice has no request handler pool to size: each connection handles its own requests"
	whyThreads        = "Sluice has no thread pool to size for this"
	whyRecovery       = "Sluice has no recovery thread pool to size: the data directory's logs are recovered as it opens"
	whyTransactions   = "transactions are not supported: there is no __transaction_state topic, and transactional producers are refused"
	whyZooKeeper      = "no ZooKeeper: Sluice's cluster metadata is in its raft quorum (process.roles, controller.quorum.voters)"
	whyProtocolMap    = "Sluice's listeners are plaintext and fixed by name (SLUICE native, PLAINTEXT Kafka, the controller's); SSL and SASL are not supported"
	whyShareGroups    = "share groups (KIP-932) are not supported"
	whyStaticQuorum   = "Sluice's quorum is static: its voters are controller.quorum.voters"
	whyMetadataDir    = "Sluice keeps its metadata log in the data directory (log.dirs)"
	whyVersions       = "Sluice negotiates every API's version per connection (ApiVersions); there is no inter-broker protocol version to pin"
	whyMessageFormat  = "Sluice stores record batches in format v2 (magic 2) only"
	whyReporters      = "Sluice exports its metrics on metrics.listeners (Prometheus), not through metrics reporter classes"
	whyOneDataDir     = "Sluice has one data directory, so there are no log directory moves to run"
)

// ignoredProperties maps each of Kafka's broker properties Sluice ignores to
// the reason, worded for the warning line.
var ignoredProperties = map[string]string{
	"num.network.threads":                whyNetworkThreads,
	"num.io.threads":                     whyIOThreads,
	"background.threads":                 whyThreads,
	"num.recovery.threads.per.data.dir":  whyRecovery,
	"num.replica.alter.log.dirs.threads": whyOneDataDir,
	"queued.max.requests":                "Sluice has no shared request queue to bound: each connection reads at most 32 requests ahead of its answers",

	"transaction.state.log.replication.factor":                    whyTransactions,
	"transaction.state.log.min.isr":                               whyTransactions,
	"transaction.state.log.num.partitions":                        whyTransactions,
	"transaction.state.log.segment.bytes":                         whyTransactions,
	"transaction.max.timeout.ms":                                  whyTransactions,
	"transactional.id.expiration.ms":                              whyTransactions,
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": whyTransactions,
	"transaction.remove.expired.transaction.cleanup.interval.ms":  whyTransactions,

	"zookeeper.connect":                   whyZooKeeper,
	"zookeeper.connection.timeout.ms":     whyZooKeeper,
	"zookeeper.session.timeout.ms":        whyZooKeeper,
	"zookeeper.max.in.flight.requests":    whyZooKeeper,
	"zookeeper.set.acl":                   whyZooKeeper,
	"zookeeper.metadata.migration.enable": whyZooKeeper,

	"listener.security.protocol.map": whyProtocolMap,

	"share.coordinator.state.topic.replication.factor": whyShareGroups,
	"share.coordinator.state.topic.min.isr":            whyShareGroups,

	"controller.quorum.bootstrap.servers": whyStaticQuorum,
	"metadata.log.dir":                    whyMetadataDir,

	"inter.broker.protocol.version": whyVersions,
	"log.message.format.version":    whyMessageFormat,

	"metric.reporters":          whyReporters,
	"kafka.metrics.reporters":   whyReporters,
	"auto.include.jmx.reporter": whyReporters,
}

// IgnoredProperty is a property ApplyProperties accepted without effect.
type IgnoredProperty struct {
	Name, Value, Reason string
}

// IgnoredProperties lists the properties applied to c that Sluice ignores,
// sorted by name, each once however often it was set.
func (c *Config) IgnoredProperties() []IgnoredProperty {
	out := make([]IgnoredProperty, 0, len(c.ignored))
	for _, k := range slices.Sorted(maps.Keys(c.ignored)) {
		out = append(out, IgnoredProperty{Name: k, Value: c.ignored[k], Reason: ignoredProperties[k]})
	}
	return out
}

// WarnIgnored logs one warning line for each ignored property: a Kafka
// operator reading sluiced's log sees which of their settings do nothing
// here, and why.
func (c *Config) WarnIgnored(logger *slog.Logger) {
	for _, p := range c.IgnoredProperties() {
		logger.Warn("ignoring Kafka property", "event", "property_ignored", "property", p.Name, "value", p.Value, "reason", p.Reason)
	}
}
