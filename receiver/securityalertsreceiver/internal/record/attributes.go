package record

import (
	"encoding/json"
	"slices"
)

// The normalized attributes every source emits where its object has the data: OpenTelemetry
// semantic-convention names where they exist, ECS names where OpenTelemetry has none, and the
// contract's securityalerts.status. Each source's guide maps its fields to these.
const (
	// OpenTelemetry: the actor, the network endpoints, the host, the file, the URL.
	AttrUserName           = "user.name"
	AttrSourceAddress      = "source.address"
	AttrSourcePort         = "source.port"
	AttrDestinationAddress = "destination.address"
	AttrDestinationPort    = "destination.port"
	AttrNetworkTransport   = "network.transport"
	AttrHostName           = "host.name"
	AttrHostID             = "host.id"
	AttrFileName           = "file.name"
	AttrFilePath           = "file.path"
	AttrFileDirectory      = "file.directory"
	// AttrURLFull is an absolute URL; AttrURLOriginal one as the vendor wrote it, when it is not.
	AttrURLFull     = "url.full"
	AttrURLOriginal = "url.original"

	// OpenTelemetry: the rule that raised an alarm or finding.
	AttrRuleName     = "security_rule.name"
	AttrRuleCategory = "security_rule.category"
	AttrRuleRuleset  = "security_rule.ruleset.name"
	AttrRuleUUID     = "security_rule.uuid"

	// ECS: the target user, bytes per direction, file hashes, the mail a detection is about.
	AttrUserTargetName   = "user.target.name"
	AttrSourceBytes      = "source.bytes"
	AttrDestinationBytes = "destination.bytes"
	AttrFileHashMD5      = "file.hash.md5"
	AttrFileHashSHA1     = "file.hash.sha1"
	AttrFileHashSHA256   = "file.hash.sha256"
	AttrFileHashSHA512   = "file.hash.sha512"
	AttrEmailFrom        = "email.from.address" // []string
	AttrEmailTo          = "email.to.address"   // []string
	AttrEmailSubject     = "email.subject"
	AttrEmailMessageID   = "email.message_id"

	// ECS: MITRE ATT&CK. Tactics and techniques are []string, as ECS defines them.
	AttrThreatFramework  = "threat.framework"
	AttrTacticID         = "threat.tactic.id"
	AttrTacticName       = "threat.tactic.name"
	AttrTechniqueID      = "threat.technique.id"
	AttrTechniqueName    = "threat.technique.name"
	AttrSubtechniqueID   = "threat.technique.subtechnique.id"
	AttrSubtechniqueName = "threat.technique.subtechnique.name"
	attackFramework      = "MITRE ATT&CK"

	// ECS: a link to the object in the vendor's console.
	AttrEventURL = "event.url"

	// The contract: the alert's status, one of the Status values.
	AttrStatus = "securityalerts.status"
)

// SetString sets key to value, unless value is empty.
func (r *Record) SetString(key, value string) {
	if value != "" {
		r.attributes()[key] = value
	}
}

// SetField sets key to the first of keys that m holds as a non-empty string, and reports whether
// there was one. The decoded value is stored as it is: a field copied from the vendor object
// costs no allocation, as boxing a string again would. A number or boolean is formatted.
func (r *Record) SetField(key string, m map[string]any, keys ...string) bool {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				r.attributes()[key] = m[k]
				return true
			}
		case json.Number, bool, float64:
			r.SetString(key, String(m, k))
			return true
		}
	}
	return false
}

// SetInt sets key to n.
func (r *Record) SetInt(key string, n int64) { r.attributes()[key] = n }

// AddStrings appends to the list at key the values it does not hold yet, skipping empty ones.
func (r *Record) AddStrings(key string, values ...string) {
	list, _ := r.Attributes[key].([]string)
	n := len(list)
	for _, v := range values {
		if v != "" && !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	if len(list) > n {
		r.attributes()[key] = list
	}
}

// Str returns the string attribute at key, empty when there is none.
func (r *Record) Str(key string) string {
	s, _ := r.Attributes[key].(string)
	return s
}

// Number returns the integer attribute at key.
func (r *Record) Number(key string) (int64, bool) {
	n, ok := r.Attributes[key].(int64)
	return n, ok
}

// List returns the list attribute at key, or the string there as a list of one.
func (r *Record) List(key string) []string {
	switch v := r.Attributes[key].(type) {
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

func (r *Record) attributes() map[string]any {
	if r.Attributes == nil {
		r.Attributes = make(map[string]any, 8)
	}
	return r.Attributes
}
