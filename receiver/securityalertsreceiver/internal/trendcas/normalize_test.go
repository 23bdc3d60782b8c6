package trendcas

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

func TestMailEventNormalized(t *testing.T) {
	r := convert(apiclienttest.Object(t, `{"service":"Exchange","event":"dlp","log_item_id":"c967","message":{
		"affected_user":"carol@example.com","location":"carol@example.com\\Inbox",
		"mail_message_id":"<169ff9d2-7d1e@example.outlook.com>","mail_message_file_name":"setup.msi",
		"mail_message_sender":"\"Billing\" <billing@vendor.example>",
		"mail_message_recipient":["\" username2\"< username2@example2.onmicrosoft.com >","carol@example.com"],
		"mail_message_subject":"Urgent wire transfer","triggered_policy_name":"Default Exchange Policy DLP"}}`), "dlp", "h")
	assert.Equal(t, map[string]any{
		AttrEventType:             "dlp",
		record.AttrRuleName:       "Default Exchange Policy DLP",
		record.AttrUserName:       "carol@example.com",
		record.AttrFileName:       "setup.msi",
		record.AttrEmailMessageID: "<169ff9d2-7d1e@example.outlook.com>",
		record.AttrEmailSubject:   "Urgent wire transfer",
		record.AttrEmailFrom:      []string{"billing@vendor.example"},
		record.AttrEmailTo:        []string{"username2@example2.onmicrosoft.com", "carol@example.com"},
	}, r.Attributes, "a mailbox folder is no file directory")
	assert.Equal(t, "Default Exchange Policy DLP", r.Title)
}

func TestFileEventNormalized(t *testing.T) {
	r := convert(apiclienttest.Object(t, `{"service":"OneDrive","event":"virtual_analyzer","log_item_id":"dd8b","message":{
		"affected_user":"alice@example.onmicrosoft.com","file_name":"IMG_0442.jpg",
		"file_sha1":"42F3FDF9447B6BC8F19B5AF88C883FD53E0B0949",
		"location":"https://example.onedrive.example/personal/alice/Documents/","risk_level":"High risk"}}`), "virtualanalyzer", "h")
	assert.Equal(t, map[string]any{
		AttrEventType:            "virtualanalyzer",
		record.AttrUserName:      "alice@example.onmicrosoft.com",
		record.AttrFileName:      "IMG_0442.jpg",
		record.AttrFileHashSHA1:  "42f3fdf9447b6bc8f19b5af88c883fd53e0b0949",
		record.AttrFileDirectory: "https://example.onedrive.example/personal/alice/Documents/",
		record.AttrFilePath:      "https://example.onedrive.example/personal/alice/Documents/IMG_0442.jpg",
	}, r.Attributes)
	assert.Empty(t, r.Title, "no risk name and no policy: no title")

	body := convert(apiclienttest.Object(t, `{"message":{"file_name":"Mail Body","mail_message_id":"<m@x>"}}`), "dlp", "h")
	assert.Empty(t, body.Str(record.AttrFileName), "a violation in the message's text is about no file")

	risk := convert(apiclienttest.Object(t, `{"message":{"security_risk_name":"TROJ_GEN.R002C0","triggered_policy_name":"P"}}`), "securityrisk", "h")
	assert.Equal(t, "TROJ_GEN.R002C0", risk.Title, "the risk found names the event before the policy")
}
