package protocol

// InitProducerIDRequest asks for a producer id and epoch, which an
// idempotent producer stamps on its batches so that the broker can drop
// duplicates and spot gaps.
type InitProducerIDRequest struct {
	// TransactionalID is nil for an idempotent producer without
	// transactions (the only kind Sluice serves for now).
	TransactionalID      *string
	TransactionTimeoutMs int32
	// ProducerID and ProducerEpoch are -1 to get a new id; a producer
	// that has one passes it to bump its epoch.
	ProducerID    int64
	ProducerEpoch int16
}

// InitProducerIDResponse carries the producer id and epoch to use.
type InitProducerIDResponse struct {
	ErrorCode      ErrorCode
	ThrottleTimeMs int32
	ProducerID     int64
	ProducerEpoch  int16
}

func (*InitProducerIDRequest) Key() APIKey { return InitProducerID }

func (r *InitProducerIDRequest) AppendTo(dst []byte) []byte {
	dst = appendNullableString(dst, r.TransactionalID)
	dst = appendInt32(dst, r.TransactionTimeoutMs)
	dst = appendInt64(dst, r.ProducerID)
	return appendInt16(dst, r.ProducerEpoch)
}

func (r *InitProducerIDRequest) DecodeFrom(body []byte) error {
	*r = InitProducerIDRequest{}
	d := decoder{b: body}
	r.TransactionalID = d.nullableString()
	r.TransactionTimeoutMs = d.int32()
	r.ProducerID = d.int64()
	r.ProducerEpoch = d.int16()
	return d.finish(InitProducerID, false)
}

func (*InitProducerIDResponse) Key() APIKey           { return InitProducerID }
func (r *InitProducerIDResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *InitProducerIDResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendInt32(dst, r.ThrottleTimeMs)
	dst = appendInt64(dst, r.ProducerID)
	return appendInt16(dst, r.ProducerEpoch)
}

func (r *InitProducerIDResponse) DecodeFrom(body []byte) error {
	*r = InitProducerIDResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ThrottleTimeMs = d.int32()
		r.ProducerID = d.int64()
		r.ProducerEpoch = d.int16()
	}
	return d.finish(InitProducerID, true)
}
