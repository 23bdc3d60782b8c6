package record

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"strings"
)

// Status is the normalized status of an alarm or alert (securityalerts.status). The set is
// small on purpose, and each value means the same whatever the vendor calls it: each source's
// guide says which of its statuses maps to which.
type Status string

const (
	// StatusNew: raised, and nobody has taken it up yet.
	StatusNew Status = "new"
	// StatusInProgress: someone took it up and works on it.
	StatusInProgress Status = "in_progress"
	// StatusClosed: dealt with (resolved, remediated, dismissed).
	StatusClosed Status = "closed"
)

// statusValues are the statuses as attribute values, boxed once rather than once a record.
var statusValues = map[Status]any{StatusNew: string(StatusNew), StatusInProgress: string(StatusInProgress), StatusClosed: string(StatusClosed)}

// SetStatus sets securityalerts.status to the Status statuses gives the vendor's status (any
// case), and leaves it unset for a status the vendor table does not know.
func (r *Record) SetStatus(vendorStatus string, statuses map[string]Status) {
	if s, ok := statuses[strings.ToLower(strings.TrimSpace(vendorStatus))]; ok {
		r.attributes()[AttrStatus] = statusValues[s]
	}
}

// hashAttributes names a hex digest's algorithm by its length, the way tools tell MD5, SHA-1,
// SHA-256 and SHA-512 digests apart when a vendor gives only "the hash".
var hashAttributes = map[int]string{32: AttrFileHashMD5, 40: AttrFileHashSHA1, 64: AttrFileHashSHA256, 128: AttrFileHashSHA512}

// SetFileHash sets the file.hash.* attribute of a hex digest; anything else is left out.
func (r *Record) SetFileHash(digest string) {
	digest = strings.ToLower(strings.TrimSpace(digest))
	if key, ok := hashAttributes[len(digest)]; ok && isHex(digest) {
		r.SetString(key, digest)
	}
}

func isHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SetURL sets url.full to an absolute URL, and url.original to any other (a path, a bare host),
// as OpenTelemetry distinguishes them.
func (r *Record) SetURL(raw string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		r.SetString(AttrURLFull, raw)
		return
	}
	r.SetString(AttrURLOriginal, raw)
}

// SetAttack records a MITRE ATT&CK technique and the tactics it serves. A sub-technique
// ("T1059.001") is also filed under its technique ("T1059"), as ECS nests them; a name in
// MITRE's "Technique: Sub-technique" form is split the same way.
func (r *Record) SetAttack(techniqueID, techniqueName string, tactics []string) {
	techniqueID, techniqueName = strings.TrimSpace(techniqueID), strings.TrimSpace(techniqueName)
	if parent, _, ok := strings.Cut(techniqueID, "."); ok {
		r.AddStrings(AttrSubtechniqueID, techniqueID)
		techniqueID = parent
		if technique, sub, ok := strings.Cut(techniqueName, ": "); ok {
			r.AddStrings(AttrSubtechniqueName, sub)
			techniqueName = technique
		} else {
			r.AddStrings(AttrSubtechniqueName, techniqueName)
			techniqueName = ""
		}
	}
	r.AddStrings(AttrTechniqueID, techniqueID)
	r.AddStrings(AttrTechniqueName, techniqueName)
	for _, tactic := range tactics {
		tactic = strings.TrimSpace(tactic)
		r.AddStrings(AttrTacticName, tactic)
		r.AddStrings(AttrTacticID, TacticID(tactic))
	}
	if r.Attributes[AttrTechniqueID] != nil || r.Attributes[AttrTacticName] != nil || r.Attributes[AttrSubtechniqueID] != nil {
		r.SetString(AttrThreatFramework, attackFramework)
	}
}

// tacticIDs are the ids of MITRE ATT&CK's Enterprise tactics, by lower-case name: vendors
// name a tactic, ECS and OCSF also want its id.
var tacticIDs = map[string]string{
	"reconnaissance": "TA0043", "resource development": "TA0042", "initial access": "TA0001",
	"execution": "TA0002", "persistence": "TA0003", "privilege escalation": "TA0004",
	"defense evasion": "TA0005", "credential access": "TA0006", "discovery": "TA0007",
	"lateral movement": "TA0008", "collection": "TA0009", "command and control": "TA0011",
	"exfiltration": "TA0010", "impact": "TA0040",
}

// TacticID is the ATT&CK id of an Enterprise tactic's name (any case), empty for another name.
func TacticID(name string) string { return tacticIDs[strings.ToLower(strings.TrimSpace(name))] }

// EmailAddress reads the address out of a mail header value as vendors pass them on:
// `"Name" <a@b>`, `<a@b>`, ` a@b `. What holds no address is empty.
func EmailAddress(raw string) string {
	if a, err := mail.ParseAddress(raw); err == nil {
		return a.Address
	}
	addr := strings.TrimSpace(raw)
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	addr = strings.TrimSpace(addr)
	if !strings.Contains(addr, "@") {
		return ""
	}
	return addr
}

// Strings returns the first of keys present in m as a list: a list's strings and numbers, or a
// single value as a list of one.
func Strings(m map[string]any, keys ...string) []string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case []any:
			out := make([]string, 0, len(v))
			for _, item := range v {
				if s := scalar(item); s != "" {
					out = append(out, s)
				}
			}
			if len(out) > 0 {
				return out
			}
		default:
			if s := String(m, k); s != "" {
				return []string{s}
			}
		}
	}
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	}
	return ""
}
