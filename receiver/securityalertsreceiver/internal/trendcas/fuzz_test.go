package trendcas

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// fuzzStream is a pair reading the last hour from api.
func fuzzStream(api *apiclient.Client) (*stream, engine.Query) {
	c := NewClient(api, NewQuota(DocumentedPerMinute, DocumentedPerDay), zap.NewNop())
	s := c.Streams(Config{Services: []string{"exchange"}, Events: []string{"dlp"}, Limit: 200, QueryDelay: time.Minute})[0].(*stream)
	return s, engine.Query{Since: time.Now().Add(-time.Hour)}
}

// FuzzSecurityEvents feeds any 200 body through a pair's first page and the page its next link
// continues with: no panic; at most one record per listed item, each with an id; a next page
// only on the endpoint's origin; no records with an error other than a refused next link.
func FuzzSecurityEvents(f *testing.F) {
	apiclienttest.AddSeeds(f, "*.json")
	f.Add([]byte(`{"security_events":[{"message":{"detection_time":"2026-02-30T25:00:00Z"}},[],null],"next_link":"https://tenant.example.test:444/x"}`))
	f.Add([]byte(`{"securityEvents":{},"nextLink":7}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		s, q := fuzzStream(apiclienttest.Canned(t, body))
		bound := apiclienttest.Items(body, "security_events") + apiclienttest.Items(body, "securityEvents")
		for range 2 {
			page, err := s.Fetch(context.Background(), q)
			if n := len(page.Records) + page.Malformed; n > bound {
				t.Fatalf("%d records and malformed items from at most %d items", n, bound)
			}
			for _, r := range page.Records {
				if r.ID == "" || r.Kind != Kind || r.Body == nil || r.Tenant != s.client.api.Host() {
					t.Fatalf("record %+v", r)
				}
			}
			if err != nil {
				if len(page.Records) > 0 && (page.Next != "" || !apiclient.IsPermanent(err)) {
					t.Fatalf("records with an error that is not a refused next link: %v", err)
				}
				return
			}
			if page.Next == "" {
				return
			}
			if !onEndpoint(page.Next) {
				t.Fatalf("next page token %q leaves the endpoint", page.Next)
			}
			q.PageToken = page.Next
		}
	})
}

// onEndpoint says whether a page token continues at the canned endpoint's origin.
func onEndpoint(token string) bool {
	w, err := parseToken(token)
	if err != nil {
		return false
	}
	u, err := url.Parse(w.next)
	return err == nil && u.Scheme == "https" && u.Hostname() == "tenant.example.test" && (u.Port() == "" || u.Port() == "443")
}

// FuzzErrorBody feeds any refusal (status and body) through a pair's first request: no panic,
// always an error and no records, and the retry decision the status and Trend's code call for.
func FuzzErrorBody(f *testing.F) {
	for _, seed := range apiclienttest.Seeds(f, "error-*.json") {
		for _, status := range []uint16{400, 403, 429, 500, 503} {
			f.Add(status, seed)
		}
	}
	f.Add(uint16(401), []byte(`<html>Unauthorized</html>`))
	f.Add(uint16(408), []byte(`{"code":1e400,"msg":null}`))

	f.Fuzz(func(t *testing.T, raw uint16, body []byte) {
		status := 400 + int(raw%200)
		s, q := fuzzStream(apiclienttest.CannedPaths(t, map[string]apiclienttest.Answer{"": {Status: status, Body: body}}))
		page, err := s.Fetch(context.Background(), q)
		if err == nil || len(page.Records) > 0 || page.Next != "" {
			t.Fatalf("HTTP %d: page %+v, error %v", status, page, err)
		}
		_ = err.Error()
		ae, isAPI := apiErrorOf(err)
		switch {
		case status == http.StatusNotFound:
			if isAPI || !apiclient.IsPermanent(err) {
				t.Fatalf("both paths 404: want a permanent error naming them, got %v", err)
			}
		case !isAPI:
			t.Fatalf("HTTP %d: not an APIError: %v", status, err)
		case ae.Quota(), status >= 500, status == http.StatusRequestTimeout:
			if apiclient.IsPermanent(err) {
				t.Fatalf("HTTP %d, code %d: a quota refusal or server failure must be retried: %v", status, ae.Code, err)
			}
		default:
			if !apiclient.IsPermanent(err) {
				t.Fatalf("HTTP %d, code %d: a refusal must be permanent: %v", status, ae.Code, err)
			}
			if ae.UnknownPair() {
				if page, err := s.Fetch(context.Background(), q); err != nil || len(page.Records) > 0 {
					t.Fatalf("a pair refused as unknown must stay paused: %+v, %v", page, err)
				}
			}
		}
	})
}
