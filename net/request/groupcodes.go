package request

import (
	"errors"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// GroupCodeOf maps an error of the group coordinator (engine/group) onto
// Kafka's code, for both listeners' group APIs: the coordinator's own
// sentinels first, then the few engine errors that mean something else in
// a group request, then CodeOf.
func GroupCodeOf(err error) Code {
	switch {
	case err == nil:
		return None
	case errors.Is(err, group.ErrInvalidGroupID), errors.Is(err, engine.ErrInvalidGroupID):
		return InvalidGroupID
	case errors.Is(err, group.ErrInvalidSessionTimeout):
		return InvalidSessionTimeout
	case errors.Is(err, group.ErrInconsistentGroupProtocol):
		return InconsistentGroupProtocol
	case errors.Is(err, group.ErrUnknownMemberID):
		return UnknownMemberID
	case errors.Is(err, group.ErrMemberIDRequired):
		return MemberIDRequired
	case errors.Is(err, group.ErrIllegalGeneration):
		return IllegalGeneration
	case errors.Is(err, group.ErrRebalanceInProgress):
		return RebalanceInProgress
	case errors.Is(err, group.ErrFencedInstanceID):
		return FencedInstanceID
	case errors.Is(err, group.ErrGroupIDNotFound):
		return GroupIDNotFound
	case errors.Is(err, group.ErrNonEmptyGroup):
		return NonEmptyGroup
	case errors.Is(err, group.ErrNotCoordinator):
		return NotCoordinator
	case errors.Is(err, group.ErrCoordinatorLoadInProgress):
		return CoordinatorLoadInProgress
	case errors.Is(err, group.ErrCoordinatorNotAvailable), errors.Is(err, engine.ErrClosed):
		// The coordinator or its store is stopping: find it again.
		return CoordinatorNotAvailable
	case errors.Is(err, engine.ErrOffsetMetadataTooLarge):
		return OffsetMetadataTooLarge
	case errors.Is(err, engine.ErrInvalidOffset):
		// Kafka has no code for a negative commit: it is out of any
		// log's range, a bad request for one partition that clients
		// report and do not retry.
		return OffsetOutOfRange
	}
	return CodeOf(err)
}
