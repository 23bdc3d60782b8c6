package ocsf

import (
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ciscogta"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// findingStatuses are the Finding status ids of the normalized statuses: OCSF has no "closed",
// and Resolved is how finding sources commonly map it.
var findingStatuses = map[string]struct {
	id   int64
	name string
}{
	string(record.StatusNew):        {1, "New"},
	string(record.StatusInProgress): {2, "In Progress"},
	string(record.StatusClosed):     {4, "Resolved"},
}

// fillFinding sets what every finding class has: its information, status and alert flag.
func fillFinding(e map[string]any, rec record.Record) {
	e["finding_info"] = findingInfo(rec)
	if s, ok := findingStatuses[rec.Str(record.AttrStatus)]; ok {
		e["status_id"], e["status"] = s.id, s.name
	}
	// Alarms, alerts and detections are raised to be acted on; of Cisco's security events, only
	// those convicting a threat detection are.
	e["is_alert"] = rec.Kind != ciscogta.KindEvent || rec.Str(ciscogta.AttrEventType) == "convicting"
}

// fillDetectionFinding puts what the finding is about in one evidence.
func fillDetectionFinding(e map[string]any, rec record.Record) {
	fillFinding(e, rec)
	ev := map[string]any{}
	putObject(ev, "actor", actor(rec))
	putObject(ev, "user", user(rec.Str(record.AttrUserTargetName)))
	putObject(ev, "src_endpoint", endpoint(rec, record.AttrSourceAddress, record.AttrSourcePort))
	putObject(ev, "dst_endpoint", endpoint(rec, record.AttrDestinationAddress, record.AttrDestinationPort))
	putObject(ev, "device", device(rec))
	putObject(ev, "file", file(rec))
	putObject(ev, "url", urlObject(rec))
	putObject(ev, "email", email(rec))
	if len(ev) > 0 {
		e["evidences"] = []any{ev}
	}
}

// fillDataSecurityFinding: the class has the actor, endpoints, device and file of its own.
func fillDataSecurityFinding(e map[string]any, rec record.Record) {
	fillFinding(e, rec)
	putObject(e, "actor", actor(rec))
	putObject(e, "src_endpoint", endpoint(rec, record.AttrSourceAddress, record.AttrSourcePort))
	putObject(e, "dst_endpoint", endpoint(rec, record.AttrDestinationAddress, record.AttrDestinationPort))
	putObject(e, "device", device(rec))
	putObject(e, "file", file(rec))
}

// findingInfo: the vendor's id, its title, the rule (analytic) that raised it, the ATT&CK
// tactics and techniques it names, when it was created and modified, and its console link.
func findingInfo(rec record.Record) map[string]any {
	info := map[string]any{"uid": rec.ID}
	putString(info, "title", rec.Title)
	putString(info, "src_url", rec.Str(record.AttrEventURL))
	if !rec.Time.IsZero() {
		info["created_time"] = millis(rec.Time)
	}
	if !rec.Modified.IsZero() {
		info["modified_time"] = millis(rec.Modified)
	}
	putObject(info, "analytic", analytic(rec))
	if attacks := attacks(rec); len(attacks) > 0 {
		info["attacks"] = attacks
	}
	return info
}

// analytic is the rule, when the vendor names it.
func analytic(rec record.Record) map[string]any {
	a := identified(1, "name", rec.Str(record.AttrRuleName), rec.Str(record.AttrRuleUUID))
	if a != nil {
		a["type"] = "Rule"
		putString(a, "category", rec.Str(record.AttrRuleCategory))
	}
	return a
}

// attacks are one ATT&CK object per tactic, each with the technique (and sub-technique); a
// technique without a tactic is one object alone.
func attacks(rec record.Record) []any {
	technique := named(rec.List(record.AttrTechniqueID), rec.List(record.AttrTechniqueName))
	sub := named(rec.List(record.AttrSubtechniqueID), rec.List(record.AttrSubtechniqueName))
	base := map[string]any{}
	putObject(base, "technique", technique)
	putObject(base, "sub_technique", sub)
	tactics := rec.List(record.AttrTacticName)
	if len(tactics) == 0 {
		if len(base) == 0 {
			return nil
		}
		return []any{base}
	}
	out := make([]any, 0, len(tactics))
	for _, name := range tactics {
		attack := make(map[string]any, len(base)+1)
		for k, v := range base {
			attack[k] = v
		}
		tactic := map[string]any{"name": name}
		putString(tactic, "uid", record.TacticID(name))
		attack["tactic"] = tactic
		out = append(out, attack)
	}
	return out
}

// named is a technique's {uid, name} from the first id and name the lists hold.
func named(ids, names []string) map[string]any {
	obj := map[string]any{}
	if len(ids) > 0 {
		obj["uid"] = ids[0]
	}
	if len(names) > 0 {
		obj["name"] = names[0]
	}
	return obj
}
