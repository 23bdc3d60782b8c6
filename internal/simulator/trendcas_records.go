package simulator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Trend Micro Cloud App Security security events, shaped after public clients' captures of the
// real API: the answer names the service and event differently from the request ("OneDrive",
// "security_risk_scan" for onedrive / securityrisk), the event and its message both carry
// log_item_id, and times come with or without milliseconds and Z.

type trendService struct {
	name, display string
	mail          bool // a mail service: events are about messages, not files
}

var trendServices = []trendService{
	{"exchange", "Exchange", true}, {"sharepoint", "SharePoint", false}, {"onedrive", "OneDrive", false},
	{"dropbox", "Dropbox", false}, {"box", "Box", false}, {"googledrive", "Google Drive", false},
	{"gmail", "Gmail", true}, {"teams", "Teams", false}, {"exchangeserver", "Exchange Server", true},
	{"salesforce_sandbox", "Salesforce Sandbox", false}, {"salesforce_production", "Salesforce Production", false},
	{"teams_chat", "Teams Chat", false},
}

// trendEvents maps request names to the names answers use.
var trendEvents = [][2]string{
	{"securityrisk", "security_risk_scan"}, {"virtualanalyzer", "virtual_analyzer"},
	{"ransomware", "ransomware"}, {"dlp", "dlp"},
}

// trendPair is the filter of one request.
type trendPair struct{ display, event string }

func (p trendPair) match(fields map[string]any) bool {
	return fields["service"] == p.display && fields["event"] == p.event
}

// trendPairOf finds a request's pair, or says which of the two the API does not serve.
func trendPairOf(service, event string) (p trendPair, msg string) {
	for _, s := range trendServices {
		if s.name == service {
			p.display = s.display
		}
	}
	for _, e := range trendEvents {
		if e[0] == event {
			p.event = e[1]
		}
	}
	switch {
	case p.display == "":
		return p, fmt.Sprintf("Invalid parameter: service %q is not supported", service)
	case p.event == "":
		return p, fmt.Sprintf("Invalid parameter: event %q is not supported", event)
	}
	return p, ""
}

var (
	trendUsers    = []string{"alice@example.onmicrosoft.com", "bob@example.onmicrosoft.com", "carol@example.com", "svc-finance@example.com"}
	trendFiles    = []string{"invoice_2026.pdf.exe", "Q1 forecast.xlsm", "IMG_0442.jpg", "payroll.docx", "setup.msi", "README.txt"}
	trendRisks    = []string{"TROJ_GEN.R002C0", "Ransom.Win32.LOCKBIT.A", "HEUR_OLEXP.B", "W97M_DOWNLOAD.SM", "TSPY_FAREIT.XOE"}
	trendVerdicts = []string{"High risk", "High risk", "Medium risk", "Low risk"}
	trendWebRisks = []string{"", "", "", "Dangerous", "Highly Suspicious", "Suspicious"}
	trendActions  = [][2]string{{"Quarantine", "success"}, {"Delete", "success"}, {"Pass", "success"}, {"Quarantine", "failed"}}
	trendFilters  = map[string]string{"securityrisk": "Malware Scanning", "virtualanalyzer": "Virtual Analyzer", "ransomware": "Ransomware", "dlp": "Data Loss Prevention"}
	trendTemplate = [][]string{{"U.S. Social Security Number (SSN)"}, {"Credit Card Number", "PCI-DSS"}, {"GDPR: Personal Data"}}
)

func trendEvent(rng *rand.Rand, occurred, _ time.Time) (string, map[string]any) {
	id := newUUID(rng)
	svc, ev := pick(rng, trendServices), pick(rng, trendEvents)
	action := pick(rng, trendActions)
	user := pick(rng, trendUsers)
	msg := map[string]any{
		"log_item_id":               id,
		"detection_time":            trendTimestamp(rng, occurred),
		"affected_user":             user,
		"action":                    action[0],
		"action_result":             action[1],
		"scan_type":                 pick(rng, []string{"Real-time scan", "Real-time scan", "Manual scan"}),
		"triggered_policy_name":     fmt.Sprintf("Default %s Policy %s", svc.display, strings.ToUpper(ev[0][:3])),
		"triggered_security_filter": trendFilters[ev[0]],
	}
	file := pick(rng, trendFiles)
	if svc.mail {
		msg["location"] = user + `\Inbox`
		msg["mail_message_id"] = fmt.Sprintf("<%s@example.outlook.com>", newUUID(rng)[:13])
		msg["mail_message_sender"] = pick(rng, []string{"billing@vendor.example", "no-reply@parcel.example", "ceo@examp1e.com"})
		msg["mail_message_recipient"] = []string{user}
		msg["mail_message_subject"] = pick(rng, []string{"Invoice overdue", "Your parcel", "Urgent wire transfer", "Q1 numbers"})
		msg["mail_message_submit_time"] = occurred.Add(-time.Duration(rng.IntN(60)) * time.Second).Format(trendTimeFormat)
		msg["mail_message_file_name"] = file
	} else {
		msg["location"] = fmt.Sprintf("https://example.%s.example/personal/%s/Documents/", strings.ToLower(strings.ReplaceAll(svc.display, " ", "")), strings.Split(user, "@")[0])
		msg["file_name"] = file
		msg["file_upload_time"] = occurred.Add(-time.Duration(rng.IntN(600)) * time.Second).Format(trendTimeFormat)
	}
	switch ev[0] {
	case "securityrisk":
		msg["security_risk_name"] = pick(rng, trendRisks)
		msg["detected_by"] = pick(rng, []string{"Pattern", "Predictive Machine Learning", "Web Reputation"})
		msg["risk_level"] = pick(rng, trendWebRisks)
	case "virtualanalyzer":
		msg["risk_level"] = pick(rng, trendVerdicts)
		msg["detection_type"] = pick(rng, []string{"File", "URL"})
		msg["file_sha1"] = fmt.Sprintf("%016x%016x%08x", rng.Uint64(), rng.Uint64(), rng.Uint32())
	case "ransomware":
		msg["ransomware_name"] = pick(rng, []string{"Ransom.Win32.LOCKBIT.A", "Ransom.MSIL.CRYPTOLOCK.B", "Behavior monitoring: mass file encryption"})
		msg["virus_name"] = msg["ransomware_name"]
	case "dlp":
		msg["triggered_dlp_template"] = pick(rng, trendTemplate)
		msg["violator"] = user
		msg["violating_content"] = pick(rng, []string{"", "***-**-1234", "4111 **** **** 1111"})
	}
	return id, map[string]any{"service": svc.display, "event": ev[1], "log_item_id": id, "message": msg}
}

// trendWithoutID is an event without log_item_id, in the event and in its message.
func trendWithoutID(fields map[string]any) map[string]any {
	return without(fields, []string{"log_item_id"}, []string{"message", "log_item_id"})
}

// trendTimestamp writes t mostly to the millisecond with Z, sometimes to the second, sometimes
// without the zone (UTC, as the API documents every time to be).
func trendTimestamp(rng *rand.Rand, t time.Time) string {
	switch roll := rng.Float64(); {
	case roll < 0.1:
		return t.UTC().Format("2006-01-02T15:04:05Z")
	case roll < 0.2:
		return t.UTC().Format("2006-01-02T15:04:05")
	}
	return t.UTC().Format(trendTimeFormat)
}
