package kafka

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
)

// Config sources and types, as Kafka numbers them.
const (
	sourceDefault = kmsg.ConfigSource(request.SourceDefault)

	typeBoolean = kmsg.ConfigType(1)
	typeString  = kmsg.ConfigType(2)
	typeLong    = kmsg.ConfigType(5)
	typeDouble  = kmsg.ConfigType(6)
	typeList    = kmsg.ConfigType(7)
)

// configType guesses a config's type from its value: what Kafka reports
// in DescribeConfigs v3+.
func configType(name, value string) kmsg.ConfigType {
	switch {
	case name == "cleanup.policy" || name == "log.cleanup.policy":
		return typeList
	case name == "min.cleanable.dirty.ratio" || name == "log.cleaner.min.cleanable.ratio" ||
		name == "log.cleaner.io.max.bytes.per.second":
		return typeDouble
	case value == "true" || value == "false":
		return typeBoolean
	}
	if _, err := strconv.ParseInt(value, 10, 64); err == nil {
		return typeLong
	}
	return typeString
}

func (s *Server) describeConfigs(r *kmsg.DescribeConfigsRequest) *kmsg.DescribeConfigsResponse {
	resources := make([]request.ConfigResource, len(r.Resources))
	for i, res := range r.Resources {
		resources[i] = request.ConfigResource{Type: request.ResourceType(res.ResourceType), Name: res.ResourceName, Names: res.ConfigNames}
	}
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for i, res := range s.h.DescribeConfigs(resources) {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.Resources[i].ResourceType, r.Resources[i].ResourceName
		out.ErrorCode, out.ErrorMessage = errorCode(res.Err), errorMessage(res.Err)
		for _, v := range res.Configs {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			src := kmsg.ConfigSource(v.Source)
			c.Name, c.Value, c.ReadOnly, c.Source = v.Name, kmsg.StringPtr(v.Value), v.ReadOnly, src
			c.IsDefault = src == sourceDefault
			c.ConfigType = configType(v.Name, v.Value)
			if r.IncludeDocumentation && v.Doc != "" {
				c.Documentation = kmsg.StringPtr(v.Doc)
			}
			if r.IncludeSynonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = v.Name, kmsg.StringPtr(v.Value), src
				c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
			}
			out.Configs = append(out.Configs, c)
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// alterConfigs answers the legacy AlterConfigs: the configs given become
// the topic's whole set of overrides; any other override is removed.
func (s *Server) alterConfigs(ctx context.Context, r *kmsg.AlterConfigsRequest) *kmsg.AlterConfigsResponse {
	resources := make([]request.AlterResource, len(r.Resources))
	for i, res := range r.Resources {
		ar := request.AlterResource{Type: request.ResourceType(res.ResourceType), Name: res.ResourceName}
		for _, c := range res.Configs {
			ar.Configs = append(ar.Configs, request.AlterConfig{Name: c.Name, Op: request.OpSet, Value: c.Value})
		}
		resources[i] = ar
	}
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for i, err := range s.h.AlterConfigs(ctx, resources, true, r.ValidateOnly) {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.Resources[i].ResourceType, r.Resources[i].ResourceName
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// incrementalAlterConfigs answers IncrementalAlterConfigs: set, delete
// (back to the default), and append and subtract on list configs.
func (s *Server) incrementalAlterConfigs(ctx context.Context, r *kmsg.IncrementalAlterConfigsRequest) *kmsg.IncrementalAlterConfigsResponse {
	resources := make([]request.AlterResource, len(r.Resources))
	for i, res := range r.Resources {
		ar := request.AlterResource{Type: request.ResourceType(res.ResourceType), Name: res.ResourceName}
		for _, c := range res.Configs {
			ar.Configs = append(ar.Configs, request.AlterConfig{Name: c.Name, Op: request.ConfigOp(c.Op), Value: c.Value})
		}
		resources[i] = ar
	}
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for i, err := range s.h.AlterConfigs(ctx, resources, false, r.ValidateOnly) {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.Resources[i].ResourceType, r.Resources[i].ResourceName
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}
