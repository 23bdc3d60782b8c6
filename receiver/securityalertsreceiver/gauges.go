package securityalertsreceiver

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// probe reads a source's gauges (what its API can tell about the platform's state now) at every
// metrics emission. A failed read skips that source's gauges for this emission only.
type probe struct {
	source string
	read   func(ctx context.Context, g gauges) error
}

// key names the probe for a leader elector, next to the source's streams ("<source>/<list>").
func (p probe) key() string { return p.source + "/gauges" }

// gauges records one reading of a source's gauges; tenant selects the resource.
type gauges struct {
	source string
	ts     pcommon.Timestamp
	mb     *metadata.MetricsBuilder
	add    func(res resourceKey, record func())
}

// OpenAlerts records securityalerts.alerts.open.
func (g gauges) OpenAlerts(tenant string, severity record.Severity, n int64) {
	g.add(resourceKey{g.source, tenant}, func() {
		g.mb.RecordSecurityalertsAlertsOpenDataPoint(g.ts, n, metadata.MapAttributeSource[g.source], metadata.MapAttributeSeverity[string(severity)])
	})
}

// Deployments records securityalerts.deployments.
func (g gauges) Deployments(tenant, connectionStatus string, n int64) {
	g.add(resourceKey{g.source, tenant}, func() {
		g.mb.RecordSecurityalertsDeploymentsDataPoint(g.ts, n, metadata.MapAttributeSource[g.source], connectionStatus)
	})
}

// QuotaRemaining records securityalerts.api.quota.remaining.
func (g gauges) QuotaRemaining(tenant string, n int64) {
	g.add(resourceKey{g.source, tenant}, func() {
		g.mb.RecordSecurityalertsAPIQuotaRemainingDataPoint(g.ts, n, metadata.MapAttributeSource[g.source])
	})
}
