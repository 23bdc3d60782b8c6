package ciscogta

import (
	"context"
	"errors"
	"testing"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
)

// checkPage holds for every page of every collection: at most one record per item, each of the
// customer with its body, and none from a body that did not decode.
func checkPage(t *testing.T, body []byte, page engine.Page, err error) {
	t.Helper()
	if n, bound := len(page.Records)+page.Malformed, apiclienttest.Items(body, "items"); n > bound {
		t.Fatalf("%d records and malformed items from at most %d items", n, bound)
	}
	var me *apiclient.MalformedError
	if errors.As(err, &me) && len(page.Records) > 0 {
		t.Fatalf("records from a malformed body: %v", err)
	}
	for _, r := range page.Records {
		if r.Tenant != customer || r.Body == nil {
			t.Fatalf("record %+v", r)
		}
	}
}

// FuzzAlerts feeds any body as an alerts page (the status.value shape and the deprecated state
// shape) through the first sync, an incremental sync, the page a next cursor leads to, and the
// open-alert counts: no panic, and an alert flagged as an update was modified after it triggered.
func FuzzAlerts(f *testing.F) {
	apiclienttest.AddSeeds(f, "alert*.json")
	f.Add([]byte(`{"items":[{"status":"Open","modifiedAt":"1999-01-01T00:00:00Z"},{"status":{"value":7},"state":"Closed","risk":{}}],"pageInfo":{"hasNextPage":true,"endCursor":{}}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		c := NewClient(apiclienttest.Canned(t, body), customer, nil)
		s := NewStreams(c, Config{PageSize: 10, Alerts: StreamConfig{Enabled: true}})[0]
		for _, q := range []engine.Query{{Since: t0, Initial: true}, {Since: t0}} {
			for range 2 {
				page, err := s.(engine.LinkStream).Fetch(context.Background(), q)
				if err == nil && page.Complete != nil {
					err = page.Complete(context.Background())
				}
				checkPage(t, body, page, err)
				if !page.Unordered {
					t.Fatal("an alerts page must not move the watermark before its walk ends")
				}
				for _, r := range page.Records {
					update := r.Str(AttrAlertUpdate)
					if r.Kind != KindAlert || (update != "true" && update != "false") ||
						(update == "true" && (r.Time.IsZero() || !r.Modified.After(r.Time))) {
						t.Fatalf("alert %+v", r)
					}
				}
				if err != nil || page.Next == "" {
					break
				}
				q.PageToken = page.Next
			}
		}
		_, counts, err := OpenAlerts(context.Background(), c)
		var n int64
		for _, k := range counts {
			n += k
		}
		if err == nil && (len(counts) < len(riskLevels) || n > int64(apiclienttest.Items(body, "items"))) {
			t.Fatalf("open alerts %v from one page", counts)
		}
	})
}

// FuzzSequencePages feeds any body as a page of the collections synced by modification
// sequence number (threat detections, events by POST search, flows, and the enriched events
// whose parents are then looked up in the same body), from the start and from a stored cursor:
// no panic, and a stream that had a position never loses it.
func FuzzSequencePages(f *testing.F) {
	apiclienttest.AddSeeds(f, "*.json")
	f.Add([]byte(`{"items":[{"threatDetectionIds":[1,"a",null,{}],"alertIds":["a"],"id":"a","risk":"High"}],"pageInfo":{"hasNextPage":true,"next":"?after=%zz"}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		c := NewClient(apiclienttest.Canned(t, body), customer, nil)
		on := StreamConfig{Enabled: true}
		streams := NewStreams(c, Config{PageSize: 10, ThreatDetections: on, Events: on, Flows: on})
		streams = append(streams, NewStreams(c, Config{PageSize: 10, Events: on, EnrichEvents: true})...)
		for _, s := range streams {
			for _, q := range []engine.Query{{}, {Cursor: "25717281"}} {
				page, err := s.(engine.LinkStream).Fetch(context.Background(), q)
				if err == nil && page.Complete != nil {
					err = page.Complete(context.Background())
				}
				checkPage(t, body, page, err)
				if q.Cursor != "" && page.Cursor == "" && (err == nil || len(page.Records) > 0) {
					t.Fatalf("%s: the cursor %s was lost", s.Name(), q.Cursor)
				}
				if err == nil && page.Next != "" && page.Next == q.Cursor {
					t.Fatalf("%s: the next page repeats cursor %s", s.Name(), q.Cursor)
				}
				for _, r := range page.Records {
					checkEvent(t, s.Name(), r)
				}
			}
		}
	})
}

func checkEvent(t *testing.T, stream string, r record.Record) {
	t.Helper()
	typ := r.Str(AttrEventType)
	switch stream {
	case Source + "/threat_detections":
		if r.Kind != KindDetection {
			t.Fatalf("detection %+v", r)
		}
	case Source + "/flows":
		if r.Kind != KindEvent || typ != "flow" {
			t.Fatalf("flow %+v", r)
		}
	default:
		enriched := typ == "convicting" || typ == "contextual"
		if r.Kind != KindEvent || (typ != "" && !enriched) ||
			(typ == "convicting" && r.Str(AttrDetectionID) == "") ||
			(typ != "convicting" && r.Str(AttrAlertID) != "") ||
			(r.Str(AttrAlertRisk) != "" && r.Str(AttrAlertRisk) != r.SeverityText) {
			t.Fatalf("event %+v", r)
		}
	}
}

// FuzzEnrichment feeds any body as the answer of the bulk parent lookups (threat detections
// with alert ids, alerts, an alert by id) for a realistic page of enriched events: no panic, no
// records with an error, and every event enriched.
func FuzzEnrichment(f *testing.F) {
	events := apiclienttest.Seeds(f, "enriched-events.json")[0]
	apiclienttest.AddSeeds(f, "enriched-detections-search.json")
	apiclienttest.AddSeeds(f, "alert*.json")
	f.Add([]byte(`{"items":[{"id":"5545e280-74ee-4ce3-978c-d0c2a155cef6","alertIds":[1,"",null,"x"],"title":{}},{"id":"x","risk":7}]}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		api := apiclienttest.CannedPaths(t, map[string]apiclienttest.Answer{
			"/threat-detection/customer/" + customer + "/enriched-events-with-threat-detection-ids": {Body: events},
			"": {Body: body},
		})
		s := NewStreams(NewClient(api, customer, nil), Config{PageSize: 10, Events: StreamConfig{Enabled: true}, EnrichEvents: true})[0]
		page, err := s.(engine.LinkStream).Fetch(context.Background(), engine.Query{})
		if err != nil && len(page.Records) > 0 {
			t.Fatalf("records and an error: %v", err)
		}
		if err != nil || page.Complete == nil {
			return
		}
		if page.Complete(context.Background()) != nil {
			return // the engine does not deliver a page its lookups failed
		}
		for _, r := range page.Records {
			if r.Str(AttrEventType) == "" {
				t.Fatalf("event not enriched: %+v", r)
			}
			checkEvent(t, s.Name(), r)
		}
	})
}

// FuzzCustomerID feeds any body as the /auth/api-clients/me answer: no panic; either an error
// or a customer id, reported once and used from then on.
func FuzzCustomerID(f *testing.F) {
	apiclienttest.AddSeeds(f, "me.json")
	f.Add([]byte(`{"identity":{"customerId":12345678901234567890}}`))
	f.Add([]byte(`{"identity":{"customer_id":"../x?y#z"}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		var reported []string
		c := NewClient(apiclienttest.Canned(t, body), "", func(id string) { reported = append(reported, id) })
		for range 2 {
			id, err := c.CustomerID(context.Background())
			if err != nil {
				if len(reported) > 0 {
					t.Fatalf("a discovered id was forgotten: %v", err)
				}
				return
			}
			if id == "" || len(reported) != 1 || reported[0] != id {
				t.Fatalf("id %q, reported %q", id, reported)
			}
		}
		_, _ = NewStreams(c, Config{PageSize: 10, Alerts: StreamConfig{Enabled: true}})[0].(engine.LinkStream).Fetch(context.Background(), engine.Query{Since: t0})
	})
}
