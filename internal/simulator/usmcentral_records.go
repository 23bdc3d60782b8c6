package simulator

import (
	"math/rand/v2"
	"time"
)

// USM Central search results: a USM Anywhere alarm or event (usmanywhere_records.go) wrapped with
// the tenant it comes from, as the console indexes its deployments' data.

type centralDeployment struct {
	name, displayName, status string
	authorized                bool
	licenseKey                string
}

// centralDeployments are the console's tenants: two whose data flows, one disconnected and one
// the console may not read. Only the first two have records: the others send the console none.
var centralDeployments = []centralDeployment{
	{"acme", "ACME Corp", "connected", true, "5b8f0b6e-1c1e-4d43-9d1c-0c7f3a0e0a01"},
	{"globex", "Globex Corporation", "connected", true, "5b8f0b6e-1c1e-4d43-9d1c-0c7f3a0e0a02"},
	{"initech", "Initech", "disconnected", true, "5b8f0b6e-1c1e-4d43-9d1c-0c7f3a0e0a03"},
	{"umbrella", "Umbrella", "connected", false, "5b8f0b6e-1c1e-4d43-9d1c-0c7f3a0e0a04"},
}

const centralMSSPID = "a4d2c1e0-7b3f-4c8e-9f61-2d5e8b7a9c10"

func (d centralDeployment) fqdn() string { return d.name + ".alienvault.cloud" }

func (d centralDeployment) json() map[string]any {
	return map[string]any{
		"id": "cn://" + d.fqdn(), "licenseKey": d.licenseKey, "fqdn": d.fqdn(), "name": d.name,
		"displayName": d.displayName, "type": "USM Anywhere", "joinedSince": int64(1624876043779),
		"connectionStatus": d.status, "authorized": d.authorized,
	}
}

// centralSending are the deployments whose records reach the console.
var centralSending = centralDeployments[:2]

func centralAlarm(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id, alarm := usmAlarm(rng, occurred, received)
	result := centralResult(rng, id, "alarm", alarm, received)
	result["events"] = alarm["events"]
	result["assets"] = []any{}
	return id, result
}

func centralEvent(rng *rand.Rand, occurred, received time.Time) (string, map[string]any) {
	id, event := usmEvent(rng, occurred, received)
	return id, centralResult(rng, id, "event", event, received)
}

// centralWithoutID returns a search result of kind without its id: the result's and the USM
// object's inside it.
func centralWithoutID(kind string) func(map[string]any) map[string]any {
	return func(fields map[string]any) map[string]any {
		return without(fields, []string{"id"}, []string{kind, "uuid"}, []string{kind, "id"})
	}
}

// centralResult wraps obj as the search returns it; timestamp and @timestamp are when the console
// indexed it, not when it occurred.
func centralResult(rng *rand.Rand, id, kind string, obj map[string]any, received time.Time) map[string]any {
	d := pick(rng, centralSending)
	return map[string]any{
		"id": id, "tenantId": "cn://" + d.fqdn(), "licenseId": d.licenseKey, "msspId": centralMSSPID,
		"timestamp": received.UnixMilli(), "@timestamp": received.UTC().Format("2006-01-02T15:04:05.000Z"),
		"@version": 1, kind: obj,
	}
}
