package usmanywhere

import (
	"context"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// FuzzFetch feeds any response body through both lists' real request and parsing path: no input
// may panic, and what parses must be records of the list's kind with their body kept.
func FuzzFetch(f *testing.F) {
	apiclienttest.AddSeeds(f, "*.json")
	f.Add([]byte(`{"_embedded":{"alarms":[1,"x",null,{"timestamp_occured":"1e99","priority":"NaN"}]}}`))
	f.Add([]byte(`{"_embedded":{"eventResources":[{"timestamp_occurred_iso8601":"2026-13-40T99:00:00Z"}]},"_links":{"next":{"href":"//evil.example/x"}}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		api := apiclienttest.Canned(t, body)
		for _, s := range NewStreams(api, Config{PageSize: 10, Alarms: StreamConfig{Enabled: true}, Events: StreamConfig{Enabled: true}}) {
			page, _ := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: time.Unix(0, 0)})
			for _, r := range page.Records {
				if r.Kind != "alarm" && r.Kind != "event" {
					t.Fatalf("record of kind %q", r.Kind)
				}
				if r.Body == nil {
					t.Fatal("record without body")
				}
			}
		}
	})
}
