package usm

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// decode reads a vendor object the way Fetch does (numbers as json.Number).

var t0 = time.Date(2018, 2, 6, 15, 48, 54, 0, time.UTC)

func TestConvertIDAndTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		js       string
		wantID   string
		wantTime time.Time // zero: none
	}{
		{"uuid and timestamp_occured as string", `{"uuid":"u1","timestamp_occured":"1517932134000"}`, "u1", t0},
		{"id and timestamp_occurred (docs spelling)", `{"id":"i1","timestamp_occurred":"1517932134000"}`, "i1", t0},
		{"epoch ms as a number", `{"uuid":"u2","timestamp_occured":1517932134123}`, "u2", t0.Add(123 * time.Millisecond)},
		{"ISO 8601 only", `{"uuid":"u3","timestamp_occured_iso8601":"2018-02-06T15:48:54.000Z"}`, "u3", t0},
		{"ISO 8601, docs spelling", `{"uuid":"u4","timestamp_occurred_iso8601":"2018-02-06T15:48:54Z"}`, "u4", t0},
		{"epoch ms preferred over ISO", `{"uuid":"u5","timestamp_occured":"1517932135000","timestamp_occured_iso8601":"2018-02-06T15:48:54Z"}`, "u5", t0.Add(time.Second)},
		{"server spelling preferred", `{"uuid":"u6","timestamp_occured":"1517932134000","timestamp_occurred":"1517932135000"}`, "u6", t0},
		{"unparsable epoch falls back to ISO", `{"uuid":"u7","timestamp_occured":"soon","timestamp_occured_iso8601":"2018-02-06T15:48:54Z"}`, "u7", t0},
		{"uuid preferred over id", `{"uuid":"u8","id":"i8"}`, "u8", time.Time{}},
		{"numeric id", `{"id":12345}`, "12345", time.Time{}},
		{"no id, no time", `{"name":"x"}`, "", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Convert(apiclienttest.Object(t, tc.js), "alarm", "tenant.example.test")
			assert.Equal(t, tc.wantID, r.ID)
			if tc.wantTime.IsZero() {
				assert.True(t, r.Time.IsZero(), "time %v", r.Time)
			} else {
				assert.True(t, tc.wantTime.Equal(r.Time), "time %v, want %v", r.Time, tc.wantTime)
			}
		})
	}
}

func TestConvertSeverity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     string
		js       string
		want     record.Severity
		wantText string
	}{
		{"alarm label low", "alarm", `{"priority_label":"low","priority":90}`, record.SeverityLow, "low"},
		{"alarm label High", "alarm", `{"priority_label":"High"}`, record.SeverityHigh, "High"},
		{"alarm label medium", "alarm", `{"priority_label":"medium"}`, record.SeverityMedium, "medium"},
		{"alarm without priority", "alarm", `{}`, record.SeverityLow, ""},
		{"alarm priority 20", "alarm", `{"priority":20}`, record.SeverityLow, ""},
		{"alarm priority 29", "alarm", `{"priority":29}`, record.SeverityLow, ""},
		{"alarm priority 30", "alarm", `{"priority":30}`, record.SeverityMedium, ""},
		{"alarm priority 54", "alarm", `{"priority":54}`, record.SeverityMedium, ""},
		{"alarm priority 55", "alarm", `{"priority":55}`, record.SeverityHigh, ""},
		{"alarm priority 79", "alarm", `{"priority":79}`, record.SeverityHigh, ""},
		{"alarm priority 80", "alarm", `{"priority":80}`, record.SeverityCritical, ""},
		{"alarm priority 100", "alarm", `{"priority":100}`, record.SeverityCritical, ""},
		{"alarm priority as string", "alarm", `{"priority":"60"}`, record.SeverityHigh, ""},
		{"alarm unknown label falls back to priority", "alarm", `{"priority_label":"urgent","priority":90}`, record.SeverityCritical, "urgent"},
		{"event without label is info", "event", `{"priority":90}`, record.SeverityInfo, ""},
		{"event_severity label", "event", `{"event_severity":"high"}`, record.SeverityHigh, "high"},
		{"event priority_label", "event", `{"priority_label":"medium"}`, record.SeverityMedium, "medium"},
		{"event unknown label is info", "event", `{"event_severity":"7"}`, record.SeverityInfo, "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Convert(apiclienttest.Object(t, tc.js), tc.kind, "t")
			assert.Equal(t, tc.want, r.Severity)
			assert.Equal(t, tc.wantText, r.SeverityText)
		})
	}
}

func TestConvertRuleAttributesKindTenantAndBody(t *testing.T) {
	obj := apiclienttest.Object(t, `{
		"uuid": "1036671a-764d-485c-a100-ec8ab695e9c8",
		"priority": 20,
		"rule_intent": "Environmental Awareness",
		"rule_method": "AWS EC2 Security Group Modified",
		"rule_strategy": "Network Access Control Modification",
		"rule_id": "AWSEC2SecurityGroupMod",
		"timestamp_occured": "1517932134000",
		"events": [{"uuid": "39a6918f"}]
	}`)
	r := Convert(obj, "alarm", "tenant.alienvault.cloud")
	assert.Equal(t, map[string]any{
		"security_rule.name":         "AWS EC2 Security Group Modified",
		"security_rule.category":     "Network Access Control Modification",
		"security_rule.ruleset.name": "Environmental Awareness",
		"security_rule.uuid":         "AWSEC2SecurityGroupMod",
		"event.url":                  "https://tenant.alienvault.cloud/#/alarm/1036671a-764d-485c-a100-ec8ab695e9c8",
	}, r.Attributes)
	assert.Equal(t, "alarm", r.Kind)
	assert.Equal(t, "tenant.alienvault.cloud", r.Tenant)
	assert.Equal(t, obj, r.Body, "every vendor field is kept")

	partial := Convert(apiclienttest.Object(t, `{"uuid":"x","rule_method":"Brute Force","rule_id":""}`), "alarm", "t")
	assert.Equal(t, map[string]any{"security_rule.name": "Brute Force", "event.url": "https://t/#/alarm/x"}, partial.Attributes, "empty rule fields are left out")

	none := Convert(apiclienttest.Object(t, `{"uuid":"y"}`), "event", "t")
	assert.Nil(t, none.Attributes)
}

func TestChangingFiltersAreAppliedLocally(t *testing.T) {
	sent, local := SplitFilters(map[string][]string{"alarm.status": {"open", "in review"}, "alarm.rule_intent": {"Recon"}},
		func(k string) string { return strings.TrimPrefix(k, "alarm.") })
	assert.Equal(t, map[string][]string{"alarm.rule_intent": {"Recon"}}, sent)
	assert.Equal(t, LocalFilter{"status": {"open", "in review"}}, local)
	assert.True(t, local.Match(map[string]any{"status": "Open"}))
	assert.True(t, local.Match(map[string]any{"status": "in review"}))
	assert.False(t, local.Match(map[string]any{"status": "closed"}))
	assert.False(t, local.Match(map[string]any{}))

	_, local = SplitFilters(map[string][]string{"suppressed": {"false"}}, func(k string) string { return k })
	assert.True(t, local.Match(map[string]any{"suppressed": false}), "a boolean field compares as its text")
	assert.True(t, LocalFilter(nil).Match(map[string]any{}), "no filter: every alarm")
}
