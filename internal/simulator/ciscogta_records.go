package simulator

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Cisco Global Threat Alerts objects, shaped after the vendor's README and sample scripts:
// alerts (some still in the deprecated shape with a state string instead of status.value),
// threat detections, security events and network flows. Links between them (an event's threat
// detections, a detection's alerts) are drawn when the world imports them, in ciscogta_world.go.

// ciscoDeprecatedShare of alerts carry the deprecated state string instead of status.value.
const ciscoDeprecatedShare = 0.1

// ciscoRisks weights alert risks as a real customer's are: few critical.
var ciscoRisks = []struct {
	risk   string
	weight float64
}{{"Low", 0.35}, {"Medium", 0.35}, {"High", 0.22}, {"Critical", 0.08}}

// ciscoRiskRank orders risks for the default sort (riskiest first) and for risk changes.
var ciscoRiskRank = map[string]int{"Low": 1, "Medium": 2, "High": 3, "Critical": 4}

var (
	ciscoThreats = []string{
		"Cryptocurrency miner", "Emotet banking trojan", "Command and control communication", "Data exfiltration over DNS",
		"Remote access trojan", "Malicious advertising", "Ransomware (Conti)", "Phishing domain access",
	}
	ciscoEventTitles = []struct{ title, subtitle string }{
		{"Communication with a known malicious domain", "Connection to a domain listed in threat intelligence"},
		{"Unusual volume of DNS queries", "DNS tunnelling suspected"},
		{"Beaconing to a remote host", "Regular outbound connections at a fixed interval"},
		{"Download of an executable", "File type mismatch in HTTP response"},
		{"Access to an uncategorised domain", "Contextual observation"},
	}
	ciscoProtocols = []string{"TCP", "UDP"}
)

func ciscoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ciscoAlert makes an alert: triggered when it occurred, last modified when it appeared.
func ciscoAlert(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id := fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	fields := map[string]any{
		"id":          id,
		"risk":        ciscoRisk(rng),
		"etaFlag":     pick(rng, []string{"EtaBasedDetection", "NonEtaDetection"}),
		"note":        "",
		"triggeredAt": ciscoTime(occurred),
		"modifiedAt":  ciscoTime(received),
	}
	if rng.Float64() < ciscoDeprecatedShare {
		fields["state"] = "New"
	} else {
		fields["status"] = map[string]any{"value": "New", "closingReasons": nil}
	}
	return id, fields
}

func ciscoRisk(rng *rand.Rand) string {
	roll := rng.Float64()
	for _, r := range ciscoRisks {
		if roll -= r.weight; roll < 0 {
			return r.risk
		}
	}
	return ciscoRisks[len(ciscoRisks)-1].risk
}

func ciscoDetection(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id := newUUID(rng)
	return id, map[string]any{
		"id":                  id,
		"title":               pick(rng, ciscoThreats),
		"confidence":          pick(rng, []string{"Low", "Medium", "High"}),
		"affectedAssetId":     "asset-" + randomIP(rng),
		"threatIntelRecordId": newUUID(rng),
		"detectedAt":          ciscoTime(occurred),
		"modifiedAt":          ciscoTime(received),
	}
}

func ciscoEvent(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id := newUUID(rng)
	t := pick(rng, ciscoEventTitles)
	return id, map[string]any{
		"id":                  id,
		"securityEventTypeId": 100 + rng.IntN(50),
		"title":               t.title,
		"subtitle":            t.subtitle,
		"affectedAssetId":     "asset-" + randomIP(rng),
		"detectedAt":          ciscoTime(occurred),
		"modifiedAt":          ciscoTime(received),
		"securityAnnotation":  nil,
	}
}

func ciscoFlow(rng *rand.Rand, occurred, _ time.Time) (string, map[string]any) {
	id := newUUID(rng)
	return id, map[string]any{
		"id":              id,
		"timeStamp":       ciscoTime(occurred),
		"sourceIp":        randomIP(rng),
		"destinationIp":   fmt.Sprintf("203.0.113.%d", 1+rng.IntN(254)),
		"destinationPort": pick(rng, []int{53, 80, 443, 8080}),
		"protocol":        pick(rng, ciscoProtocols),
		"bytesSent":       rng.IntN(1 << 20),
		"bytesReceived":   rng.IntN(1 << 20),
	}
}
