// Package usm holds what LevelBlue's two USM APIs share: the fields of an alarm or event (USM
// Central wraps USM Anywhere's alarm in its search results) and the HAL page shape both serve.
package usm

import (
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// The server spells it "occured"; the docs also write "occurred". Accept both, epoch ms first.
var (
	timeKeys    = []string{"timestamp_occured", "timestamp_occurred"}
	isoTimeKeys = []string{"timestamp_occured_iso8601", "timestamp_occurred_iso8601"}
)

// ruleAttributes maps USM's rule fields to the security_rule semantic conventions: the method
// names the rule, the strategy is its category, the intent the group (ruleset) it belongs to.
var ruleAttributes = [][2]string{
	{"rule_method", record.AttrRuleName},
	{"rule_strategy", record.AttrRuleCategory},
	{"rule_intent", record.AttrRuleRuleset},
	{"rule_id", record.AttrRuleUUID},
}

// OpenLabels are the priority labels USM gives alarms, in the order open alarms are counted.
var OpenLabels = []record.Severity{record.SeverityLow, record.SeverityMedium, record.SeverityHigh}

// Convert reads a USM alarm or event: id (uuid, else id), occurrence time, severity, rule
// attributes and the normalized attributes of normalize.go. The object is the record's body as
// is.
func Convert(obj map[string]any, kind, tenant string) record.Record {
	r := record.Record{
		ID:     record.String(obj, "uuid", "id"),
		Kind:   kind,
		Tenant: tenant,
		Body:   obj,
	}
	if t, ok := record.Time(obj, timeKeys...); ok {
		r.Time = t
	} else if t, ok := record.Time(obj, isoTimeKeys...); ok {
		r.Time = t
	}
	r.SeverityText = record.String(obj, "priority_label", "event_severity")
	r.Severity = severity(obj, kind, r.SeverityText)
	for _, m := range ruleAttributes {
		r.SetField(m[1], obj, m[0])
	}
	normalize(&r, obj, kind)
	return r
}

// severity prefers the label; an alarm without one is ranked by its numeric priority (the API's
// scale is 0–100: the docs pair 20 with "low"); an event without one is informational.
func severity(obj map[string]any, kind, label string) record.Severity {
	if s, ok := record.ParseSeverity(label); ok {
		return s
	}
	if kind != KindAlarm {
		return record.SeverityInfo
	}
	p, ok := record.Int(obj, "priority")
	switch {
	case !ok || p < 30:
		return record.SeverityLow
	case p < 55:
		return record.SeverityMedium
	case p < 80:
		return record.SeverityHigh
	default:
		return record.SeverityCritical
	}
}
