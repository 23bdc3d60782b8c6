package usmanywhere

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/streamtest"
)

var t0 = time.Date(2018, 2, 6, 15, 48, 54, 0, time.UTC)

// usmServer fakes USM Anywhere: a token endpoint and list endpoints answering from pages,
// keyed by path and "page" parameter. {{BASE}} in a page stands for the server's URL.
type usmServer struct {
	*httptest.Server
	mu       sync.Mutex
	pages    map[string]string // "path?page=N" → body
	requests []*http.Request
	status   int // when non-zero, every list request is answered with it
}

func newUSMServer(t *testing.T, pages map[string]string) *usmServer {
	t.Helper()
	s := &usmServer{pages: pages}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *usmServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"usm-token","token_type":"bearer","expires_in":899}`)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r)
	body, ok := s.pages[r.URL.Path+"?page="+r.URL.Query().Get("page")]
	status := s.status
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, strings.ReplaceAll(body, "{{BASE}}", s.URL))
}

func (s *usmServer) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

// newAPI returns a client of srv authenticating like the receiver does.
func newAPI(t *testing.T, srv *httptest.Server) *apiclient.Client {
	return streamtest.NewAPI(t, srv, TokenPath)
}

func streamNames(streams []engine.Stream) []string {
	out := make([]string, 0, len(streams))
	for _, s := range streams {
		out = append(out, s.Name())
	}
	return out
}

// onlyStream returns the single stream cfg asks for.
func onlyStream(t *testing.T, api *apiclient.Client, cfg Config) engine.Stream {
	t.Helper()
	streams := NewStreams(api, cfg)
	require.Len(t, streams, 1)
	return streams[0]
}

var (
	alarmsOnly = Config{PageSize: 100, Alarms: StreamConfig{Enabled: true}}
	eventsOnly = Config{PageSize: 100, Events: StreamConfig{Enabled: true}}
)

func TestFirstPageQuery(t *testing.T) {
	srv := newUSMServer(t, map[string]string{
		"/api/2.0/alarms?page=0": `{"_embedded":{"alarms":[]}}`,
		"/api/2.0/events?page=0": `{"_embedded":{"events":[]}}`,
	})
	api := newAPI(t, srv.Server)
	streams := NewStreams(api, Config{
		PageSize: 500,
		Alarms:   StreamConfig{Enabled: true, Filters: map[string][]string{"status": {"open"}, "priority_label": {"high"}}},
		Events:   StreamConfig{Enabled: true, Filters: map[string][]string{"plugin": {"Amazon AWS CloudTrail"}}},
	})
	require.Equal(t, []string{"usm_anywhere/alarms", "usm_anywhere/events"}, streamNames(streams),
		"single-valued filters do not rename a stream")

	since := t0.Add(1500 * time.Microsecond) // sub-millisecond part is truncated
	for _, s := range streams {
		assert.Equal(t, Source, s.Source())
		_, err := s.Fetch(context.Background(), engine.Query{Since: since})
		require.NoError(t, err)
	}

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	wantCommon := url.Values{
		"page":                  {"0"},
		"size":                  {"500"},
		"sort":                  {"timestamp_occured,asc"},
		"timestamp_occured_gte": {strconv.FormatInt(t0.UnixMilli()+1, 10)},
	}
	for i, want := range []struct {
		path    string
		filters url.Values
	}{
		{"/api/2.0/alarms", url.Values{"status": {"open"}, "priority_label": {"high"}}},
		{"/api/2.0/events", url.Values{"plugin": {"Amazon AWS CloudTrail"}}},
	} {
		r := reqs[i]
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, want.path, r.URL.Path)
		query := url.Values{}
		for k, v := range wantCommon {
			query[k] = v
		}
		for k, v := range want.filters {
			query[k] = v
		}
		assert.Equal(t, query, r.URL.Query())
		assert.Equal(t, "Bearer usm-token", r.Header.Get("Authorization"))
	}
}

func TestWalkFollowsNextLinksToTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func(page int) string
	}{
		{"absolute links", func(p int) string {
			return fmt.Sprintf("{{BASE}}/api/2.0/alarms?page=%d&size=2&sort=timestamp_occured,asc&timestamp_occured_gte=1", p)
		}},
		{"relative links", func(p int) string {
			return fmt.Sprintf("/api/2.0/alarms?page=%d&size=2&sort=timestamp_occured,asc&timestamp_occured_gte=1", p)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := func(n int, ids ...string) string {
				var items []string
				for i, id := range ids {
					items = append(items, fmt.Sprintf(`{"uuid":%q,"timestamp_occured":"%d"}`, id, t0.UnixMilli()+int64(n*10+i)))
				}
				links := ""
				if n < 2 {
					links = fmt.Sprintf(`"_links":{"self":{"href":"x"},"next":{"href":%q}},`, tc.next(n+1))
				}
				return fmt.Sprintf(`{%s"_embedded":{"alarms":[%s]},"page":{"size":2,"number":%d}}`, links, strings.Join(items, ","), n)
			}
			srv := newUSMServer(t, map[string]string{
				"/api/2.0/alarms?page=0": page(0, "a", "b"),
				"/api/2.0/alarms?page=1": page(1, "c", "d"),
				"/api/2.0/alarms?page=2": page(2, "e"),
			})
			s := onlyStream(t, newAPI(t, srv.Server), alarmsOnly)

			pages, err := streamtest.Walk(t, s, t0)
			require.NoError(t, err)
			require.Len(t, pages, 3)
			assert.Equal(t, []string{"a", "b", "c", "d", "e"}, streamtest.RecordIDs(pages))
			assert.Empty(t, pages[2].Next)
			assert.True(t, strings.HasPrefix(pages[0].Next, srv.URL+"/api/2.0/alarms?page=1"), "next is absolute: %s", pages[0].Next)

			reqs := srv.Requests()
			require.Len(t, reqs, 3)
			for i, r := range reqs {
				assert.Equal(t, strconv.Itoa(i), r.URL.Query().Get("page"))
			}
			assert.Equal(t, "1", reqs[1].URL.Query().Get("timestamp_occured_gte"), "the next link is followed as given")
		})
	}
}

func TestEmptyPages(t *testing.T) {
	for _, body := range []string{
		`{"page":{"size":100,"totalElements":0,"totalPages":0,"number":0}}`,
		`{"_embedded":{},"_links":{"self":{"href":"x"}}}`,
		`{"_embedded":{"alarms":[]},"_links":{"next":null}}`,
		`{"_embedded":{"alarms":null},"_links":{"next":{"href":""}}}`,
		`{}`,
	} {
		t.Run(body, func(t *testing.T) {
			srv := newUSMServer(t, map[string]string{"/api/2.0/alarms?page=0": body})
			s := onlyStream(t, newAPI(t, srv.Server), alarmsOnly)
			page, err := s.Fetch(context.Background(), engine.Query{Since: t0})
			require.NoError(t, err)
			assert.Empty(t, page.Records)
			assert.Empty(t, page.Next)
			assert.Zero(t, page.Malformed)
		})
	}
}

func TestEmbeddedKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		path    string
		body    string
		wantIDs []string
		kind    string
	}{
		{"alarms", alarmsOnly, "/api/2.0/alarms", `{"_embedded":{"alarms":[{"uuid":"a1"}]}}`, []string{"a1"}, "alarm"},
		{"events", eventsOnly, "/api/2.0/events", `{"_embedded":{"events":[{"uuid":"e1"}]}}`, []string{"e1"}, "event"},
		{"eventResources", eventsOnly, "/api/2.0/events", `{"_embedded":{"eventResources":[{"id":"e2"},{"id":"e3"}]}}`, []string{"e2", "e3"}, "event"},
		{"alarms ignore other lists", alarmsOnly, "/api/2.0/alarms", `{"_embedded":{"events":[{"uuid":"e1"}]}}`, nil, "alarm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUSMServer(t, map[string]string{tc.path + "?page=0": tc.body})
			api := newAPI(t, srv.Server)
			page, err := onlyStream(t, api, tc.cfg).Fetch(context.Background(), engine.Query{Since: t0})
			require.NoError(t, err)
			assert.Equal(t, tc.wantIDs, streamtest.RecordIDs([]engine.Page{page}))
			for _, r := range page.Records {
				assert.Equal(t, tc.kind, r.Kind)
				assert.Equal(t, api.Host(), r.Tenant, "the tenant is the endpoint's host")
				assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), r.Tenant)
			}
		})
	}
}

func TestNonObjectItemsAreCountedAsMalformed(t *testing.T) {
	srv := newUSMServer(t, map[string]string{
		"/api/2.0/alarms?page=0": `{"_embedded":{"alarms":[{"uuid":"a"},"junk",3,null,[1],true,{"uuid":"b"}]}}`,
	})
	page, err := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).Fetch(context.Background(), engine.Query{Since: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, streamtest.RecordIDs([]engine.Page{page}))
	assert.Equal(t, 5, page.Malformed)
}

func TestForeignNextLinkReturnsRecordsWithPermanentError(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { foreignHits.Add(1) }))
	defer foreign.Close()
	srv := newUSMServer(t, map[string]string{
		"/api/2.0/alarms?page=0": `{"_links":{"next":{"href":"` + foreign.URL + `/api/2.0/alarms?page=1&token=s3cr3t"}},
			"_embedded":{"alarms":[{"uuid":"a"},{"uuid":"b"}]},"page":{"number":0}}`,
	})
	s := onlyStream(t, newAPI(t, srv.Server), alarmsOnly)

	pages, err := streamtest.Walk(t, s, t0)
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err), "retrying the page would meet the same link: %v", err)
	var fe *apiclient.ForeignOriginError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, foreign.URL+"/api/2.0/alarms", fe.URL)
	assert.NotContains(t, err.Error(), "s3cr3t")
	assert.Contains(t, err.Error(), "usm_anywhere/alarms")

	require.Len(t, pages, 1)
	assert.Equal(t, []string{"a", "b"}, streamtest.RecordIDs(pages), "the page's records are still delivered")
	assert.Empty(t, pages[0].Next)
	assert.Zero(t, foreignHits.Load())
}

func TestFetchErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		status    int
		malformed bool
		permanent bool
	}{
		{"not JSON", "<html>maintenance</html>", 0, true, false},
		{"truncated JSON", `{"_embedded":{"alarms":[{"uuid":"a"}`, 0, true, false},
		{"embedded list is not an array", `{"_embedded":{"alarms":{"uuid":"a"}}}`, 0, true, false},
		{"server error", "", http.StatusServiceUnavailable, false, false},
		{"not found", "", http.StatusNotFound, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUSMServer(t, map[string]string{"/api/2.0/alarms?page=0": tc.body})
			srv.status = tc.status
			page, err := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).Fetch(context.Background(), engine.Query{Since: t0})
			require.Error(t, err)
			assert.Empty(t, page.Records)
			assert.Equal(t, tc.permanent, apiclient.IsPermanent(err), "%v", err)
			var me *apiclient.MalformedError
			if !tc.malformed {
				var he *apiclient.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, tc.status, he.Status)
				return
			}
			require.ErrorAs(t, err, &me)
			assert.Equal(t, srv.URL+"/api/2.0/alarms", me.URL, "named without the query")
			assert.Equal(t, len(tc.body), me.Size)
		})
	}
}

func TestFanOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantNames []string
		// wantParams are the filter parameters of each stream's first request, in stream order.
		wantParams []url.Values
	}{
		{
			name:       "no filters",
			cfg:        Config{PageSize: 10, Alarms: StreamConfig{Enabled: true}, Events: StreamConfig{Enabled: true}},
			wantNames:  []string{"usm_anywhere/alarms", "usm_anywhere/events"},
			wantParams: []url.Values{{}, {}},
		},
		{
			name:      "disabled lists have no streams",
			cfg:       Config{PageSize: 10, Events: StreamConfig{Enabled: true}, Alarms: StreamConfig{Filters: map[string][]string{"status": {"open"}}}},
			wantNames: []string{"usm_anywhere/events"}, wantParams: []url.Values{{}},
		},
		{
			name: "one multi-valued filter",
			cfg: Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Filters: map[string][]string{
				"priority_label": {"high", "medium"}, "status": {"open"},
			}}},
			wantNames: []string{"usm_anywhere/alarms?priority_label=high", "usm_anywhere/alarms?priority_label=medium"},
			wantParams: []url.Values{
				{"priority_label": {"high"}, "status": {"open"}},
				{"priority_label": {"medium"}, "status": {"open"}},
			},
		},
		{
			name: "two multi-valued filters",
			cfg: Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Filters: map[string][]string{
				"status": {"open", "closed"}, "priority_label": {"high", "low"},
			}}},
			wantNames: []string{
				"usm_anywhere/alarms?priority_label=high&status=open",
				"usm_anywhere/alarms?priority_label=high&status=closed",
				"usm_anywhere/alarms?priority_label=low&status=open",
				"usm_anywhere/alarms?priority_label=low&status=closed",
			},
			wantParams: []url.Values{
				{"priority_label": {"high"}, "status": {"open"}},
				{"priority_label": {"high"}, "status": {"closed"}},
				{"priority_label": {"low"}, "status": {"open"}},
				{"priority_label": {"low"}, "status": {"closed"}},
			},
		},
		{
			name: "values are escaped in names",
			cfg: Config{PageSize: 10, Events: StreamConfig{Enabled: true, Filters: map[string][]string{
				"plugin": {"Amazon AWS CloudTrail", "A&B"},
			}}},
			wantNames: []string{"usm_anywhere/events?plugin=Amazon+AWS+CloudTrail", "usm_anywhere/events?plugin=A%26B"},
			wantParams: []url.Values{
				{"plugin": {"Amazon AWS CloudTrail"}},
				{"plugin": {"A&B"}},
			},
		},
		{
			name: "a repeated value makes one stream, not two sharing a checkpoint",
			cfg: Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Filters: map[string][]string{
				"priority_label": {"high", "low", "high"},
			}}},
			wantNames: []string{"usm_anywhere/alarms?priority_label=high", "usm_anywhere/alarms?priority_label=low"},
			wantParams: []url.Values{
				{"priority_label": {"high"}},
				{"priority_label": {"low"}},
			},
		},
		{
			name: "a repeated single value is still single-valued",
			cfg: Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Filters: map[string][]string{
				"status": {"open", "open"},
			}}},
			wantNames:  []string{"usm_anywhere/alarms"},
			wantParams: []url.Values{{"status": {"open"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUSMServer(t, map[string]string{
				"/api/2.0/alarms?page=0": `{}`,
				"/api/2.0/events?page=0": `{}`,
			})
			api := newAPI(t, srv.Server)
			streams := NewStreams(api, tc.cfg)
			assert.Equal(t, tc.wantNames, streamNames(streams))
			assert.Equal(t, tc.wantNames, streamNames(NewStreams(api, tc.cfg)), "names are stable")

			for _, s := range streams {
				_, err := s.Fetch(context.Background(), engine.Query{Since: t0})
				require.NoError(t, err)
			}
			reqs := srv.Requests()
			require.Len(t, reqs, len(tc.wantParams))
			for i, want := range tc.wantParams {
				got := reqs[i].URL.Query()
				for _, k := range []string{"page", "size", "sort", "timestamp_occured_gte"} {
					require.Len(t, got[k], 1, "%s: %s", streams[i].Name(), k)
					got.Del(k)
				}
				assert.Equal(t, want, got, streams[i].Name())
			}
		})
	}
}

func TestFanOutDoesNotShareParameters(t *testing.T) {
	sets := fanOut(map[string][]string{"a": {"1", "2"}, "b": {"x"}})
	require.Len(t, sets, 2)
	sets[0].params.Set("b", "mutated")
	assert.Equal(t, "x", sets[1].params.Get("b"))
}

func TestSourcePrefixAndConnectedTenant(t *testing.T) {
	srv := newUSMServer(t, map[string]string{
		"/api/2.0/events?page=0": `{"_embedded":{"events":[{"uuid":"e1"}]}}`,
	})
	api := newAPI(t, srv.Server)
	var connects atomic.Int32
	connect := func(context.Context) (*apiclient.Client, string, error) {
		if connects.Add(1) == 1 {
			return nil, "", fmt.Errorf("deployment not listed yet")
		}
		return api, "acme.alienvault.cloud", nil
	}
	streams := NewConnectedStreams(connect, Config{
		PageSize: 10, Events: StreamConfig{Enabled: true, Filters: map[string][]string{"plugin": {"A", "B"}}},
		Source: "usm_central", StreamPrefix: "usm_central/acme/",
	})
	assert.Equal(t, []string{"usm_central/acme/events?plugin=A", "usm_central/acme/events?plugin=B"}, streamNames(streams))
	s := streams[0]
	assert.Equal(t, "usm_central", s.Source())

	_, err := s.Fetch(context.Background(), engine.Query{Since: t0})
	require.ErrorContains(t, err, "not listed yet", "a client that cannot be built fails the fetch, not the start")
	assert.Empty(t, srv.Requests())

	page, err := s.Fetch(context.Background(), engine.Query{Since: t0})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	assert.Equal(t, "acme.alienvault.cloud", page.Records[0].Tenant)
	assert.Equal(t, "A", srv.Requests()[0].URL.Query().Get("plugin"))
}
