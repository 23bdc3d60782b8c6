package ciscogta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
)

const customer = "CTA123456789"

// fakeAPI is an httptest server with a mux the test fills, remembering every request.
type fakeAPI struct {
	*httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex
	requests []seen
}

type seen struct {
	method, path, query string
	body                map[string]any
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{mux: http.NewServeMux()}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery}
		data, _ := io.ReadAll(r.Body)
		if len(data) > 0 {
			_ = json.Unmarshal(data, &s.body)
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		f.mu.Lock()
		f.requests = append(f.requests, s)
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) seen(path string) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, s := range f.requests {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// client returns a Client of the fake for the test customer.
func (f *fakeAPI) client(t *testing.T) *Client {
	return NewClient(f.api(t), customer, nil)
}

func (f *fakeAPI) api(t *testing.T) *apiclient.Client {
	api, err := apiclient.New(apiclient.Options{Endpoint: f.URL})
	require.NoError(t, err)
	return api
}

// writePage answers one collection page; end and next are left out when empty.
// items is a []map[string]any or, to send items that are not objects, a []any.
func writePage(w http.ResponseWriter, items any, hasNext bool, end any, next string) {
	info := map[string]any{"hasNextPage": hasNext, "hasPreviousPage": false, "endCursor": end, "next": nil}
	if next != "" {
		info["next"] = next
	}
	if items == nil {
		items = []any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "pageInfo": info})
}

// fetch reads one page as the engine does: fetched, then completed.
func fetch(t *testing.T, s engine.Stream, q engine.Query) engine.Page {
	t.Helper()
	p, err := s.(engine.LinkStream).Fetch(context.Background(), q)
	require.NoError(t, err)
	if p.Complete != nil {
		require.NoError(t, p.Complete(context.Background()))
	}
	return p
}

func streamNamed(t *testing.T, streams []engine.Stream, name string) engine.Stream {
	t.Helper()
	for _, s := range streams {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no stream %s", name)
	return nil
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func iso(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }

func decodeBody(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
