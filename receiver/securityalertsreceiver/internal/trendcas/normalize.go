package trendcas

import (
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// AttrEventType is the event type the record was asked for (securityrisk, virtualanalyzer,
// ransomware, dlp): the answer's own event names differ and vary ("security_risk_scan").
const AttrEventType = "trend_cas.event.type"

// mailBody is the file_name of a mail event about the message's own text, not a file.
const mailBody = "Mail Body"

// normalize sets the normalized attributes of a security event from its message. A mail
// service's event is about a message (its attachment is the file); a storage service's is
// about a file, whose location is the folder holding it.
func normalize(r *record.Record, msg map[string]any, event string) {
	r.SetString(AttrEventType, event)
	r.SetString(record.AttrUserName, strings.TrimSpace(record.String(msg, "affected_user", "violator")))
	name := record.String(msg, "file_name", "mail_message_file_name")
	if name == mailBody {
		name = ""
	} else {
		r.SetField(record.AttrFileName, msg, "file_name", "mail_message_file_name")
	}
	r.SetFileHash(record.String(msg, "file_sha1"))
	if id := record.String(msg, "mail_message_id"); id != "" {
		r.SetString(record.AttrEmailMessageID, strings.TrimSpace(id))
		r.SetField(record.AttrEmailSubject, msg, "mail_message_subject")
		r.AddStrings(record.AttrEmailFrom, addresses(msg, "mail_message_sender")...)
		r.AddStrings(record.AttrEmailTo, addresses(msg, "mail_message_recipient")...)
	} else if dir := strings.TrimSpace(record.String(msg, "location")); dir != "" {
		r.SetString(record.AttrFileDirectory, dir)
		if name != "" && strings.HasSuffix(dir, "/") {
			r.SetString(record.AttrFilePath, dir+name)
		}
	}
	r.Title = record.String(msg, "security_risk_name", "ransomware_name", "virus_name", "triggered_policy_name")
}

// addresses reads a mail header field, a string or a list of them, as bare addresses.
func addresses(msg map[string]any, key string) []string {
	raw := record.Strings(msg, key)
	out := make([]string, 0, len(raw))
	for _, a := range raw {
		out = append(out, record.EmailAddress(a))
	}
	return out
}
