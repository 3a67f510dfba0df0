// Package broker assembles a Sluice broker: the storage engine and the
// native protocol server, configured from Kafka's broker property names.
// sluiced is a thin command around it, and tests (ours and users') start
// in-process brokers with it on 127.0.0.1:0 and a temporary directory.
package broker
