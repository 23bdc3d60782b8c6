// Package ocsf maps records to OCSF 1.8.0 events, the body a receiver configured with
// body_format: ocsf emits. It reads what every source already normalized (the record's
// attributes, kind, severity, times and title), so the mapping is one for the four vendors;
// the vendor object goes whole into unmapped, so nothing is lost.
//
// The class of each kind, and why, is in classes.go; ocsftest holds the JSON Schemas
// every event this package builds is validated against in its tests.
package ocsf

import (
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Version is the OCSF version of the events, their metadata.version.
const Version = "1.8.0"

// Event returns rec as an OCSF event of the class its kind maps to. source is the receiver's
// source key (usm_anywhere, …), which names the product. observed stands in for the event's
// required time when the vendor gave none.
func Event(source string, rec record.Record, observed time.Time) map[string]any {
	m := mappingOf(source, rec)
	activity := m.activity(rec)
	e := map[string]any{
		"category_uid":  m.class.categoryUID,
		"category_name": m.class.categoryName,
		"class_uid":     m.class.uid,
		"class_name":    m.class.name,
		"activity_id":   activity.id,
		"activity_name": activity.name,
		"type_uid":      m.class.uid*100 + activity.id,
		"type_name":     m.class.name + ": " + activity.caption,
		"severity_id":   severityIDs[rec.Severity],
		"severity":      severityCaptions[rec.Severity],
		"time":          millis(occurred(rec, observed)),
		"metadata":      metadata(source, rec, m.profiles),
	}
	putObject(e, "unmapped", rec.Body)
	if rec.Title != "" {
		e["message"] = rec.Title
	}
	m.fill(e, rec)
	return e
}

func occurred(rec record.Record, observed time.Time) time.Time {
	if rec.Time.IsZero() {
		return observed
	}
	return rec.Time
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// Severity ids and captions: OCSF's scale has the contract's five levels, Informational to
// Critical, as its 1 to 5.
var (
	severityIDs = map[record.Severity]int64{
		record.SeverityInfo: 1, record.SeverityLow: 2, record.SeverityMedium: 3, record.SeverityHigh: 4, record.SeverityCritical: 5,
	}
	severityCaptions = map[record.Severity]string{
		record.SeverityInfo: "Informational", record.SeverityLow: "Low", record.SeverityMedium: "Medium",
		record.SeverityHigh: "High", record.SeverityCritical: "Critical",
	}
)

// product is what metadata.product says of each source.
type product struct{ name, vendor string }

var products = map[string]product{
	"usm_anywhere": {"USM Anywhere", "LevelBlue"},
	"usm_central":  {"USM Central", "LevelBlue"},
	"cisco_gta":    {"Global Threat Alerts", "Cisco"},
	"trend_cas":    {"Cloud App Security", "Trend Micro"},
}

// metadata names the product and the OCSF version, the record's id and tenant, when the vendor
// last modified it, and the profiles whose attributes the event uses.
func metadata(source string, rec record.Record, profiles []any) map[string]any {
	p, ok := products[source]
	if !ok {
		p = product{name: source}
	}
	prod := map[string]any{"name": p.name}
	if p.vendor != "" {
		prod["vendor_name"] = p.vendor
	}
	md := map[string]any{"version": Version, "product": prod}
	putString(md, "uid", rec.ID)
	putString(md, "tenant_uid", rec.Tenant)
	if !rec.Modified.IsZero() {
		md["modified_time"] = millis(rec.Modified)
	}
	if len(profiles) > 0 {
		md["profiles"] = profiles
	}
	return md
}

func putString(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// putObject sets key to obj unless obj is empty: OCSF objects have no empty form.
func putObject(m map[string]any, key string, obj map[string]any) {
	if len(obj) > 0 {
		m[key] = obj
	}
}
