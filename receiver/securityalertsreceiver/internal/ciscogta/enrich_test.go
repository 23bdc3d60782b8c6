package ciscogta

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

const (
	enrichedEventsPath = "/threat-detection/customer/" + customer + "/enriched-events-with-threat-detection-ids"
	detectionsBulkPath = "/alert-management/customer/" + customer + "/enriched-threat-detections-with-alert-ids/search"
	alertsBulkPath     = alertsPath + "/search"
)

// enrichedAPI serves events whose parents are: td1 → a1 (High), td2 → aGone (removed: 404),
// td3 → aCrit (Critical); tdGone is unknown. Alert lookups answer alertStatus for aGone.
func enrichedAPI(t *testing.T, events []map[string]any, alertStatus int) *fakeAPI {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET "+enrichedEventsPath, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "modificationSequenceNumber", r.URL.Query().Get("sort"))
		writePage(w, events, false, "500", "")
	})
	detections := map[string]map[string]any{
		"td1": {"id": "td1", "title": "Malware", "alertIds": []any{"a1"}},
		"td2": {"id": "td2", "title": "Scan", "alertIds": []any{"aGone"}},
		"td3": {"id": "td3", "title": "C2", "alertIds": []any{"aCrit", "a1"}},
	}
	alerts := map[string]map[string]any{"a1": {"id": "a1", "risk": "High"}, "aCrit": {"id": "aCrit", "risk": "Critical"}}
	bulk := func(key string, known map[string]map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Filter map[string][]string `json:"filter"`
			}
			require.NoError(t, decodeBody(r, &body))
			var items []map[string]any
			for _, id := range body.Filter[key] {
				if obj, ok := known[id]; ok {
					items = append(items, obj)
				}
			}
			writePage(w, items, false, nil, "")
		}
	}
	f.mux.HandleFunc("POST "+detectionsBulkPath, bulk("threatDetectionIds", detections))
	f.mux.HandleFunc("POST "+alertsBulkPath, bulk("alertIds", alerts))
	f.mux.HandleFunc("GET "+alertsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(alertStatus)
	})
	return f
}

func enrichedEvents(t *testing.T, f *fakeAPI) engine.Stream {
	return streamNamed(t, NewStreams(f.client(t), Config{PageSize: 100, Events: StreamConfig{Enabled: true}, EnrichEvents: true}), "cisco_gta/events")
}

func TestEnrichmentLinksEventsToDetectionsAndAlerts(t *testing.T) {
	events := []map[string]any{
		{"id": "e1", "detectedAt": iso(t0), "threatDetectionIds": []any{"td1"}},
		{"id": "e2", "detectedAt": iso(t0), "threatDetectionIds": []any{}},
		{"id": "e3", "detectedAt": iso(t0), "threatDetectionIds": []any{"td2"}},
		{"id": "e4", "detectedAt": iso(t0), "threatDetectionIds": []any{"tdGone"}},
		{"id": "e5", "detectedAt": iso(t0), "threatDetectionIds": []any{"td1", "td3"}},
		{"id": "e6", "detectedAt": iso(t0)},
	}
	f := enrichedAPI(t, events, http.StatusNotFound)
	s := enrichedEvents(t, f)

	p := fetch(t, s, engine.Query{})
	require.Len(t, p.Records, 6)
	byID := map[string]record.Record{}
	for _, r := range p.Records {
		byID[r.ID] = r
	}
	assert.Equal(t, map[string]any{AttrEventType: "convicting", AttrDetectionID: "td1", AttrAlertID: "a1", AttrAlertRisk: "High", AttrRuleName: "Malware"}, byID["e1"].Attributes)
	assert.Equal(t, record.SeverityHigh, byID["e1"].Severity)
	assert.Equal(t, "High", byID["e1"].SeverityText)

	for _, id := range []string{"e2", "e6"} {
		assert.Equal(t, map[string]any{AttrEventType: "contextual"}, byID[id].Attributes, id)
		assert.Equal(t, record.SeverityInfo, byID[id].Severity)
	}
	// The alert was removed: the event still names it, without a risk.
	assert.Equal(t, map[string]any{AttrEventType: "convicting", AttrDetectionID: "td2", AttrAlertID: "aGone", AttrRuleName: "Scan"}, byID["e3"].Attributes)
	assert.Equal(t, record.SeverityInfo, byID["e3"].Severity)
	assert.Equal(t, map[string]any{AttrEventType: "convicting", AttrDetectionID: "tdGone"}, byID["e4"].Attributes)
	// Two detections, two alerts: the highest risk counts.
	assert.Equal(t, map[string]any{AttrEventType: "convicting", AttrDetectionID: "td1,td3", AttrAlertID: "a1,aCrit", AttrAlertRisk: "Critical", AttrRuleName: "Malware; C2"}, byID["e5"].Attributes)
	assert.Equal(t, record.SeverityCritical, byID["e5"].Severity)

	require.Len(t, f.seen(detectionsBulkPath), 1)
	assert.ElementsMatch(t, []any{"td1", "td2", "tdGone", "td3"}, f.seen(detectionsBulkPath)[0].body["filter"].(map[string]any)["threatDetectionIds"])
	require.Len(t, f.seen(alertsBulkPath), 1)
	assert.Len(t, f.seen(alertsPath+"/aGone"), 1, "the alert the bulk search lacks is asked for by id")

	// The parents are cached, found or not: a second page costs no lookups.
	_ = fetch(t, s, engine.Query{Cursor: "500"})
	assert.Len(t, f.seen(detectionsBulkPath), 1)
	assert.Len(t, f.seen(alertsBulkPath), 1)
	assert.Len(t, f.seen(alertsPath+"/aGone"), 1)
}

