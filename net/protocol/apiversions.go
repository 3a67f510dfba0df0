package protocol

// APIVersionsRequest asks which APIs and versions the broker implements.
// It has no fields.
type APIVersionsRequest struct{}

// APIVersionsResponse lists the APIs the broker implements (see
// SupportedAPIs). A broker answers an ApiVersions request of a version it
// does not know with ErrUnsupportedVersion and the full list at version 0,
// so that a client can still learn what to speak.
type APIVersionsResponse struct {
	ErrorCode ErrorCode
	APIKeys   []APIVersionsResponseKey
}

// APIVersionsResponseKey is one API and the versions of it the broker
// takes.
type APIVersionsResponseKey struct {
	APIKey     APIKey
	MinVersion int16
	MaxVersion int16
}

const apiVersionsResponseKeyMin = 2 + 2 + 2

func (*APIVersionsRequest) Key() APIKey                { return APIVersions }
func (*APIVersionsRequest) AppendTo(dst []byte) []byte { return dst }

func (r *APIVersionsRequest) DecodeFrom(body []byte) error {
	d := decoder{b: body}
	return d.finish(APIVersions, false)
}

func (*APIVersionsResponse) Key() APIKey           { return APIVersions }
func (r *APIVersionsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *APIVersionsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.APIKeys, false, (*APIVersionsResponseKey).appendTo)
}

func (r *APIVersionsResponse) DecodeFrom(body []byte) error {
	*r = APIVersionsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.APIKeys = makeArray[APIVersionsResponseKey](&d, apiVersionsResponseKeyMin, false)
		for i := range r.APIKeys {
			r.APIKeys[i].decode(&d)
		}
	}
	return d.finish(APIVersions, true)
}

func (k *APIVersionsResponseKey) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(k.APIKey))
	dst = appendInt16(dst, k.MinVersion)
	return appendInt16(dst, k.MaxVersion)
}

func (k *APIVersionsResponseKey) decode(d *decoder) {
	k.APIKey = APIKey(d.int16())
	k.MinVersion = d.int16()
	k.MaxVersion = d.int16()
}
