package trendcas

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// The wire uses snake_case; the vendor's document shows camelCase. Every key is read both ways.
var (
	eventsKeys = []string{"security_events", "securityEvents"}
	nextKeys   = []string{"next_link", "nextLink"}
	idKeys     = []string{"log_item_id", "logItemId"}
	timeKeys   = []string{"detection_time", "detectionTime"}
	// levelKeys are the fields that rank an event: risk_level is what securityrisk (web
	// reputation) and virtualanalyzer (sandbox verdict) events carry; the others are read too
	// in case an event type gains one.
	levelKeys = []string{"risk_level", "riskLevel", "level", "severity"}
)

// fallbackSeverity ranks events that carry no level: ransomware and a sandbox's verdict on a
// file are high; a scan's security risk and a DLP violation are medium.
var fallbackSeverity = map[string]record.Severity{
	"ransomware":      record.SeverityHigh,
	"virtualanalyzer": record.SeverityHigh,
	"securityrisk":    record.SeverityMedium,
	"dlp":             record.SeverityMedium,
}

type pageBody struct {
	events []any
	next   string
}

// decodePage reads a 200 answer. One carrying Trend's error fields instead of events is an
// error, not an empty page: taking it as empty would advance the checkpoint past unread data.
func decodePage(pageURL string, body []byte, quota *Quota) (pageBody, error) {
	var resp map[string]any
	if err := apiclient.DecodeJSON(pageURL, body, &resp); err != nil {
		return pageBody{}, err
	}
	var p pageBody
	found := false
	for _, k := range eventsKeys {
		if v, ok := resp[k]; ok {
			found = true
			p.events, _ = v.([]any)
			break
		}
	}
	if !found && (resp["code"] != nil || resp["msg"] != nil) {
		return pageBody{}, classify(&apiclient.HTTPError{
			Method: http.MethodGet, URL: stripQuery(pageURL), Status: http.StatusOK, Detail: string(body),
		}, quota)
	}
	p.next = record.String(resp, nextKeys...)
	return p, nil
}

// convert makes one record of a security event of the given type (the request's event name).
// The event's message holds the details; the id and time are looked for in both.
func convert(obj map[string]any, event, tenant string) record.Record {
	msg, _ := obj["message"].(map[string]any)
	r := record.Record{Kind: Kind, Tenant: tenant, Body: obj}
	r.ID = record.String(obj, idKeys...)
	if r.ID == "" {
		r.ID = record.String(msg, idKeys...)
	}
	if r.ID == "" {
		r.ID = record.ContentID(obj)
	}
	if t, ok := record.Time(msg, timeKeys...); ok {
		r.Time = t
	} else if t, ok := record.Time(obj, timeKeys...); ok {
		r.Time = t
	}
	r.SeverityText = record.String(msg, levelKeys...)
	r.Severity = severity(r.SeverityText, event)
	r.SetField(record.AttrRuleName, msg, "triggered_policy_name")
	r.SetField(record.AttrRuleCategory, msg, "triggered_security_filter")
	normalize(&r, msg, event)
	return r
}

// severity reads a level label: the contract's names, Virtual Analyzer's "High risk" … "No
// risk", and web reputation's "Dangerous" … "Safe". Without one the event type decides.
func severity(label, event string) record.Severity {
	l := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(label)), " risk")
	if s, ok := record.ParseSeverity(l); ok {
		return s
	}
	switch l {
	case "dangerous":
		return record.SeverityCritical
	case "highly suspicious":
		return record.SeverityHigh
	case "suspicious":
		return record.SeverityMedium
	case "untested":
		return record.SeverityLow
	case "no", "safe":
		return record.SeverityInfo
	}
	if s, ok := fallbackSeverity[event]; ok {
		return s
	}
	return record.SeverityMedium
}

// stripQuery names a URL in an error without its query string.
func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