// The lookups complete the page after it was fetched (the engine runs them while it fetches the
// next page); their failure fails the page, which the engine then does not deliver.
func TestEnrichmentFailureFailsThePage(t *testing.T) {
	f := enrichedAPI(t, []map[string]any{{"id": "e3", "threatDetectionIds": []any{"td2"}}}, http.StatusServiceUnavailable)
	p, err := enrichedEvents(t, f).(engine.LinkStream).Fetch(context.Background(), engine.Query{})
	require.NoError(t, err)
	require.NotNil(t, p.Complete, "an enriched page is completed by its lookups")
	assert.Empty(t, f.seen(detectionsBulkPath), "no lookup before the engine asks for it")
	require.Error(t, p.Complete(context.Background()), "a 503 is not a removed alert: the page is fetched again")
}

func TestEnrichmentLooksUpAtMost1000IDsPerSearch(t *testing.T) {
	f := newFakeAPI(t)
	var ids []any
	for i := range 2500 {
		ids = append(ids, fmt.Sprintf("td%d", i))
	}
	f.mux.HandleFunc("GET "+enrichedEventsPath, func(w http.ResponseWriter, _ *http.Request) {
		writePage(w, []map[string]any{{"id": "e", "threatDetectionIds": ids}}, false, "1", "")
	})
	f.mux.HandleFunc("POST "+detectionsBulkPath, func(w http.ResponseWriter, r *http.Request) {
		// Each search answers over two pages, continued by endCursor.
		if r.URL.Query().Get("after") == "" {
			writePage(w, nil, true, "more", "")
			return
		}
		writePage(w, nil, false, nil, "")
	})
	p := fetch(t, enrichedEvents(t, f), engine.Query{})
	require.Len(t, p.Records, 1)
	searches := f.seen(detectionsBulkPath)
	require.Len(t, searches, 6)
	var asked int
	for i, s := range searches {
		n := len(s.body["filter"].(map[string]any)["threatDetectionIds"].([]any))
		assert.LessOrEqual(t, n, 1000)
		if i%2 == 0 {
			asked += n
			assert.NotContains(t, s.query, "after=")
		} else {
			assert.Contains(t, s.query, "after=more")
		}
	}
	assert.Equal(t, 2500, asked)
	assert.Empty(t, f.seen(alertsBulkPath), "no detection found, no alert to ask for")
}

func TestCacheEvictsLeastRecentlyUsedAndExpires(t *testing.T) {
	now := t0
	c := newCache[int](2, time.Minute)
	c.now = func() time.Time { return now }
	c.put("a", 1)
	c.put("b", 2)
	_, _ = c.get("a") // b is now the least recently used
	c.put("c", 3)
	_, ok := c.get("b")
	assert.False(t, ok, "evicted")
	v, ok := c.get("a")
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	assert.Equal(t, 2, c.len())

	now = now.Add(time.Minute)
	_, ok = c.get("c")
	assert.False(t, ok, "expired")
	assert.Equal(t, 1, c.len(), "an expired entry is dropped when met")
	c.put("a", 10)
	v, _ = c.get("a")
	assert.Equal(t, 10, v, "put refreshes value and expiry")
}

// len is how many entries the cache holds.
func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
