package simtest

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// TestTrendCASReadsEverySimulatedEvent runs the source against the simulator: every event of
// every pair arrives once, with log_item_id as securityalerts.id, and the quota gauge counts
// the requests sent.
func TestTrendCASReadsEverySimulatedEvent(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 3, Backlog: 300, Lookback: 23 * time.Hour, TrendCASPerMinute: 6000})
	t.Cleanup(sim.Close)
	base, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	// Every service and event type the API documents: the defaults.
	cfg := config(t, map[string]any{"trend_cas": map[string]any{
		"endpoint": base, "token": "sim-trend-token", "requests_per_minute": 6000, "query_delay": "0s",
	}})
	want := sim.IDs("trend_cas", "security_event")

	logs, metrics := &consumertest.LogsSink{}, &consumertest.MetricsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), logs, metrics)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= len(want) && quotaRemaining(metrics) > 0 }, 20*time.Second, 20*time.Millisecond)
	stop()

	var got []string
	host, _ := url.Parse(base)
	for _, ld := range logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			tenant, _ := rl.Resource().Attributes().Get("securityalerts.tenant")
			assert.Equal(t, host.Host, tenant.Str())
			records := rl.ScopeLogs().At(0).LogRecords()
			for j := 0; j < records.Len(); j++ {
				id, _ := records.At(j).Attributes().Get("securityalerts.id")
				got = append(got, id.Str())
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got)
	requests := int64(collectortest.SumValue(metrics, "securityalerts.api.requests", nil))
	assert.Positive(t, requests)
	assert.LessOrEqual(t, quotaRemaining(metrics), int64(14_400)-48, "at least one request per pair is counted")
}

// quotaRemaining is the newest securityalerts.api.quota.remaining.
func quotaRemaining(sink *consumertest.MetricsSink) int64 {
	var n int64
	collectortest.LatestMetric(sink, "securityalerts.api.quota.remaining", func(m pmetric.Metric) {
		n = m.Gauge().DataPoints().At(0).IntValue()
	})
	return n
}
