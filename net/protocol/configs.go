package protocol

// ResourceType says what a config resource is, with Kafka's numbers.
type ResourceType int8

// The resource types Sluice knows.
const (
	ResourceUnknown ResourceType = 0
	ResourceTopic   ResourceType = 2
	ResourceBroker  ResourceType = 4
)

// ConfigSource says where a config's value comes from, with Kafka's
// numbers.
type ConfigSource int8

// The config sources Sluice reports.
const (
	ConfigSourceUnknown      ConfigSource = 0
	ConfigSourceDynamicTopic ConfigSource = 1 // a per-topic override
	ConfigSourceStaticBroker ConfigSource = 4 // the broker's config file or flags
	ConfigSourceDefault      ConfigSource = 5 // the built-in default
)

// AlterConfigOp is what an AlterConfigs entry does to its config, with
// Kafka's numbers. Kafka's append (2) and subtract (3), for list-valued
// configs, have no Sluice counterpart: a broker answers them with
// INVALID_REQUEST.
type AlterConfigOp int8

// The operations AlterConfigs takes.
const (
	AlterConfigSet    AlterConfigOp = 0
	AlterConfigDelete AlterConfigOp = 1 // back to the default
)

// DescribeConfigsRequest asks for configs of topics or brokers.
type DescribeConfigsRequest struct {
	Resources []DescribeConfigsRequestResource
}

// DescribeConfigsRequestResource is one topic or broker. ResourceName is
// the topic's name, or the broker's node id in decimal.
type DescribeConfigsRequestResource struct {
	ResourceType ResourceType
	ResourceName string
	// ConfigNames to report; nil (a null array) reports every config.
	ConfigNames []string
}

// DescribeConfigsResponse has one result per resource asked for.
type DescribeConfigsResponse struct {
	ErrorCode ErrorCode
	Results   []DescribeConfigsResponseResult
}

// DescribeConfigsResponseResult holds one resource's configs, or the error
// that kept the broker from reading them.
type DescribeConfigsResponseResult struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	ResourceType ResourceType
	ResourceName string
	Configs      []DescribeConfigsResponseConfig
}

// DescribeConfigsResponseConfig is one config and its effective value.
type DescribeConfigsResponseConfig struct {
	Name string
	// Value is nil for a sensitive config.
	Value     *string
	ReadOnly  bool
	IsDefault bool
	Source    ConfigSource
	Sensitive bool
	// Documentation is a short description of the config, when known.
	Documentation *string
}

// AlterConfigsRequest sets or deletes configs one by one (Kafka's
// IncrementalAlterConfigs): configs the request does not name keep their
// values.
type AlterConfigsRequest struct {
	Resources []AlterConfigsRequestResource
	// ValidateOnly checks the request without changing anything.
	ValidateOnly bool
}

// AlterConfigsRequestResource is one topic or broker to change.
type AlterConfigsRequestResource struct {
	ResourceType ResourceType
	ResourceName string
	Configs      []AlterConfigsRequestConfig
}

// AlterConfigsRequestConfig is one change. Value is ignored by a delete.
type AlterConfigsRequestConfig struct {
	Name  string
	Op    AlterConfigOp
	Value *string
}

// AlterConfigsResponse has one result per resource in the request.
type AlterConfigsResponse struct {
	ErrorCode ErrorCode
	Results   []AlterConfigsResponseResult
}

// AlterConfigsResponseResult is the outcome for one resource: its changes
// apply all together or not at all.
type AlterConfigsResponseResult struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	ResourceType ResourceType
	ResourceName string
}

const (
	describeConfigsRequestResourceMin = 1 + 2 + 4
	describeConfigsResponseResultMin  = 2 + 2 + 1 + 2 + 4
	describeConfigsResponseConfigMin  = 2 + 2 + 1 + 1 + 1 + 1 + 2
	alterConfigsRequestResourceMin    = 1 + 2 + 4
	alterConfigsRequestConfigMin      = 2 + 1 + 2
	alterConfigsResponseResultMin     = 2 + 2 + 1 + 2
)

func (*DescribeConfigsRequest) Key() APIKey { return DescribeConfigs }

func (r *DescribeConfigsRequest) AppendTo(dst []byte) []byte {
	return appendArray(dst, r.Resources, false, (*DescribeConfigsRequestResource).appendTo)
}

func (r *DescribeConfigsRequest) DecodeFrom(body []byte) error {
	*r = DescribeConfigsRequest{}
	d := decoder{b: body}
	r.Resources = makeArray[DescribeConfigsRequestResource](&d, describeConfigsRequestResourceMin, false)
	for i := range r.Resources {
		r.Resources[i].decode(&d)
	}
	return d.finish(DescribeConfigs, false)
}

func (c *DescribeConfigsRequestResource) appendTo(dst []byte) []byte {
	dst = appendInt8(dst, int8(c.ResourceType))
	dst = appendString(dst, c.ResourceName)
	return appendStrings(dst, c.ConfigNames, true)
}

func (c *DescribeConfigsRequestResource) decode(d *decoder) {
	c.ResourceType = ResourceType(d.int8())
	c.ResourceName = d.string()
	c.ConfigNames = d.strings(true)
}

