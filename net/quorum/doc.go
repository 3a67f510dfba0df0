// Package quorum is Sluice's metadata quorum: a static set of voters
// (controller.quorum.voters) that replicate a log of opaque commands with
// hashicorp/raft and apply them, in log order, to a StateMachine on every
// node, as in Kafka's KRaft.
//
// # Invariants
//
//   - Commands are opaque bytes. The package never looks inside them or inside
//     the results and snapshots the StateMachine returns; the metadata image
//     that gives them meaning lives elsewhere and is not imported here.
//   - Only raft's FSM goroutine calls StateMachine.Apply, Snapshot and
//     Restore, one at a time, with committed entries only, in log order. Apply
//     must be deterministic. A SnapshotFreezer's frozen state is written
//     later, on raft's snapshot goroutine, while Apply goes on. Callers never apply commands themselves: they
//     Propose, and the leader appends.
//   - When Propose returns without error on any node, that node's own
//     StateMachine has applied the entry, so a broker can read its own write.
//   - Durable in Config.Dir: the raft log and raft's stable store (current
//     term, vote) in one pebble database under Dir/raft, every write synced;
//     and raft's snapshots under Dir/snapshots. Each snapshot is a version
//     byte, the big-endian index of the last command it includes, then the
//     StateMachine's bytes. The StateMachine itself keeps nothing durable: on
//     restart it is rebuilt from the latest snapshot and the log.
//   - The voters are static. On a fresh directory every voter bootstraps the
//     same configuration from Voters; a directory whose stored voters differ
//     from Voters is refused at Start.
//   - Nonvoters (Config.Nonvoter, Kafka's process.roles=broker) are not in
//     Voters. They bootstrap nothing: at every Start one asks the voters to
//     have the leader add it with raft's AddNonvoter (join.go). The leader
//     then sends it the log on its CONTROLLER listener, so a nonvoter needs
//     one too; it applies the log to its own StateMachine and forwards
//     Propose and LeaderCall like a follower, but never votes, never leads
//     and never counts toward a majority.
//
// # The CONTROLLER listener
//
// One TCP listener carries raft's RPC streams and leader calls. Every
// connection opens with a handshake (transport.go) naming the dialer's node
// id, cluster id and voters; the acceptor refuses a peer whose cluster id or
// voters differ from its own, or a raft stream from a node that is not a
// voter, and both sides report the refusal on
// Node.Refusals, so a broker started on another cluster's data directory can
// stop with a clear message rather than retry forever.
//
// Leader calls (call.go) carry LeaderCall requests (broker heartbeats and
// registrations, served by Config.LeaderHandler on the leader) and the
// follower-side forms of Propose and WaitReady, over connections pooled per
// leader address.
//
// # Logs
//
// Notable events carry an event attribute: controller_change (this node
// became or stopped being the leader, the broker's active controller, with
// node, active and term), raft_peer_unreachable and raft_peer_reachable
// (peers.go: one warning when a peer's RPCs have failed for a heartbeat
// timeout, one info line when it answers again, with node and addr).
// raft's own lines are lowered: info to debug, and warnings and errors that
// raft repeats per retry or that are routine protocol steps (logger.go).
package quorum
