package simulator

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// USM Anywhere alarms and events, shaped after the vendor docs' examples, including the
// inconsistencies clients must cope with: timestamps as strings or numbers, two spellings of
// timestamp_occured, events identified by uuid or by id, suppressed as a bool or a string.

// Shares of records showing each shape variation.
const (
	usmOtherSpelling    = 0.03 // timestamp_occurred instead of timestamp_occured
	usmNumericTimes     = 0.03 // epoch ms as JSON numbers instead of strings
	usmEventsWithOnlyID = 0.10 // "id" instead of "uuid", as in the docs' event example
)

type usmRule struct {
	intent, method, strategy, id, appType, eventName string
}

var usmRules = []usmRule{
	{"Environmental Awareness", "AWS EC2 Security Group Modified", "Network Access Control Modification", "AWSEC2SecurityGroupMod", "amazon-aws", "Add inbound network traffic rule to security group"},
	{"Environmental Awareness", "AWS Root Account Usage", "Privileged Account Usage", "AWSRootAccountUsage", "amazon-aws", "ConsoleLogin"},
	{"Delivery & Attack", "Brute Force Authentication", "Windows Brute Force", "WindowsBruteForceLogin", "windows", "User Login Failure"},
	{"Delivery & Attack", "Impossible Travel", "Anomalous Login", "O365ImpossibleTravel", "office-365", "UserLoggedIn"},
	{"Reconnaissance & Probing", "Port Scan", "Network Scanning", "NetworkPortScan", "cisco-asa", "Port Scan Detected"},
	{"Exploitation & Installation", "Suspicious PowerShell", "Code Execution", "WindowsSuspiciousPowerShell", "windows", "PowerShell script block logged"},
	{"System Compromise", "Known Malware", "Malware Infection", "MalwareHashDetected", "windows", "Malicious file detected"},
	{"System Compromise", "Command and Control Communication", "Known Bad Destination", "OTXMaliciousIP", "cisco-asa", "Outbound connection to malicious host"},
}

type usmPlugin struct {
	name, device, family, deviceType, appType, eventType string
	events                                               []string
}

var usmPlugins = []usmPlugin{
	{"Amazon AWS CloudTrail", "CloudTrail", "Amazon", "Cloud Infrastructure", "amazon-aws", "AwsApiCall",
		[]string{"PutObject", "ConsoleLogin", "AuthorizeSecurityGroupIngress", "DeleteBucket", "AssumeRole"}},
	{"Windows Security", "Windows", "Microsoft", "Operating System", "windows", "WindowsEvent",
		[]string{"User Login Failure", "User Logon", "Special privileges assigned to new logon", "A user account was locked out"}},
	{"Office 365", "Office 365 Audit", "Microsoft", "Cloud Application", "office-365", "AuditEvent",
		[]string{"UserLoggedIn", "UserLoginFailed", "FileAccessed", "MailItemsAccessed"}},
	{"Cisco ASA", "ASA", "Cisco", "Firewall", "cisco-asa", "FirewallEvent",
		[]string{"Port Scan Detected", "Deny TCP (no connection)", "Built outbound TCP connection"}},
}

var (
	usmSensors      = []string{"433152d2-10ee-4645-8c04-9f8269a447e7", "085dff4e-8256-40ca-8ed8-cfd3bd56f505", "308ba880-2518-44bb-9ada-07b158d11713"}
	usmAccounts     = []string{"generic-account", "prod-account", "corp-directory"}
	usmUsers        = []string{"user@alienvault.com", "alice@example.com", "bob@example.com", "svc-backup", "Administrator"}
	usmDestinations = []string{"ec2.amazonaws.com", "s3.amazonaws.com", "dc01.corp.example.com", "login.microsoftonline.com", "203.0.113.17"}
)

// usmLabels weights priority labels as a real tenant's alarms are: mostly low and medium, few
// critical. Priorities fall within [base, base+20).
var usmLabels = []struct {
	label  string
	weight float64
	base   int
}{{"low", 0.45, 20}, {"medium", 0.35, 40}, {"high", 0.17, 60}, {"critical", 0.03, 80}}