func (*DescribeConfigsResponse) Key() APIKey           { return DescribeConfigs }
func (r *DescribeConfigsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DescribeConfigsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Results, false, (*DescribeConfigsResponseResult).appendTo)
}

func (r *DescribeConfigsResponse) DecodeFrom(body []byte) error {
	*r = DescribeConfigsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Results = makeArray[DescribeConfigsResponseResult](&d, describeConfigsResponseResultMin, false)
		for i := range r.Results {
			r.Results[i].decode(&d)
		}
	}
	return d.finish(DescribeConfigs, true)
}

func (c *DescribeConfigsResponseResult) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(c.ErrorCode))
	dst = appendNullableString(dst, c.ErrorMessage)
	dst = appendInt8(dst, int8(c.ResourceType))
	dst = appendString(dst, c.ResourceName)
	return appendArray(dst, c.Configs, false, (*DescribeConfigsResponseConfig).appendTo)
}

func (c *DescribeConfigsResponseResult) decode(d *decoder) {
	c.ErrorCode = d.errorCode()
	c.ErrorMessage = d.nullableString()
	c.ResourceType = ResourceType(d.int8())
	c.ResourceName = d.string()
	c.Configs = makeArray[DescribeConfigsResponseConfig](d, describeConfigsResponseConfigMin, false)
	for i := range c.Configs {
		c.Configs[i].decode(d)
	}
}

func (c *DescribeConfigsResponseConfig) appendTo(dst []byte) []byte {
	dst = appendString(dst, c.Name)
	dst = appendNullableString(dst, c.Value)
	dst = appendBool(dst, c.ReadOnly)
	dst = appendBool(dst, c.IsDefault)
	dst = appendInt8(dst, int8(c.Source))
	dst = appendBool(dst, c.Sensitive)
	return appendNullableString(dst, c.Documentation)
}

func (c *DescribeConfigsResponseConfig) decode(d *decoder) {
	c.Name = d.string()
	c.Value = d.nullableString()
	c.ReadOnly = d.bool()
	c.IsDefault = d.bool()
	c.Source = ConfigSource(d.int8())
	c.Sensitive = d.bool()
	c.Documentation = d.nullableString()
}

func (*AlterConfigsRequest) Key() APIKey { return AlterConfigs }

func (r *AlterConfigsRequest) AppendTo(dst []byte) []byte {
	dst = appendArray(dst, r.Resources, false, (*AlterConfigsRequestResource).appendTo)
	return appendBool(dst, r.ValidateOnly)
}

func (r *AlterConfigsRequest) DecodeFrom(body []byte) error {
	*r = AlterConfigsRequest{}
	d := decoder{b: body}
	r.Resources = makeArray[AlterConfigsRequestResource](&d, alterConfigsRequestResourceMin, false)
	for i := range r.Resources {
		r.Resources[i].decode(&d)
	}
	r.ValidateOnly = d.bool()
	return d.finish(AlterConfigs, false)
}

func (c *AlterConfigsRequestResource) appendTo(dst []byte) []byte {
	dst = appendInt8(dst, int8(c.ResourceType))
	dst = appendString(dst, c.ResourceName)
	return appendArray(dst, c.Configs, false, (*AlterConfigsRequestConfig).appendTo)
}

func (c *AlterConfigsRequestResource) decode(d *decoder) {
	c.ResourceType = ResourceType(d.int8())
	c.ResourceName = d.string()
	c.Configs = makeArray[AlterConfigsRequestConfig](d, alterConfigsRequestConfigMin, false)
	for i := range c.Configs {
		c.Configs[i].decode(d)
	}
}

func (c *AlterConfigsRequestConfig) appendTo(dst []byte) []byte {
	dst = appendString(dst, c.Name)
	dst = appendInt8(dst, int8(c.Op))
	return appendNullableString(dst, c.Value)
}

func (c *AlterConfigsRequestConfig) decode(d *decoder) {
	c.Name = d.string()
	c.Op = AlterConfigOp(d.int8())
	c.Value = d.nullableString()
}

func (*AlterConfigsResponse) Key() APIKey           { return AlterConfigs }
func (r *AlterConfigsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *AlterConfigsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Results, false, (*AlterConfigsResponseResult).appendTo)
}

func (r *AlterConfigsResponse) DecodeFrom(body []byte) error {
	*r = AlterConfigsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Results = makeArray[AlterConfigsResponseResult](&d, alterConfigsResponseResultMin, false)
		for i := range r.Results {
			r.Results[i].decode(&d)
		}
	}
	return d.finish(AlterConfigs, true)
}

func (c *AlterConfigsResponseResult) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(c.ErrorCode))
	dst = appendNullableString(dst, c.ErrorMessage)
	dst = appendInt8(dst, int8(c.ResourceType))
	return appendString(dst, c.ResourceName)
}

func (c *AlterConfigsResponseResult) decode(d *decoder) {
	c.ErrorCode = d.errorCode()
	c.ErrorMessage = d.nullableString()
	c.ResourceType = ResourceType(d.int8())
	c.ResourceName = d.string()
}
