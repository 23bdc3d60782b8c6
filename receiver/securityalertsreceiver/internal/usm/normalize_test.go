package usm

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// An alarm as the API answers it: its own summary fields, ATT&CK as a list of tactics, and the
// events it correlates wrapped in events[].message (the first one enriched, the second a bare
// reference).
const nidsAlarm = `{
	"uuid": "9c1f7d02-5b3e-4a61-8d2e-3f4a5b6c7d8e",
	"status": "in review",
	"priority_label": "medium",
	"rule_method": "Nmap", "rule_strategy": "Portscan", "rule_intent": "Reconnaissance & Probing",
	"rule_attack_id": "T1046", "rule_attack_technique": "Network Service Scanning",
	"rule_attack_tactic": ["Discovery"],
	"source_name": "198.51.100.23",
	"timestamp_occured": "1558311648912",
	"events": [
		{"enriched": true, "timeStamp": 1558311648948, "message": {
			"uuid": "0b6a1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d",
			"source_address": "198.51.100.23", "source_port": 47301,
			"destination_address": "192.0.2.77", "destination_name": "web01.corp.example", "destination_port": 80,
			"transport_protocol": "TCP", "source_username": "svc-scan",
			"request_url": "http://web01.corp.example/admin",
			"file_name": "nmap.exe", "file_hash": "3395856CE81F2B7382DEE72602F798B642F14140"
		}},
		{"uuid": "1c7b2d3e-4f5a-4b6c-9d8e-0f1a2b3c4d5e"}
	]
}`

func TestAlarmNormalizedFromItselfAndItsWrappedEvents(t *testing.T) {
	r := Convert(apiclienttest.Object(t, nidsAlarm), KindAlarm, "acme.alienvault.cloud")
	assert.Equal(t, map[string]any{
		record.AttrRuleName: "Nmap", record.AttrRuleCategory: "Portscan", record.AttrRuleRuleset: "Reconnaissance & Probing",
		record.AttrStatus:             "in_progress",
		record.AttrEventURL:           "https://acme.alienvault.cloud/#/alarm/9c1f7d02-5b3e-4a61-8d2e-3f4a5b6c7d8e",
		record.AttrThreatFramework:    "MITRE ATT&CK",
		record.AttrTechniqueID:        []string{"T1046"},
		record.AttrTechniqueName:      []string{"Network Service Scanning"},
		record.AttrTacticName:         []string{"Discovery"},
		record.AttrTacticID:           []string{"TA0007"},
		record.AttrSourceAddress:      "198.51.100.23", // the alarm's own source_name
		record.AttrSourcePort:         int64(47301),
		record.AttrDestinationAddress: "192.0.2.77",
		record.AttrDestinationPort:    int64(80),
		record.AttrNetworkTransport:   "tcp",
		record.AttrUserName:           "svc-scan",
		record.AttrURLFull:            "http://web01.corp.example/admin",
		record.AttrFileName:           "nmap.exe",
		record.AttrFileHashSHA1:       "3395856ce81f2b7382dee72602f798b642f14140",
	}, r.Attributes)
	assert.Equal(t, "Nmap", r.Title)
}

func TestEventNormalizedWithoutAlarmOnlyFields(t *testing.T) {
	r := Convert(apiclienttest.Object(t, `{"id": "e1", "event_name": "User Login Failure", "status": "open",
		"source_name": "10.0.0.5", "destination_hostname": "dc01.corp.example", "source_username": "alice",
		"destination_username": "Administrator", "rule_attack_tactic": "Credential Access"}`), "event", "acme.alienvault.cloud")
	assert.Equal(t, map[string]any{
		record.AttrSourceAddress:      "10.0.0.5",
		record.AttrDestinationAddress: "dc01.corp.example",
		record.AttrUserName:           "alice",
		record.AttrUserTargetName:     "Administrator",
		record.AttrThreatFramework:    "MITRE ATT&CK",
		record.AttrTacticName:         []string{"Credential Access"},
		record.AttrTacticID:           []string{"TA0006"},
	}, r.Attributes, "no status and no console link: those are an alarm's")
	assert.Equal(t, "User Login Failure", r.Title)
}

func TestAlarmStatuses(t *testing.T) {
	for status, want := range map[string]string{"open": "new", "In Review": "in_progress", "closed": "closed", "snoozed": ""} {
		r := Convert(map[string]any{"uuid": "a", "status": status}, KindAlarm, "t")
		assert.Equal(t, want, r.Str(record.AttrStatus), status)
	}
}
