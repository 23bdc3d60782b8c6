package ciscogta

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

const alertsPath = "/alert-management/customer/" + customer + "/alerts"

func TestAlertsFirstSyncByTriggeredAtThenModifiedAfter(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET "+alertsPath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			// next points elsewhere on purpose: the client goes by endCursor.
			writePage(w, []map[string]any{
				{"id": "a1", "risk": "High", "status": map[string]any{"value": "New"}, "triggeredAt": iso(t0), "modifiedAt": iso(t0)},
			}, true, "2025-03-01T12:00:00.000Z,a1", "https://elsewhere.test/x")
			return
		}
		writePage(w, []any{
			// The deprecated shape: a state string instead of status.value.
			map[string]any{"id": "a2", "risk": "Critical", "state": "Remediated", "triggeredAt": iso(t0.Add(time.Minute)), "modifiedAt": iso(t0.Add(time.Hour))},
			"not an alert",
		}, false, nil, "")
	})
	s := streamNamed(t, NewStreams(f.client(t), Config{PageSize: 2, Alerts: StreamConfig{Enabled: true, Filters: map[string]any{"risk": []any{"High", "Critical"}}}}), "cisco_gta/alerts")

	since := t0.Add(-24 * time.Hour)
	p1 := fetch(t, s, engine.Query{Since: since, Initial: true})
	assert.True(t, p1.Unordered, "by trigger time, not modification: the watermark must wait for the walk's end")
	assert.Equal(t, "2025-03-01T12:00:00.000Z,a1", p1.Next)
	require.Len(t, p1.Records, 1)
	a1 := p1.Records[0]
	assert.Equal(t, record.Record{
		ID: "a1", Kind: "alert", Tenant: customer, Time: t0, Modified: t0,
		Severity: record.SeverityHigh, SeverityText: "High",
		Attributes: map[string]any{AttrAlertStatus: "New", AttrAlertUpdate: "false", record.AttrStatus: "new"},
		Body:       a1.Body,
	}, a1)

	p2 := fetch(t, s, engine.Query{Since: since, Initial: true, PageToken: p1.Next})
	assert.Empty(t, p2.Next)
	assert.Equal(t, 1, p2.Malformed)
	require.Len(t, p2.Records, 1)
	a2 := p2.Records[0]
	assert.Equal(t, record.SeverityCritical, a2.Severity)
	assert.True(t, t0.Add(time.Hour).Equal(a2.Modified))
	assert.Equal(t, map[string]any{AttrAlertStatus: "Remediated", AttrAlertUpdate: "true", record.AttrStatus: "closed"}, a2.Attributes)

	_ = fetch(t, s, engine.Query{Since: t0.Add(50 * time.Minute)})
	qs := f.seen(alertsPath)
	require.Len(t, qs, 3)
	first, _ := url.ParseQuery(qs[0].query)
	assert.Equal(t, url.Values{"sort": {"triggeredAt:asc"}, "triggeredAfter": {"2025-02-28T12:00:00.000Z"}, "size": {"2"}, "risk": {"High", "Critical"}}, first)
	second, _ := url.ParseQuery(qs[1].query)
	assert.Equal(t, "2025-03-01T12:00:00.000Z,a1", second.Get("after"))
	assert.Equal(t, "triggeredAt:asc", second.Get("sort"), "the walk keeps its parameters")
	incremental, _ := url.ParseQuery(qs[2].query)
	assert.Equal(t, url.Values{"modifiedAfter": {"2025-03-01T12:50:00.000Z"}, "size": {"2"}, "risk": {"High", "Critical"}}, incremental)
}

