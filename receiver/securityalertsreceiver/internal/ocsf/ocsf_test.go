package ocsf

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ciscogta"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ocsf/ocsftest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

var (
	t0       = time.Date(2026, 3, 9, 21, 12, 16, 0, time.UTC)
	observed = t0.Add(time.Hour)
)

// get walks nested objects and lists ("evidences.0.src_endpoint.ip").
func get(t *testing.T, e map[string]any, path string) any {
	t.Helper()
	var v any = e
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := int(p[0] - '0')
			require.Less(t, i, len(x), path)
			v = x[i]
		default:
			t.Fatalf("%s: %T at %s", path, v, p)
		}
	}
	return v
}

func TestUSMAlarmIsADetectionFinding(t *testing.T) {
	alarm := apiclienttest.Object(t, `{"uuid": "9c1f7d02-5b3e-4a61-8d2e-3f4a5b6c7d8e", "status": "in review", "priority_label": "medium",
		"rule_method": "Nmap", "rule_strategy": "Portscan", "rule_id": "Nmap",
		"rule_attack_id": "T1046", "rule_attack_technique": "Network Service Scanning", "rule_attack_tactic": ["Discovery", "Reconnaissance"],
		"timestamp_occured": "1558311648912",
		"events": [{"message": {"source_address": "198.51.100.23", "source_port": 47301, "destination_name": "web01.corp.example",
			"destination_port": 80, "source_username": "svc-scan", "file_name": "nmap.exe", "file_hash": "3395856ce81f2b7382dee72602f798b642f14140"}}]}`)
	rec := usm.Convert(alarm, usm.KindAlarm, "acme.alienvault.cloud")
	e := Event("usm_anywhere", rec, observed)
	ocsftest.Validate(t, e)

	for path, want := range map[string]any{
		"class_uid": int64(2004), "category_uid": int64(2), "activity_id": int64(1), "type_uid": int64(200401),
		"type_name": "Detection Finding: Create", "severity_id": int64(3), "time": int64(1558311648912),
		"status_id": int64(2), "status": "In Progress", "is_alert": true, "message": "Nmap",
		"metadata.version": "1.8.0", "metadata.product.name": "USM Anywhere", "metadata.product.vendor_name": "LevelBlue",
		"metadata.tenant_uid": "acme.alienvault.cloud",
		"finding_info.uid":    "9c1f7d02-5b3e-4a61-8d2e-3f4a5b6c7d8e", "finding_info.title": "Nmap",
		"finding_info.src_url":                 "https://acme.alienvault.cloud/#/alarm/9c1f7d02-5b3e-4a61-8d2e-3f4a5b6c7d8e",
		"finding_info.analytic.name":           "Nmap",
		"finding_info.analytic.type_id":        int64(1),
		"finding_info.attacks.0.technique.uid": "T1046", "finding_info.attacks.0.tactic.name": "Discovery",
		"finding_info.attacks.0.tactic.uid": "TA0007", "finding_info.attacks.1.tactic.uid": "TA0043",
		"evidences.0.src_endpoint.ip": "198.51.100.23", "evidences.0.src_endpoint.port": int64(47301),
		"evidences.0.dst_endpoint.hostname": "web01.corp.example", "evidences.0.actor.user.name": "svc-scan",
		"evidences.0.file.name": "nmap.exe", "evidences.0.file.hashes.0.algorithm_id": int64(2),
	} {
		assert.Equal(t, want, get(t, e, path), path)
	}
	assert.Equal(t, alarm, e["unmapped"], "the vendor object whole")
}

func TestCiscoAlertUpdateAndContextualEvent(t *testing.T) {
	alert := record.Record{ID: "a1", Kind: ciscogta.KindAlert, Tenant: "CTA1", Time: t0, Modified: t0.Add(time.Hour),
		Severity: record.SeverityCritical, Body: map[string]any{"id": "a1"}}
	alert.SetString(record.AttrStatus, string(record.StatusClosed))
	e := Event(ciscogta.Source, alert, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(2), e["activity_id"], "an alert emitted again because it changed")
	assert.Equal(t, int64(200402), e["type_uid"])
	assert.Equal(t, int64(4), e["status_id"])
	assert.Equal(t, int64(5), e["severity_id"])
	assert.Equal(t, t0.Add(time.Hour).UnixMilli(), get(t, e, "finding_info.modified_time"))
	assert.NotContains(t, e["finding_info"], "title", "an alert has no title of its own")

	event := record.Record{ID: "e1", Kind: ciscogta.KindEvent, Time: t0, Severity: record.SeverityInfo, Title: "Beaconing to a remote host"}
	event.SetString(ciscogta.AttrEventType, "contextual")
	event.SetString(record.AttrHostID, "asset-10.4.250.74")
	e = Event(ciscogta.Source, event, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(2004), e["class_uid"])
	assert.Equal(t, false, e["is_alert"])
	assert.Equal(t, "asset-10.4.250.74", get(t, e, "evidences.0.device.uid"))
}

