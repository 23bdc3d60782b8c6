// Package collectortest runs the receiver as a collector would and reads back what it emitted. It
// serves the receiver's own tests and the simulator tests of the nested simtest module, which
// keeps the simulator out of the receiver's module.
package collectortest

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
)

// Start creates the receiver for each pipeline given (logs, metrics or both), starts it on host
// and returns its shutdown. The id is the factory's type, as in a collector config: storage keys,
// and so checkpoints, derive from it.
func Start(t testing.TB, f receiver.Factory, set receiver.Settings, cfg component.Config, host component.Host,
	logs consumer.Logs, metrics consumer.Metrics,
) (shutdown func()) {
	t.Helper()
	set.ID = component.NewID(f.Type())
	var comps []component.Component
	if logs != nil {
		r, err := f.CreateLogs(context.Background(), set, cfg, logs)
		require.NoError(t, err)
		comps = append(comps, r)
	}
	if metrics != nil {
		r, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
		require.NoError(t, err)
		comps = append(comps, r)
	}
	for _, c := range comps {
		require.NoError(t, c.Start(context.Background(), host))
	}
	return func() {
		for _, c := range comps {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	}
}

type extensionHost struct {
	component.Host
	extensions map[component.ID]component.Component
}

func (h extensionHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

// Host offers the given extensions, as a collector offers the ones its config names.
func Host(extensions map[component.ID]component.Component) component.Host {
	return extensionHost{Host: componenttest.NewNopHost(), extensions: extensions}
}

// FileStorageHost starts the real file_storage extension on dir and offers it.
func FileStorageHost(t testing.TB, dir string) (component.Host, component.ID) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	id := component.NewID(f.Type())
	return Host(map[component.ID]component.Component{id: ext}), id
}

// LogRecords is every log record the sink received, in order.
func LogRecords(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, logs := range sink.AllLogs() {
		rls := logs.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// LatestMetric calls fn for every metric called name in the sink's newest emission.
func LatestMetric(sink *consumertest.MetricsSink, name string, fn func(pmetric.Metric)) {
	all := sink.AllMetrics()
	if len(all) == 0 {
		return
	}
	rms := all[len(all)-1].ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() == name {
					fn(ms.At(k))
				}
			}
		}
	}
}

// SumValue is the newest value of a cumulative sum, over its data points that carry attrs.
func SumValue(sink *consumertest.MetricsSink, name string, attrs map[string]string) float64 {
	total := 0.0
	LatestMetric(sink, name, func(m pmetric.Metric) {
		dps := m.Sum().DataPoints()
		for d := 0; d < dps.Len(); d++ {
			if HasAttrs(dps.At(d), attrs) {
				total += dps.At(d).DoubleValue() + float64(dps.At(d).IntValue())
			}
		}
	})
	return total
}

// OpenAlerts is the newest securityalerts.alerts.open gauge by severity.
func OpenAlerts(sink *consumertest.MetricsSink) map[string]int64 {
	out := map[string]int64{}
	LatestMetric(sink, "securityalerts.alerts.open", func(m pmetric.Metric) {
		for d := 0; d < m.Gauge().DataPoints().Len(); d++ {
			dp := m.Gauge().DataPoints().At(d)
			severity, _ := dp.Attributes().Get("severity")
			out[severity.Str()] = dp.IntValue()
		}
	})
	return out
}

// HasAttrs tells whether dp carries every one of attrs.
func HasAttrs(dp pmetric.NumberDataPoint, attrs map[string]string) bool {
	for k, want := range attrs {
		v, ok := dp.Attributes().Get(k)
		if !ok || v.AsString() != want {
			return false
		}
	}
	return true
}
