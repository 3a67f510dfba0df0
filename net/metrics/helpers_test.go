package metrics_test

import (
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// family gathers reg and returns the family called name (nil if none).
func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// gaugeValue is the value of the single series of gauge name.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	f := family(t, reg, name)
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("%s: %v", name, f)
	}
	return f.Metric[0].GetGauge().GetValue()
}
