package trendcas

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
)

// fakeAPI is a Trend site whose answers a test scripts per request.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*url.URL
	answer   func(w http.ResponseWriter, r *http.Request)
}

func newFakeAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *fakeAPI {
	f := &fakeAPI{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.URL)
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			writeBody(w, http.StatusUnauthorized, map[string]any{"code": -4010001, "traceId": "trace-401", "msg": "Unauthorized"})
			return
		}
		f.answer(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) seen() []*url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*url.URL(nil), f.requests...)
}

// bearer adds the token the way the receiver does: as a header of the HTTP client.
type bearer struct{ next http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer tok")
	return b.next.RoundTrip(r)
}

// newTestClient returns a client of f with a quota too large to slow a test, and its log.
func newTestClient(t *testing.T, f *fakeAPI) (*Client, *observer.ObservedLogs) {
	return newTestClientWithQuota(t, f, NewQuota(10_000, 100_000))
}

func newTestClientWithQuota(t *testing.T, f *fakeAPI, q *Quota) (*Client, *observer.ObservedLogs) {
	hc := f.Client()
	hc.Transport = bearer{hc.Transport}
	api, err := apiclient.New(apiclient.Options{Endpoint: f.URL, HTTPClient: hc, Limiter: q})
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	return NewClient(api, q, zap.New(core)), logs
}

func testStream(c *Client, service, event string, now time.Time) *stream {
	s := c.Streams(Config{Services: []string{service}, Events: []string{event}, Limit: 200, QueryDelay: time.Minute})[0].(*stream)
	s.now = func() time.Time { return now }
	return s
}

func writeBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// event is a security event as the API sends it.
func event(id, detected string) map[string]any {
	msg := map[string]any{"detection_time": detected, "action": "Quarantine", "risk_level": ""}
	e := map[string]any{"service": "OneDrive", "event": "security_risk_scan", "message": msg}
	if id != "" {
		e["log_item_id"] = id
		msg["log_item_id"] = id
	}
	return e
}

func eventsPage(next string, events ...map[string]any) map[string]any {
	return map[string]any{"current_link": "", "next_link": next, "security_events": events}
}

// sink collects what the engine delivers.
type sink struct {
	streamtest.Uncounted
	mu      sync.Mutex
	records []string
}

func (s *sink) Deliver(_ context.Context, _ engine.Stream, records []record.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.records = append(s.records, r.ID)
	}
	return nil
}

func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.records...)
}