func TestSequenceStreamsResumeAfterTheirCursor(t *testing.T) {
	f := newFakeAPI(t)
	path := "/threat-detection/customer/" + customer + "/threat-detections"
	f.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("after") {
		case "":
			writePage(w, []map[string]any{{"id": "td1", "detectedAt": iso(t0), "title": "Cryptomining"}}, true, 101, "")
		case "101":
			writePage(w, []map[string]any{{"id": "td2", "lastDetectedAt": iso(t0.Add(time.Minute)), "risk": "Medium"}}, false, "102", "")
		default:
			writePage(w, nil, false, nil, "")
		}
	})
	s := streamNamed(t, NewStreams(f.client(t), Config{PageSize: 1, ThreatDetections: StreamConfig{Enabled: true, Filters: map[string]any{"confidence": "High"}}}), "cisco_gta/threat_detections")

	p1 := fetch(t, s, engine.Query{Initial: true})
	assert.Equal(t, "101", p1.Cursor)
	assert.Equal(t, "101", p1.Next)
	assert.False(t, p1.Unordered)
	require.Len(t, p1.Records, 1)
	assert.Equal(t, "threat_detection", p1.Records[0].Kind)
	assert.Equal(t, map[string]any{AttrRuleName: "Cryptomining"}, p1.Records[0].Attributes)
	assert.Equal(t, record.SeverityInfo, p1.Records[0].Severity)

	p2 := fetch(t, s, engine.Query{PageToken: "101"})
	assert.Equal(t, "102", p2.Cursor)
	assert.Empty(t, p2.Next)
	assert.Equal(t, record.SeverityMedium, p2.Records[0].Severity)
	assert.True(t, t0.Add(time.Minute).Equal(p2.Records[0].Time))

	// The next poll starts after the stored cursor; an empty answer keeps it.
	p3 := fetch(t, s, engine.Query{Cursor: "102"})
	assert.Empty(t, p3.Records)
	assert.Equal(t, "102", p3.Cursor)

	qs := f.seen(path)
	require.Len(t, qs, 3)
	first, _ := url.ParseQuery(qs[0].query)
	assert.Equal(t, url.Values{"sort": {"modificationSequenceNumber"}, "size": {"1"}, "confidence": {"High"}}, first)
	last, _ := url.ParseQuery(qs[2].query)
	assert.Equal(t, "102", last.Get("after"))
}

func TestEventsAndFlowsUseThePostSearch(t *testing.T) {
	f := newFakeAPI(t)
	for _, resource := range []string{"events", "flows"} {
		f.mux.HandleFunc("POST /event-detection/customer/"+customer+"/"+resource+"/search", func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			writePage(w, []map[string]any{{"id": resource + "1", "detectedAt": iso(t0), "timeStamp": iso(t0.Add(time.Second))}}, false, "9", "")
		})
	}
	streams := NewStreams(f.client(t), Config{
		PageSize: 50,
		Events:   StreamConfig{Enabled: true, Filters: map[string]any{"securityEventTypeId": []any{"1", "2"}}},
		Flows:    StreamConfig{Enabled: true},
	})
	require.Len(t, streams, 2)

	ev := fetch(t, streamNamed(t, streams, "cisco_gta/events"), engine.Query{Cursor: "5"})
	require.Len(t, ev.Records, 1)
	assert.Equal(t, "event", ev.Records[0].Kind)
	assert.Empty(t, ev.Records[0].Attributes, "without enrichment an event is not classified")
	assert.Equal(t, "9", ev.Cursor)
	sent := f.seen("/event-detection/customer/" + customer + "/events/search")[0]
	assert.Equal(t, map[string]any{"filter": map[string]any{"securityEventTypeId": []any{"1", "2"}}}, sent.body)
	assert.Equal(t, "after=5&size=50&sort=modificationSequenceNumber", sent.query)

	fl := fetch(t, streamNamed(t, streams, "cisco_gta/flows"), engine.Query{})
	require.Len(t, fl.Records, 1)
	assert.Equal(t, "event", fl.Records[0].Kind)
	assert.Equal(t, "flow", fl.Records[0].Attributes[AttrEventType])
	assert.True(t, t0.Add(time.Second).Equal(fl.Records[0].Time), "a flow's time is its timeStamp")
	assert.Equal(t, map[string]any{"filter": map[string]any{}}, f.seen("/event-detection/customer/" + customer + "/flows/search")[0].body)
}

func TestOpenAlertsCountsEveryPageByRisk(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET "+alertsPath, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "1000", r.URL.Query().Get("size"))
		if r.URL.Query().Get("after") == "" {
			writePage(w, []map[string]any{
				{"id": "1", "risk": "High", "status": map[string]any{"value": "New"}},
				{"id": "2", "risk": "High", "status": map[string]any{"value": "Closed", "closingReasons": []any{"FalsePositive"}}},
			}, true, "c1", "")
			return
		}
		writePage(w, []map[string]any{
			{"id": "3", "risk": "Critical", "status": map[string]any{"value": "Open"}},
			{"id": "4", "risk": "Low", "state": "Remediated"},
			{"id": "5", "risk": "Low", "state": "New"},
		}, false, nil, "")
	})
	tenant, counts, err := OpenAlerts(context.Background(), f.client(t))
	require.NoError(t, err)
	assert.Equal(t, customer, tenant)
	assert.Equal(t, map[record.Severity]int64{"low": 1, "medium": 0, "high": 1, "critical": 1}, counts)
}

func TestOpenAlertsFailsOnAnyPage(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET "+alertsPath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			writePage(w, []map[string]any{{"id": "1", "risk": "High"}}, true, "c1", "")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, _, err := OpenAlerts(context.Background(), f.client(t))
	require.Error(t, err, "a partial count would show as a drop in open alerts")
}
