package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// initProducerID answers InitProducerId for idempotent producers: a new id
// at epoch 0, or (v3+, with the id and epoch it had) the next epoch of the
// same id, which fences older instances. Transactions do not exist here, so
// a transactional id is refused.
func (s *Server) initProducerID(r *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp
	}
	id, epoch := int64(-1), int16(-1)
	if r.Version >= 3 {
		id, epoch = r.ProducerID, r.ProducerEpoch
	}
	newID, newEpoch, err := s.eng.InitProducerID(id, epoch)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = newID, newEpoch
	return resp
}
