// Package cluster is one node's membership in a Sluice cluster: it runs the
// node's seat in the metadata quorum (net/quorum) over the metadata image
// (engine/metadata), registers the broker with the active controller and
// keeps its session alive with heartbeats, does the active controller's
// work when this node leads the quorum (admitting registrations, fencing
// brokers whose session expired, naming the cluster id), keeps the local
// storage engine's topics in step with the image, and answers the request
// layer's questions about placement and cluster-wide changes.
//
// Invariants:
//   - The image is the only source of truth for topics, partitions and
//     their placement. Local storage follows it: a topic exists in the
//     engine exactly when it exists in the image (with the image's topic
//     id), created or deleted as records apply, and reconciled in full at
//     start and after a snapshot is restored.
//   - Every change to the image is a proposal through the quorum; nothing
//     here edits the image directly. Admin changes are validated before
//     they are proposed, and the state machine validates them again.
//   - Heartbeats are not logged: only the active controller tracks them
//     (metadata.Liveness), and it proposes FenceBroker when a session
//     expires, UnfenceBroker when a fenced broker heartbeats again.
//   - A data directory remembers its node id and cluster id in
//     meta.properties (Kafka's file); a broker refuses to start on a
//     directory of another node or another cluster.
package cluster
