package trendcas

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

func TestConvertSecurityRiskScan(t *testing.T) {
	obj := apiclienttest.Object(t, `{"event":"security_risk_scan","service":"OneDrive","log_item_id":"b4f632b3",
		"message":{"action":"Quarantine","detection_time":"2020-08-09T21:12:16.000Z","log_item_id":"b4f632b3",
		"risk_level":"","triggered_policy_name":"Default OneDrive Policy ATP","triggered_security_filter":"File Blocking"}}`)
	r := convert(obj, "securityrisk", "api.tmcas.trendmicro.com")
	assert.Equal(t, "b4f632b3", r.ID)
	assert.Equal(t, Kind, r.Kind)
	assert.Equal(t, "api.tmcas.trendmicro.com", r.Tenant)
	assert.Equal(t, time.Date(2020, 8, 9, 21, 12, 16, 0, time.UTC), r.Time)
	assert.Equal(t, record.SeverityMedium, r.Severity, "no level: a security risk is medium")
	assert.Empty(t, r.SeverityText)
	assert.Equal(t, map[string]any{
		"security_rule.name": "Default OneDrive Policy ATP", "security_rule.category": "File Blocking", AttrEventType: "securityrisk",
	}, r.Attributes)
	assert.Equal(t, obj, r.Body, "the whole event is the body")
}

func TestIDFromMessageOrHash(t *testing.T) {
	onlyInMessage := apiclienttest.Object(t, `{"message":{"logItemId":"m-1"}}`)
	assert.Equal(t, "m-1", convert(onlyInMessage, "dlp", "h").ID)

	a := `{"service":"Box","event":"dlp","message":{"detection_time":"2026-03-10T10:00:00Z","violator":"x@example.com","n":12345678901234567890}}`
	reordered := `{"message":{"n":12345678901234567890,"violator":"x@example.com","detection_time":"2026-03-10T10:00:00Z"},"event":"dlp","service":"Box"}`
	id := convert(apiclienttest.Object(t, a), "dlp", "h").ID
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, id)
	assert.Equal(t, id, convert(apiclienttest.Object(t, reordered), "dlp", "h").ID, "the hash is of canonical JSON")
	other := `{"service":"Box","event":"dlp","message":{"detection_time":"2026-03-10T10:00:01Z","violator":"x@example.com","n":12345678901234567890}}`
	assert.NotEqual(t, id, convert(apiclienttest.Object(t, other), "dlp", "h").ID)
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		level, event string
		want         record.Severity
	}{
		{"High risk", "virtualanalyzer", record.SeverityHigh},
		{"Medium risk", "virtualanalyzer", record.SeverityMedium},
		{"Low risk", "virtualanalyzer", record.SeverityLow},
		{"No risk", "virtualanalyzer", record.SeverityInfo},
		{"", "virtualanalyzer", record.SeverityHigh},
		{"Dangerous", "securityrisk", record.SeverityCritical},
		{"Highly Suspicious", "securityrisk", record.SeverityHigh},
		{"Suspicious", "securityrisk", record.SeverityMedium},
		{"Untested", "securityrisk", record.SeverityLow},
		{"Safe", "securityrisk", record.SeverityInfo},
		{"", "securityrisk", record.SeverityMedium},
		{"", "ransomware", record.SeverityHigh},
		{"critical", "ransomware", record.SeverityCritical},
		{"", "dlp", record.SeverityMedium},
		{"", "intelligencealert", record.SeverityMedium},
		{"gibberish", "ransomware", record.SeverityHigh},
	} {
		assert.Equal(t, tc.want, severity(tc.level, tc.event), "%q %s", tc.level, tc.event)
	}
}

func TestLevelLabelIsKeptAsSeverityText(t *testing.T) {
	obj := apiclienttest.Object(t, `{"log_item_id":"v","message":{"risk_level":"High risk","detection_time":"2026-03-10T10:00:00.123"}}`)
	r := convert(obj, "virtualanalyzer", "h")
	assert.Equal(t, "High risk", r.SeverityText)
	assert.Equal(t, record.SeverityHigh, r.Severity)
	assert.Equal(t, 123, r.Time.Nanosecond()/int(time.Millisecond))
}

func TestDecodePageToleratesAMissingList(t *testing.T) {
	p, err := decodePage("https://h.test/x", []byte(`{"next_link":""}`), NewQuota(1, 1))
	require.NoError(t, err)
	assert.Empty(t, p.events)
	_, err = decodePage("https://h.test/x?start=s3cret", []byte(`{"code":-4000001,"msg":"odd"}`), NewQuota(1, 1))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}
