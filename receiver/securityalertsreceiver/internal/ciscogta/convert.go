package ciscogta

import (
	"strconv"
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Attributes beyond the contract's own, in the source's namespace.
const (
	// AttrAlertStatus is an alert's status (New, Open, Closed), or its deprecated state.
	AttrAlertStatus = "cisco_gta.alert.status"
	// AttrAlertUpdate is "true" when the alert was modified after it triggered: this log record
	// is an update of an alert, not its first appearance.
	AttrAlertUpdate = "cisco_gta.alert.update"
	// AttrEventType is convicting (linked to threat detections), contextual, or flow.
	AttrEventType = "cisco_gta.event.type"
	// AttrAlertID and AttrDetectionID name an event's parents (comma-separated when several).
	AttrAlertID     = "cisco_gta.alert.id"
	AttrDetectionID = "cisco_gta.threat_detection.id"
	// AttrAlertRisk is the highest risk among an event's parent alerts.
	AttrAlertRisk = "cisco_gta.alert.risk"
	// AttrRuleName is the semantic convention for what detected it: the threat detection's title.
	AttrRuleName = record.AttrRuleName
)

// The kinds of the public contract. Flows have no kind of their own: they are events, told
// apart by AttrEventType.
const (
	KindAlert     = "alert"
	KindDetection = "threat_detection"
	KindEvent     = "event"
)

// Times objects may carry, most specific first.
var (
	eventTimeKeys     = []string{"detectedAt", "timeStamp", "timestamp", "createdAt", "modifiedAt"}
	flowTimeKeys      = []string{"timeStamp", "timestamp", "detectedAt", "createdAt"}
	detectionTimeKeys = []string{"detectedAt", "lastDetectedAt", "firstDetectedAt", "createdAt", "modifiedAt"}
)

// alertStatuses normalizes an alert's status, or the deprecated state of older answers: a new
// alert is New until an analyst opens it; Remediated, Resolved and Ignored are older closings.
var alertStatuses = map[string]record.Status{
	"new":        record.StatusNew,
	"open":       record.StatusInProgress,
	"closed":     record.StatusClosed,
	"remediated": record.StatusClosed,
	"resolved":   record.StatusClosed,
	"ignored":    record.StatusClosed,
}

// alertStatus reads status.value, or the deprecated state string of older servers.
func alertStatus(obj map[string]any) string {
	if st, ok := obj["status"].(map[string]any); ok {
		if v := record.String(st, "value"); v != "" {
			return v
		}
	}
	return record.String(obj, "status", "state")
}

// isOpen: an alert is open unless its status is a closed one; an unknown status is open.
func isOpen(status string) bool {
	return alertStatuses[strings.ToLower(strings.TrimSpace(status))] != record.StatusClosed
}

// riskSeverity maps Low/Medium/High/Critical; an alert without a known risk is info.
func riskSeverity(risk string) record.Severity {
	if s, ok := record.ParseSeverity(risk); ok {
		return s
	}
	return record.SeverityInfo
}

func convertAlert(obj map[string]any, tenant string) record.Record {
	risk := record.String(obj, "risk")
	r := record.Record{
		ID: record.String(obj, "id"), Kind: KindAlert, Tenant: tenant, Body: obj,
		SeverityText: risk, Severity: riskSeverity(risk),
	}
	r.Time, _ = record.Time(obj, "triggeredAt")
	if m, ok := record.Time(obj, "modifiedAt"); ok {
		r.Modified = m
	} else {
		r.Modified = r.Time // modifiedAt starts equal to triggeredAt
	}
	status := alertStatus(obj)
	r.SetString(AttrAlertStatus, status)
	r.SetStatus(status, alertStatuses)
	r.SetString(AttrAlertUpdate, strconv.FormatBool(r.Updated()))
	return r
}

func convertDetection(obj map[string]any, tenant string) record.Record {
	label := record.String(obj, "risk", "severity")
	r := record.Record{
		ID: record.String(obj, "id"), Kind: KindDetection, Tenant: tenant, Body: obj,
		SeverityText: label, Severity: riskSeverity(label),
	}
	r.Time, _ = record.Time(obj, detectionTimeKeys...)
	r.Title = record.String(obj, "title", "name")
	r.SetField(AttrRuleName, obj, "title", "name")
	r.SetField(record.AttrHostID, obj, "affectedAssetId")
	return r
}

// convertEvent leaves severity at info: enrichment raises it to the parent alerts' risk.
func convertEvent(obj map[string]any, tenant string) record.Record {
	r := record.Record{
		ID: record.String(obj, "id"), Kind: KindEvent, Tenant: tenant, Body: obj,
		Severity: record.SeverityInfo, Attributes: map[string]any{}, Title: record.String(obj, "title"),
	}
	r.Time, _ = record.Time(obj, eventTimeKeys...)
	r.SetField(record.AttrHostID, obj, "affectedAssetId")
	return r
}

// convertFlow: a flow is immutable and its timeStamp is when it was observed in the network.
func convertFlow(obj map[string]any, tenant string) record.Record {
	r := convertEvent(obj, tenant)
	r.Time, _ = record.Time(obj, flowTimeKeys...)
	r.Attributes[AttrEventType] = "flow"
	normalizeFlow(&r, obj)
	return r
}