func usmAlarm(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id := newUUID(rng)
	rule := pick(rng, usmRules)
	label, priority := usmPriority(rng)
	status := "open"
	switch roll := rng.Float64(); {
	case roll < 0.25:
		status = "closed"
	case roll < 0.40:
		status = "in review"
	}
	sensor := pick(rng, usmSensors)
	events := make([]map[string]any, 1+rng.IntN(3))
	for i := range events {
		events[i] = map[string]any{"uuid": newUUID(rng)}
	}
	fields := map[string]any{
		"uuid":                 id,
		"has_alarm":            false,
		"needs_enrichment":     true,
		"transient":            false,
		"priority":             priority,
		"priority_label":       label,
		"status":               status,
		"suppressed":           rng.Float64() < 0.1,
		"rule_intent":          rule.intent,
		"rule_method":          rule.method,
		"rule_strategy":        rule.strategy,
		"rule_id":              rule.id,
		"app_type":             rule.appType,
		"app_id":               rule.appType,
		"event_name":           rule.eventName,
		"event_type":           "Alarm",
		"packet_type":          "alarm",
		"sensor_uuid":          sensor,
		"alarm_sensor_sources": []string{sensor},
		"source_name":          randomIP(rng),
		"source_username":      pick(rng, usmUsers),
		"destination_name":     pick(rng, usmDestinations),
		"events":               events,
	}
	usmTimestamps(rng, fields, occurred, received)
	return id, fields
}

func usmPriority(rng *rand.Rand) (label string, priority int) {
	roll := rng.Float64()
	for _, l := range usmLabels {
		if roll -= l.weight; roll < 0 {
			return l.label, l.base + rng.IntN(20)
		}
	}
	last := usmLabels[len(usmLabels)-1] // the weights sum to 1 only up to rounding
	return last.label, last.base + rng.IntN(20)
}

func usmEvent(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id := newUUID(rng)
	idKey := "uuid"
	if rng.Float64() < usmEventsWithOnlyID {
		idKey = "id"
	}
	plugin := pick(rng, usmPlugins)
	outcome := "Allow"
	if rng.Float64() < 0.2 {
		outcome = "Deny"
	}
	fields := map[string]any{
		idKey:                    id,
		"account_name":           pick(rng, usmAccounts),
		"plugin":                 plugin.name,
		"plugin_device":          plugin.device,
		"plugin_family":          plugin.family,
		"plugin_device_type":     plugin.deviceType,
		"app_type":               plugin.appType,
		"app_id":                 plugin.appType,
		"event_name":             pick(rng, plugin.events),
		"event_type":             plugin.eventType,
		"packet_type":            "log",
		"source_name":            randomIP(rng),
		"source_username":        pick(rng, usmUsers),
		"destination_name":       pick(rng, usmDestinations),
		"access_control_outcome": outcome,
		"sensor_uuid":            pick(rng, usmSensors),
		"has_alarm":              rng.Float64() < 0.1,
		"needs_enrichment":       true,
		// A string here, unlike on alarms, as in the docs' event example.
		"suppressed": strconv.FormatBool(rng.Float64() < 0.05),
	}
	usmTimestamps(rng, fields, occurred, received)
	return id, fields
}

// usmTimestamps writes the occurrence and receipt times, mostly as epoch-ms strings under
// timestamp_occured, sometimes as numbers or under the timestamp_occurred spelling.
func usmTimestamps(rng *rand.Rand, fields map[string]any, occurred, received time.Time) {
	key := "timestamp_occured"
	if rng.Float64() < usmOtherSpelling {
		key = "timestamp_occurred"
	}
	var occurredMs, receivedMs any = strconv.FormatInt(occurred.UnixMilli(), 10), strconv.FormatInt(received.UnixMilli(), 10)
	if rng.Float64() < usmNumericTimes {
		occurredMs, receivedMs = occurred.UnixMilli(), received.UnixMilli()
	}
	fields[key] = occurredMs
	fields["timestamp_occured_iso8601"] = occurred.UTC().Format("2006-01-02T15:04:05.000Z")
	fields["timestamp_received"] = receivedMs
}

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.IntN(len(from))] }

func randomIP(rng *rand.Rand) string {
	return fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
}
