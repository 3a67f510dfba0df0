// Package group is the group coordinator: the broker's half of Kafka's
// classic consumer-group protocol, free of any wire format so that the
// native protocol server and a Kafka-API listener drive the same state.
//
// A group moves through Kafka's states:
//
//	Empty ── join ──> PreparingRebalance ── every member joined, or the
//	  ^                  ^   |               rebalance timeout ──>
//	  |                  |   v
//	  |   join, leave,  CompletingRebalance ── leader's SyncGroup ──> Stable
//	  |   expiry ───────────────────────────────────────────────────────┘
//	  └── last member gone                    DeleteGroups ──> Dead
//
// Invariants the coordinator keeps:
//   - Member ids are the coordinator's: a member joins with an empty id and
//     is handed one (MEMBER_ID_REQUIRED for dynamic members, at once for
//     static ones, which carry a group.instance.id).
//   - Every completed join phase starts a new generation; SyncGroup,
//     Heartbeat and OffsetCommit from another generation are refused with
//     ILLEGAL_GENERATION, so a zombie cannot commit over its successor.
//   - A static instance id maps to one member id at a time; a newer join
//     with the same instance id fences the older member (FENCED_INSTANCE_ID).
//   - Assignments are the leader's, opaque bytes delivered through
//     SyncGroup; the coordinator never looks inside them. Keeping a partition
//     with one owner at a time is the assignor's and the clients' job, which
//     the generation fencing above makes safe.
//   - A member waiting in JoinGroup or SyncGroup is kept alive without
//     heartbeats (it cannot send any on a connection whose answer is
//     pending); every other member must heartbeat within its session
//     timeout or be removed.
//
// Committed offsets are kept by a Store (the engine's pebble meta store):
// a commit is acknowledged only after the Store synced it. The offsets of
// a group that has been empty for the retention period are deleted. The
// Store also keeps each stable group's membership (persist.go), which
// Restore brings back after a restart.
//
// In a cluster every broker runs a Coordinator, and Config.Owns says which
// groups are this broker's (those whose partition of the replicated
// __consumer_offsets topic it leads, net/grouplog): requests for any other
// group are refused with ErrNotCoordinator, Kafka's NOT_COORDINATOR, so
// that a group's members and committed offsets are on one broker, and
// clients find the coordinator again; while a broker that has just become
// a group's coordinator loads it, ErrCoordinatorLoadInProgress. There the
// Store writes through that topic, LoadGroups brings a partition's groups
// in when the broker takes it over and UnloadGroups drops them when it
// loses it. ListGroups answers with what this broker holds.
//
// Time comes from Config.Now and advances the state only in Tick (Run
// calls it periodically), so tests drive the coordinator deterministically.
//
// A rebalance is two log lines with an event attribute: group_rebalance
// when it starts (group, generation, members, reason: member_joined,
// member_left, session_timeout or sync_timeout, and member), and
// group_stable (generation, members, protocol, leader, and the members it
// dropped for not rejoining) or group_empty when it ends. Joins, leaves
// and removals of single members are debug; so are the groups a broker
// loads or unloads as it gains or loses coordinatorship (its callers count
// them).
package group
