package usmcentral

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
)

var t0 = time.Date(2021, 7, 28, 22, 20, 17, 0, time.UTC)

// consoleServer fakes a USM Central console: tokens, the deployments list and the searches,
// each answered by a function of the test, every search body recorded.
type consoleServer struct {
	*httptest.Server
	mu          sync.Mutex
	deployments string // the deployments answer
	listings    int
	listStatus  int // when non-zero, the deployments list answers with it
	answer      func(path string, body searchRequest) string
	searches    []searchCall
}

type searchCall struct {
	path, contentType, auth string
	raw                     map[string]any
	body                    searchRequest
}

func newConsole(t *testing.T, answer func(path string, body searchRequest) string) *consoleServer {
	t.Helper()
	s := &consoleServer{answer: answer, deployments: deploymentsJSON}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *consoleServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == TokenPath:
		_, _ = io.WriteString(w, `{"access_token":"central-token","token_type":"bearer","expires_in":899}`)
	case r.URL.Path == DeploymentsPath && r.Method == http.MethodGet:
		s.mu.Lock()
		s.listings++
		body, status := s.deployments, s.listStatus
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
		}
		_, _ = io.WriteString(w, body)
	case r.Method == http.MethodPost:
		data, _ := io.ReadAll(r.Body)
		call := searchCall{path: r.URL.Path, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization")}
		if err := json.Unmarshal(data, &call.raw); err != nil || json.Unmarshal(data, &call.body) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.searches = append(s.searches, call)
		s.mu.Unlock()
		_, _ = io.WriteString(w, s.answer(r.URL.Path, call.body))
	default:
		http.NotFound(w, r)
	}
}

func (s *consoleServer) calls() []searchCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]searchCall(nil), s.searches...)
}

func (s *consoleServer) listCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listings
}

func (s *consoleServer) setDeployments(body string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deployments, s.listStatus = body, status
}

// deploymentsJSON is a bare array as the API answers: acme connected, globex disconnected,
// initech unauthorized.
const deploymentsJSON = `[
	{"id":"cn://acme.alienvault.cloud","name":"acme","displayName":"ACME Corp","fqdn":"acme.alienvault.cloud",
	 "licenseKey":"k1","type":"USM Anywhere","connectionStatus":"connected","authorized":true,"joinedSince":1624876043779},
	{"id":"cn://globex.alienvault.cloud","name":"globex","displayName":"Globex","fqdn":"globex.alienvault.cloud",
	 "type":"USM Anywhere","connectionStatus":"disconnected","authorized":true},
	{"id":"cn://initech.alienvault.cloud","name":"initech","displayName":"Initech","fqdn":"initech.alienvault.cloud",
	 "type":"USM Anywhere","connectionStatus":"connected","authorized":false}
]`

// newAPI returns a client of srv authenticating like the receiver does.
func newAPI(t *testing.T, srv *httptest.Server) *apiclient.Client {
	return streamtest.NewAPI(t, srv, TokenPath)
}

var (
	alarmsOnly = Config{PageSize: 2, Alarms: StreamConfig{Enabled: true, Path: DefaultAlarmsPath}}
	eventsOnly = Config{PageSize: 2, Events: StreamConfig{Enabled: true, Path: DefaultEventsPath}}
)

// onlyStream returns the single stream cfg asks for, over a directory of dcfg.
func onlyStream(t *testing.T, srv *consoleServer, cfg Config, dcfg DirectoryConfig) engine.Stream {
	t.Helper()
	api := newAPI(t, srv.Server)
	streams := NewStreams(api, NewDirectory(api, dcfg), cfg)
	require.Len(t, streams, 1)
	return streams[0]
}

// alarmResult is one alarm search result of tenant (a subdomain) occurred at t0 + offset ms.
func alarmResult(id, tenant string, offset int64) map[string]any {
	ms := t0.UnixMilli() + offset
	return map[string]any{
		"id": id, "tenantId": "cn://" + tenant + ".alienvault.cloud", "timestamp": ms + 5000,
		"alarm": map[string]any{
			"uuid": id, "priority_label": "high", "rule_method": "Brute Force Authentication",
			"timestamp_occured": strconv.FormatInt(ms, 10), "status": "open",
		},
		"events": []any{map[string]any{"uuid": "e-" + id}},
	}
}

// results answers a search as the console does: the results of all (oldest first) within the
// request's range on <kind>.timestamp_occured, its page of them, and the total in the range.
func results(all []map[string]any) func(string, searchRequest) string {
	return func(_ string, req searchRequest) string {
		var bounds map[string]string
		for _, b := range req.Range {
			bounds = b
		}
		gte, _ := strconv.ParseInt(bounds["gte"], 10, 64)
		lte, err := strconv.ParseInt(bounds["lte"], 10, 64)
		if err != nil {
			lte = 1 << 62 // "now"
		}
		var hits []map[string]any
		for _, r := range all {
			inner, _ := r["alarm"].(map[string]any)
			if inner == nil {
				inner, _ = r["event"].(map[string]any)
			}
			ms, _ := strconv.ParseInt(fmt.Sprint(inner["timestamp_occured"]), 10, 64)
			if ms >= gte && ms <= lte {
				hits = append(hits, r)
			}
		}
		from := min((req.Page-1)*req.Size, len(hits))
		to := min(from+req.Size, len(hits))
		body, _ := json.Marshal(map[string]any{"results": hits[from:to], "total": len(hits)})
		return string(body)
	}
}

// rangeStream is a stream of the package as the engine walks it.
func rangeStream(s engine.Stream) *stream { return s.(*stream) }

// pollFirst is a poll's start and its first page from since, as the engine asks for them.
func pollFirst(t *testing.T, s engine.Stream, since time.Time) (engine.RangePage, error) {
	t.Helper()
	if err := rangeStream(s).PollStarting(context.Background()); err != nil {
		return engine.RangePage{}, err
	}
	return rangeStream(s).FetchRange(context.Background(), engine.Range{From: since})
}

// walk is a whole poll from since, as the engine walks it.
func walk(t *testing.T, s engine.Stream, since time.Time) ([]engine.RangePage, error) {
	t.Helper()
	require.NoError(t, rangeStream(s).PollStarting(context.Background()))
	pages, _, err := streamtest.WalkRange(t, rangeStream(s), since)
	return pages, err
}
