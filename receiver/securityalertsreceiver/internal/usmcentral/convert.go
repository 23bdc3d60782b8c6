package usmcentral

import (
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

// inner is the USM Anywhere alarm or event a search result wraps, or the result itself when it
// wraps none (a HAL-shaped answer).
func inner(result map[string]any, kind string) map[string]any {
	if obj, ok := result[kind].(map[string]any); ok {
		return obj
	}
	return result
}

// convert reads a search result: {id, tenantId, timestamp, "@timestamp", alarm: {...}, events,
// assets} for alarms, with event: {...} for events. The nested object is a USM Anywhere alarm or
// event and is read as one; a result without it (a HAL-shaped answer) is read as one itself. The
// body is the whole result.
func convert(result map[string]any, kind string, dep Deployment) record.Record {
	r := usm.Convert(inner(result, kind), kind, dep.Tenant())
	r.Body = result
	if id := record.String(result, "id", "uuid"); id != "" {
		r.ID = id
	}
	if r.Time.IsZero() {
		r.Time, _ = record.Time(result, "timestamp", "@timestamp")
	}
	r.SetString(AttrTenantName, cmp(dep.DisplayName, dep.Name))
	return r
}
