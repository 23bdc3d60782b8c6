package usm

import (
	"net/url"
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// statuses are USM's alarm statuses: an alarm is "open" until an analyst takes it "in review".
var statuses = map[string]record.Status{
	"open":      record.StatusNew,
	"in review": record.StatusInProgress,
	"closed":    record.StatusClosed,
}

// The USM fields of each normalized attribute, most specific first. An address may be an IP
// (source_address) or a name (source_name holds either); OpenTelemetry's *.address takes both.
var (
	sourceKeys      = []string{"source_address", "source_name", "source_hostname", "source_fqdn"}
	destinationKeys = []string{"destination_address", "destination_name", "destination_hostname", "destination_fqdn"}
)

// normalize sets the normalized attributes of a USM alarm or event. An alarm names its rule's
// ATT&CK tactics and technique and some endpoints itself; the rest is read from the events it
// wraps (events[].message), the first event that has a field giving it.
func normalize(r *record.Record, obj map[string]any, kind string) {
	views := withEvents(obj)
	setFirst(r, record.AttrUserName, views, "source_username")
	setFirst(r, record.AttrUserTargetName, views, "destination_username")
	setFirst(r, record.AttrSourceAddress, views, sourceKeys...)
	setFirst(r, record.AttrDestinationAddress, views, destinationKeys...)
	if port, ok := firstInt(views, "source_port"); ok {
		r.SetInt(record.AttrSourcePort, port)
	}
	if port, ok := firstInt(views, "destination_port"); ok {
		r.SetInt(record.AttrDestinationPort, port)
	}
	r.SetString(record.AttrNetworkTransport, strings.ToLower(first(views, "transport_protocol")))
	setFirst(r, record.AttrFileName, views, "file_name")
	setFirst(r, record.AttrFilePath, views, "file_path")
	r.SetFileHash(first(views, "file_hash"))
	r.SetURL(first(views, "request_url"))
	r.SetAttack(record.String(obj, "rule_attack_id"), record.String(obj, "rule_attack_technique"), record.Strings(obj, "rule_attack_tactic"))
	if kind == KindAlarm {
		r.Title = record.String(obj, "rule_method")
		r.SetStatus(record.String(obj, "status"), statuses)
		r.SetString(record.AttrEventURL, consoleAlarmURL(r.Tenant, r.ID))
	} else {
		r.Title = record.String(obj, "event_name")
	}
}

// KindAlarm is the contract's kind of a USM alarm.
const KindAlarm = "alarm"

// consoleAlarmURL is the alarm's page in the tenant's USM Anywhere console,
// https://<subdomain>/#/alarm/<uuid>; none without a tenant host or an id.
func consoleAlarmURL(tenant, id string) string {
	if tenant == "" || id == "" {
		return ""
	}
	return "https://" + tenant + "/#/alarm/" + url.PathEscape(id)
}

// withEvents is the alarm followed by the messages of the events it wraps; an event is alone.
func withEvents(obj map[string]any) []map[string]any {
	events, _ := obj["events"].([]any)
	views := make([]map[string]any, 1, 1+len(events))
	views[0] = obj
	for _, e := range events {
		if ev, ok := e.(map[string]any); ok {
			if msg, ok := ev["message"].(map[string]any); ok {
				views = append(views, msg)
			}
		}
	}
	return views
}

// setFirst sets attr from the first view that has one of keys.
func setFirst(r *record.Record, attr string, views []map[string]any, keys ...string) {
	for _, v := range views {
		if r.SetField(attr, v, keys...) {
			return
		}
	}
}

func first(views []map[string]any, keys ...string) string {
	for _, v := range views {
		if s := record.String(v, keys...); s != "" {
			return s
		}
	}
	return ""
}

func firstInt(views []map[string]any, key string) (int64, bool) {
	for _, v := range views {
		if n, ok := record.Int(v, key); ok {
			return n, true
		}
	}
	return 0, false
}
