package usm

import (
	"slices"
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// ChangingAlarmFields are the alarm fields USM changes after it raised the alarm: an analyst
// closes it, puts it in review, suppresses it. A filter on one of them, sent to the API, would
// make alarms leave the filtered list while the receiver reads it, and a late alarm could then
// hide behind one that left in the API's count of a span. So such a filter is applied to what is
// read instead: the list read never loses a record, and an alarm not matching is withheld.
var ChangingAlarmFields = []string{"status", "suppressed"}

// LocalFilter is the part of a list's filters the receiver applies itself: field → accepted values.
type LocalFilter map[string][]string

// SplitFilters takes out of filters (field name → values, as the API takes them) those on a
// changing field; name gives the alarm field a filter key is about ("alarm.status" → "status").
func SplitFilters(filters map[string][]string, name func(key string) string) (sent map[string][]string, local LocalFilter) {
	sent = make(map[string][]string, len(filters))
	for key, values := range filters {
		field := name(key)
		if changing(field) {
			if local == nil {
				local = LocalFilter{}
			}
			local[field] = values
			continue
		}
		sent[key] = values
	}
	return sent, local
}

func changing(field string) bool {
	return slices.ContainsFunc(ChangingAlarmFields, func(f string) bool { return strings.EqualFold(f, field) })
}

// Match tells whether alarm has, in every field of the filter, one of the values accepted
// (compared as the API compares them: as text, whatever the case).
func (f LocalFilter) Match(alarm map[string]any) bool {
	for field, accepted := range f {
		v := record.String(alarm, field)
		if !slices.ContainsFunc(accepted, func(a string) bool { return strings.EqualFold(v, a) }) {
			return false
		}
	}
	return true
}
