package record

import "strings"

// Severity is the normalized severity of the public contract.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity, lowest first.
var Severities = []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// ParseSeverity maps a vendor label (any case, a few common synonyms) to a Severity.
func ParseSeverity(label string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "info", "informational", "information", "none":
		return SeverityInfo, true
	case "low":
		return SeverityLow, true
	case "medium", "moderate":
		return SeverityMedium, true
	case "high":
		return SeverityHigh, true
	case "critical", "very high":
		return SeverityCritical, true
	}
	return "", false
}

// RiskWeight is the contract's weight for securityalerts.risk_score.
func (s Severity) RiskWeight() int64 {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 4
	case SeverityHigh:
		return 7
	case SeverityCritical:
		return 10
	}
	return 0
}

// OTelNumber is the contract's OpenTelemetry SeverityNumber for s.
func (s Severity) OTelNumber() int32 {
	switch s {
	case SeverityLow:
		return 12 // INFO4
	case SeverityMedium:
		return 13 // WARN
	case SeverityHigh:
		return 17 // ERROR
	case SeverityCritical:
		return 21 // FATAL
	}
	return 9 // INFO
}