func TestCiscoFlowIsNetworkTraffic(t *testing.T) {
	flow := record.Record{ID: "f1", Kind: ciscogta.KindEvent, Time: t0, Severity: record.SeverityInfo}
	flow.SetString(ciscogta.AttrEventType, "flow")
	flow.SetString(record.AttrSourceAddress, "10.33.116.103")
	flow.SetString(record.AttrDestinationAddress, "203.0.113.130")
	flow.SetInt(record.AttrDestinationPort, 53)
	flow.SetString(record.AttrNetworkTransport, "udp")
	flow.SetInt(record.AttrSourceBytes, 239167)
	flow.SetInt(record.AttrDestinationBytes, 59937)
	e := Event(ciscogta.Source, flow, observed)
	ocsftest.Validate(t, e)
	for path, want := range map[string]any{
		"class_uid": int64(4001), "activity_id": int64(6), "type_uid": int64(400106), "activity_name": "Traffic",
		"src_endpoint.ip": "10.33.116.103", "dst_endpoint.port": int64(53), "connection_info.protocol_name": "udp",
		"traffic.bytes_out": int64(239167), "traffic.bytes_in": int64(59937),
	} {
		assert.Equal(t, want, get(t, e, path), path)
	}
}

func TestUSMEventsByWhatTheyName(t *testing.T) {
	named := usm.Convert(apiclienttest.Object(t, `{"id": "e1", "event_name": "User Login Failure", "source_name": "10.0.0.5",
		"destination_hostname": "dc01.corp.example", "source_username": "alice", "timestamp_occured": "1558311648912"}`), "event", "acme.alienvault.cloud")
	e := Event("usm_anywhere", named, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(4001), e["class_uid"])
	assert.Equal(t, int64(99), e["activity_id"])
	assert.Equal(t, "User Login Failure", e["activity_name"], "activity Other, named as USM names the event")
	assert.Equal(t, "Network Activity: Other", e["type_name"])
	assert.Equal(t, "alice", get(t, e, "actor.user.name"))
	assert.Equal(t, []any{"host"}, get(t, e, "metadata.profiles"))

	bare := usm.Convert(apiclienttest.Object(t, `{"id": "e2", "plugin": "Windows Security"}`), "event", "acme.alienvault.cloud")
	e = Event("usm_central", bare, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(0), e["class_uid"], "no endpoint: a Base Event")
	assert.Equal(t, int64(0), e["activity_id"])
	assert.Equal(t, observed.UnixMilli(), e["time"], "no occurrence time: the time it was received")
	assert.Equal(t, "USM Central", get(t, e, "metadata.product.name"))
}

func TestTrendEventsByType(t *testing.T) {
	dlp := record.Record{ID: "c967", Kind: trendcas.Kind, Time: t0, Severity: record.SeverityMedium, Title: "Default Exchange Policy DLP"}
	dlp.SetString(trendcas.AttrEventType, "dlp")
	dlp.SetString(record.AttrUserName, "carol@example.com")
	dlp.SetString(record.AttrFileName, "setup.msi")
	e := Event(trendcas.Source, dlp, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(2006), e["class_uid"])
	assert.Equal(t, "carol@example.com", get(t, e, "actor.user.name"))
	assert.Equal(t, "setup.msi", get(t, e, "file.name"))

	mail := record.Record{ID: "7d1c", Kind: trendcas.Kind, Time: t0, Severity: record.SeverityHigh, Title: "TROJ_GEN.R002C0"}
	mail.SetString(trendcas.AttrEventType, "virtualanalyzer")
	mail.AddStrings(record.AttrEmailFrom, "not an address", "billing@vendor.example")
	mail.AddStrings(record.AttrEmailTo, "alice@example.onmicrosoft.com")
	mail.SetString(record.AttrEmailSubject, "Invoice overdue")
	e = Event(trendcas.Source, mail, observed)
	ocsftest.Validate(t, e)
	assert.Equal(t, int64(2004), e["class_uid"])
	assert.Equal(t, "billing@vendor.example", get(t, e, "evidences.0.email.from"), "the first sender OCSF can take")
	assert.Equal(t, []any{"alice@example.onmicrosoft.com"}, get(t, e, "evidences.0.email.to"))
	assert.Equal(t, "Cloud App Security", get(t, e, "metadata.product.name"))
}

// TestSchemasRefuseWhatIsNotOCSF: the schemas the tests validate against are strict enough to
// catch a mapping mistake.
func TestSchemasRefuseWhatIsNotOCSF(t *testing.T) {
	valid := func() map[string]any {
		r := record.Record{ID: "a", Kind: ciscogta.KindAlert, Time: t0, Severity: record.SeverityLow}
		r.SetString(record.AttrSourceAddress, "192.0.2.1")
		return Event(ciscogta.Source, r, observed)
	}
	require.NoError(t, ocsftest.Check(valid()))
	for name, spoil := range map[string]func(e map[string]any){
		"type_uid of another activity": func(e map[string]any) { e["type_uid"] = int64(200403) },
		"type_uid of another class":    func(e map[string]any) { e["type_uid"] = int64(400106) },
		"severity outside the enum":    func(e map[string]any) { e["severity_id"] = int64(7) },
		"no finding_info":              func(e map[string]any) { delete(e, "finding_info") },
		"a name no class has":          func(e map[string]any) { e["source_address"] = "192.0.2.1" },
		"a host name where an IP goes": func(e map[string]any) { get(t, e, "evidences.0.src_endpoint").(map[string]any)["ip"] = "host.example" },
		"a file without a name": func(e map[string]any) {
			get(t, e, "evidences.0").(map[string]any)["file"] = map[string]any{"type_id": 1}
		},
		"time as a string":  func(e map[string]any) { e["time"] = "2026-03-09T21:12:16Z" },
		"an empty evidence": func(e map[string]any) { e["evidences"] = []any{map[string]any{}} },
	} {
		e := valid()
		spoil(e)
		assert.Error(t, ocsftest.Check(e), name)
	}
}
