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

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
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
		_, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: since})
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
		// status is a field an alarm changes: it is applied to what is read, not sent.
		{"/api/2.0/alarms", url.Values{"priority_label": {"high"}}},
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

// keysetServer serves alarms at the given millisecond offsets from t0 (named a, b, …) as USM
// Anywhere does: the inclusive timestamp_occured bounds, oldest first, 0-based pages of size,
// page.totalElements and a next link while more follow.
func keysetServer(t *testing.T, offsets ...int64) *usmServer {
	srv := &usmServer{}
	srv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == TokenPath {
			_, _ = io.WriteString(w, `{"access_token":"usm-token","token_type":"bearer","expires_in":899}`)
			return
		}
		srv.mu.Lock()
		srv.requests = append(srv.requests, r)
		srv.mu.Unlock()
		q := r.URL.Query()
		gte, _ := strconv.ParseInt(q.Get("timestamp_occured_gte"), 10, 64)
		lte, err := strconv.ParseInt(q.Get("timestamp_occured_lte"), 10, 64)
		if err != nil {
			lte = 1 << 62
		}
		page, _ := strconv.Atoi(q.Get("page"))
		size, _ := strconv.Atoi(q.Get("size"))
		var items []string
		for i, off := range offsets {
			if at := t0.UnixMilli() + off; at >= gte && at <= lte {
				items = append(items, fmt.Sprintf(`{"uuid":"%c","timestamp_occured":"%d"}`, 'a'+i, at))
			}
		}
		total := len(items)
		items = items[min(page*size, total):min((page+1)*size, total)]
		links := `{"self":{"href":"x"}}`
		if (page+1)*size < total {
			links = `{"next":{"href":"/api/2.0/alarms?page=999"}}` // never followed: the walk is by keyset
		}
		_, _ = fmt.Fprintf(w, `{"_links":%s,"_embedded":{"alarms":[%s]},"page":{"size":%d,"totalElements":%d,"number":%d}}`,
			links, strings.Join(items, ","), size, total, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWalkIsByKeyset(t *testing.T) {
	// Five alarms, pages of two; c and d share a millisecond, and so do the three from 40 ms.
	srv := keysetServer(t, 0, 10, 20, 20, 30, 40, 40, 40)
	s := onlyStream(t, newAPI(t, srv.Server), Config{PageSize: 2, Alarms: StreamConfig{Enabled: true}}).(engine.RangeStream)

	pages, queries, err := streamtest.WalkRange(t, s, t0)
	require.NoError(t, err)
	ids := streamtest.RecordIDs(pages)
	for _, want := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		assert.Contains(t, ids, want)
	}
	var got []string
	for _, r := range srv.Requests() {
		q := r.URL.Query()
		got = append(got, q.Get("timestamp_occured_gte")+"/"+q.Get("page"))
	}
	ms := func(off int64) string { return strconv.FormatInt(t0.UnixMilli()+off, 10) }
	assert.Equal(t, []string{
		ms(0) + "/0",  // a b
		ms(10) + "/0", // b c: a fresh query from the newest time delivered
		ms(20) + "/0", // c d: all at 20 ms
		ms(20) + "/1", // e f: a run longer than a page is paged
		ms(40) + "/0", // f g
		ms(40) + "/1", // h
	}, got)
	require.Len(t, queries, len(got))
	assert.False(t, pages[len(pages)-1].More)
	assert.EqualValues(t, 3, pages[len(pages)-1].Total, "page.totalElements of the range")
}

func TestRangeBoundsAndCounts(t *testing.T) {
	srv := keysetServer(t, 0, 10, 20)
	s := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).(engine.RangeStream)
	page, err := s.FetchRange(context.Background(), engine.Range{From: t0.Add(5 * time.Millisecond), To: t0.Add(20 * time.Millisecond), CountOnly: true})
	require.NoError(t, err)
	assert.EqualValues(t, 2, page.Total)
	assert.True(t, page.More, "a count's one-item page has more after it")
	q := srv.Requests()[0].URL.Query()
	assert.Equal(t, "1", q.Get("size"), "a count asks for the smallest page")
	assert.Equal(t, strconv.FormatInt(t0.UnixMilli()+20, 10), q.Get("timestamp_occured_lte"))
	assert.Equal(t, 100, s.PageSize())
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
			page, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
			require.NoError(t, err)
			assert.Empty(t, page.Records)
			assert.False(t, page.More)
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
			page, err := onlyStream(t, api, tc.cfg).(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
			require.NoError(t, err)
			assert.Equal(t, tc.wantIDs, streamtest.RecordIDs([]engine.RangePage{page}))
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
	page, err := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, streamtest.RecordIDs([]engine.RangePage{page}))
	assert.Equal(t, 5, page.Malformed)
}

// A next link is never followed, wherever it points: the walk continues by keyset on the
// configured endpoint, so a link to another host can carry nothing of ours there.
func TestNextLinksAreNeverFollowed(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { foreignHits.Add(1) }))
	defer foreign.Close()
	srv := newUSMServer(t, map[string]string{
		"/api/2.0/alarms?page=0": `{"_links":{"next":{"href":"` + foreign.URL + `/api/2.0/alarms?page=1&token=s3cr3t"}},
			"_embedded":{"alarms":[{"uuid":"a"},{"uuid":"b"}]},"page":{"number":0}}`,
	})
	s := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).(engine.RangeStream)
	page, err := s.FetchRange(context.Background(), engine.Range{From: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, streamtest.RecordIDs([]engine.RangePage{page}))
	assert.True(t, page.More, "the link says more follow")
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
			page, err := onlyStream(t, newAPI(t, srv.Server), alarmsOnly).(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
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
		// wantParams are the filter parameters of each stream's first request, in stream order:
		// status, a field an alarm changes, is applied to what is read instead.
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
				{"priority_label": {"high"}},
				{"priority_label": {"medium"}},
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
				{"priority_label": {"high"}},
				{"priority_label": {"high"}},
				{"priority_label": {"low"}},
				{"priority_label": {"low"}},
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
			wantParams: []url.Values{{}},
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
				_, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
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

	_, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
	require.ErrorContains(t, err, "not listed yet", "a client that cannot be built fails the fetch, not the start")
	assert.Empty(t, srv.Requests())

	page, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	assert.Equal(t, "acme.alienvault.cloud", page.Records[0].Tenant)
	assert.Equal(t, "A", srv.Requests()[0].URL.Query().Get("plugin"))
}

// A filter on a field an alarm changes is applied to what is read: the list the API pages is not
// the one alarms leave while it is read, and the alarms not matching are withheld.
func TestChangingAlarmFiltersAreAppliedToWhatIsRead(t *testing.T) {
	srv := newUSMServer(t, map[string]string{"/api/2.0/alarms?page=0": `{"_embedded":{"alarms":[
		{"uuid":"a","status":"open","timestamp_occured":"1"},{"uuid":"b","status":"closed","timestamp_occured":"2"}]}}`})
	s := onlyStream(t, newAPI(t, srv.Server), Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Filters: map[string][]string{"status": {"open"}}}})
	page, err := s.(engine.RangeStream).FetchRange(context.Background(), engine.Range{From: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, streamtest.RecordIDs([]engine.RangePage{page}))
	require.Len(t, page.Withheld, 1)
	assert.Equal(t, "b", page.Withheld[0].ID)
	assert.Empty(t, srv.Requests()[0].URL.Query()["status"], "not sent")
	assert.Equal(t, "usm_anywhere/alarms", s.Name(), "the stream keeps its name (and checkpoint)")
}
