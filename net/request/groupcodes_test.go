package request

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
)

// TestGroupCodeOf: every error of the group coordinator reaches both
// listeners as Kafka's code of the same name, wrapped or not.
func TestGroupCodeOf(t *testing.T) {
	for err, want := range map[error]*kerr.Error{
		group.ErrInvalidGroupID:            kerr.InvalidGroupID,
		engine.ErrInvalidGroupID:           kerr.InvalidGroupID,
		group.ErrInvalidSessionTimeout:     kerr.InvalidSessionTimeout,
		group.ErrInconsistentGroupProtocol: kerr.InconsistentGroupProtocol,
		group.ErrUnknownMemberID:           kerr.UnknownMemberID,
		group.ErrMemberIDRequired:          kerr.MemberIDRequired,
		group.ErrIllegalGeneration:         kerr.IllegalGeneration,
		group.ErrRebalanceInProgress:       kerr.RebalanceInProgress,
		group.ErrFencedInstanceID:          kerr.FencedInstanceID,
		group.ErrGroupIDNotFound:           kerr.GroupIDNotFound,
		group.ErrNonEmptyGroup:             kerr.NonEmptyGroup,
		group.ErrNotCoordinator:            kerr.NotCoordinator,
		group.ErrCoordinatorLoadInProgress: kerr.CoordinatorLoadInProgress,
		group.ErrCoordinatorNotAvailable:   kerr.CoordinatorNotAvailable,
		engine.ErrClosed:                   kerr.CoordinatorNotAvailable,
		engine.ErrOffsetMetadataTooLarge:   kerr.OffsetMetadataTooLarge,
		engine.ErrInvalidOffset:            kerr.OffsetOutOfRange,
		engine.ErrUnknownTopic:             kerr.UnknownTopicOrPartition,
	} {
		for _, e := range []error{err, fmt.Errorf("group g: %w", err)} {
			got := GroupCodeOf(e)
			if int16(got) != want.Code || got.String() != want.Message || got.Retriable() != want.Retriable {
				t.Errorf("%v: %v (retriable %v), want %s (%d, retriable %v)", e, got, got.Retriable(), want.Message, want.Code, want.Retriable)
			}
		}
	}
	if GroupCodeOf(nil) != None {
		t.Error("nil is not NONE")
	}
}
