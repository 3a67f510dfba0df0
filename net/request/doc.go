// Package request holds the semantics of the broker's requests, once, below
// both listeners: the native protocol's (net/server) and the Kafka
// protocol's (net/kafka). Each listener decodes its wire message into this
// package's values, calls the Handler, and encodes what comes back; a new
// API or rule is written here and reaches both.
//
// The layer has three parts:
//   - Handler (handler.go and one file per request kind: produce.go,
//     fetch.go, offsets.go, metadata.go, topics.go, configs.go,
//     producerid.go, coordinator.go) applies the rules of each request.
//   - Cluster (cluster.go) tells the handlers where things live and makes
//     cluster-wide changes. Handlers never decide placement themselves: a
//     single node uses Local (local.go); a clustered broker plugs in its
//     implementation over the metadata quorum without touching a handler.
//   - The error table (errors.go) maps every error a handler meets onto
//     Kafka's code, with its name and whether a client may retry. The
//     native protocol uses Kafka's numbers too, so a failure reaches a
//     native client and a Kafka client with the same code.
//
// Invariants:
//   - Produce, Fetch and ListOffsets ask Cluster.LeaderCheck for every
//     partition before touching the engine, and partitions fail on their
//     own: a refused or bad partition never stops the others.
//   - Records are never copied: a produce's records point into the request
//     frame, and a fetch answers with segment regions (file, position,
//     length) that the listener sends with sendfile(2). The hot-path values
//     (Produce, Fetch) are meant to be owned by a connection and reused
//     from request to request, so they allocate nothing once warm.
//   - Message texts are the errors' own (Message); codes come only from
//     Code, never from a listener's table.
//   - A listener binds with Bind, which gives the address to advertise;
//     a Cluster that implements Advertiser learns it then.
package request
