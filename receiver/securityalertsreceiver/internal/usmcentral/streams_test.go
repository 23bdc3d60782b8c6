package usmcentral

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
)

func TestSearchBody(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":0}` })
	api := newAPI(t, srv.Server)
	streams := NewStreams(api, NewDirectory(api, DirectoryConfig{RefreshEvery: 10}), Config{
		PageSize: 500,
		Alarms: StreamConfig{Enabled: true, Path: "/api/1.1/alarms", Find: map[string][]string{
			"alarm.suppressed": {"false"}, "alarm.status": {"open", "in review"}, "alarm.rule_intent": {"Recon"},
		}},
		Events: StreamConfig{Enabled: true, Path: "/custom/events"},
	})
	require.Len(t, streams, 2)
	assert.Equal(t, "usm_central/alarms", streams[0].Name())
	assert.Equal(t, "usm_central/events", streams[1].Name())
	since := t0.Add(1500 * 1000) // 1.5 ms: the sub-millisecond part is truncated
	for _, s := range streams {
		assert.Equal(t, Source, s.Source())
		_, err := pollFirst(t, s, since)
		require.NoError(t, err)
	}
	calls := srv.calls()
	require.Len(t, calls, 2)
	gte := strconv.FormatInt(t0.UnixMilli()+1, 10)
	assert.Equal(t, "/api/1.1/alarms", calls[0].path)
	assert.Equal(t, map[string]any{
		"page": 1.0, "size": 500.0,
		// status and suppressed change on an alarm: they are applied to what is read, not sent.
		"find":  map[string]any{"alarm.rule_intent": []any{"Recon"}},
		"sort":  map[string]any{"alarm.timestamp_occured": "asc"},
		"range": map[string]any{"alarm.timestamp_occured": map[string]any{"gte": gte, "lte": "now"}},
	}, calls[0].raw)
	assert.Equal(t, "/custom/events", calls[1].path)
	assert.Equal(t, map[string]any{
		"page": 1.0, "size": 500.0,
		"find":  map[string]any{}, // sent even empty, as every public client does
		"sort":  map[string]any{"event.timestamp_occured": "asc"},
		"range": map[string]any{"event.timestamp_occured": map[string]any{"gte": gte, "lte": "now"}},
	}, calls[1].raw)
	for _, c := range calls {
		assert.Equal(t, "application/json", c.contentType)
		assert.Equal(t, "Bearer central-token", c.auth)
	}
}

func TestSearchesAreWalkedByKeyset(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		// wantFrom are the offsets from t0 (ms) each search starts from, all on page 1.
		wantFrom []int64
	}{
		{"several pages", 5, []int64{0, 1, 2, 3}},
		{"exact multiple", 4, []int64{0, 1, 2}},
		{"one page", 1, []int64{0}},
		{"nothing", 0, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var all []map[string]any
			for i := range tc.n {
				all = append(all, alarmResult("a"+strconv.Itoa(i), "acme", int64(i)))
			}
			srv := newConsole(t, results(all))
			pages, err := walk(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
			require.NoError(t, err)
			var from []int64
			for _, c := range srv.calls() {
				assert.Equal(t, 1, c.body.Page, "a fresh search from the newest time read, never a deeper page")
				assert.Equal(t, 2, c.body.Size)
				gte, err := strconv.ParseInt(c.body.Range["alarm.timestamp_occured"]["gte"], 10, 64)
				require.NoError(t, err)
				from = append(from, gte-t0.UnixMilli())
			}
			assert.Equal(t, tc.wantFrom, from)
			ids := map[string]bool{}
			for _, id := range streamtest.RecordIDs(pages) {
				ids[id] = true
			}
			assert.Len(t, ids, tc.n)
			assert.False(t, pages[len(pages)-1].More)
		})
	}
}

func TestEmptyPageEndsTheWalkWhateverTheTotal(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":50}` })
	pages, err := walk(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
	require.NoError(t, err)
	assert.Len(t, pages, 1)
}

func TestTotalAsElasticsearchObject(t *testing.T) {
	for _, tc := range []struct {
		total      string
		want       int64
		capped     bool
		wantMore   bool
		resultsLen int
	}{
		{`{"value":3,"relation":"eq"}`, 3, false, true, 2},
		{`{"value":2,"relation":"eq"}`, 2, false, false, 2},
		{`{"value":10000,"relation":"gte"}`, 10000, true, true, 2},
		{`7`, 7, false, true, 2},
	} {
		t.Run(tc.total, func(t *testing.T) {
			srv := newConsole(t, func(string, searchRequest) string {
				return `{"results":[` + mustJSON(alarmResult("a", "acme", 0)) + `,` + mustJSON(alarmResult("b", "acme", 1)) + `],"total":` + tc.total + `}`
			})
			page, err := pollFirst(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
			require.NoError(t, err)
			assert.Equal(t, tc.want, page.Total)
			assert.Equal(t, tc.capped, page.Capped)
			assert.Equal(t, tc.wantMore, page.More)
		})
	}
}

func TestTenantMapping(t *testing.T) {
	all := []map[string]any{alarmResult("a", "acme", 0), alarmResult("b", "globex", 1), alarmResult("c", "newco", 2)}
	srv := newConsole(t, results(all))
	s := onlyStream(t, srv, Config{PageSize: 10, Alarms: alarmsOnly.Alarms}, DirectoryConfig{RefreshEvery: 10})

	page, err := pollFirst(t, s, t0)
	require.NoError(t, err)
	require.Len(t, page.Records, 3)
	assert.Equal(t, 2, srv.listCount(), "a tenant not listed makes one more listing")
	for i, want := range []struct{ tenant, name string }{
		{"acme.alienvault.cloud", "ACME Corp"},
		{"globex.alienvault.cloud", "Globex"},
		{"newco.alienvault.cloud", ""}, // still unknown: the fqdn its tenantId names, no display name
	} {
		r := page.Records[i]
		assert.Equal(t, want.tenant, r.Tenant)
		assert.Equal(t, want.name, r.Str(AttrTenantName))
		assert.Equal(t, "Brute Force Authentication", r.Str("security_rule.name"))
		assert.Equal(t, record.SeverityHigh, r.Severity)
		assert.Equal(t, "alarm", r.Kind)
	}
	assert.Equal(t, json.Number(strconv.FormatInt(t0.UnixMilli()+5000, 10)), page.Records[0].Body["timestamp"], "the body is the whole result")
	assert.Equal(t, "e-a", page.Records[0].Body["events"].([]any)[0].(map[string]any)["uuid"])

	_, err = rangeStream(s).FetchRange(context.Background(), engine.Range{From: t0})
	require.NoError(t, err)
	assert.Equal(t, 2, srv.listCount(), "at most one listing per poll for unknown tenants")
	_, err = pollFirst(t, s, t0)
	require.NoError(t, err)
	assert.Equal(t, 3, srv.listCount(), "the next poll lists again for the tenant still unknown")

	// The newcomer is listed now: its display name follows.
	srv.setDeployments(`[{"id":"cn://newco.alienvault.cloud","name":"newco","displayName":"NewCo","fqdn":"newco.alienvault.cloud","connectionStatus":"connected","authorized":true}]`, 0)
	page, err = pollFirst(t, s, t0)
	require.NoError(t, err)
	assert.Equal(t, "NewCo", page.Records[2].Str(AttrTenantName))
}

func TestConvertTimesAndIDs(t *testing.T) {
	dep := Deployment{ID: "cn://acme.alienvault.cloud", FQDN: "acme.alienvault.cloud", Name: "acme", Authorized: true}
	for _, tc := range []struct {
		name, js, wantID string
		wantMs           int64
	}{
		{"alarm time", `{"id":"r1","timestamp":1627510817201,"alarm":{"uuid":"u1","timestamp_occured":"1627510810000"}}`, "r1", 1627510810000},
		{"docs spelling", `{"id":"r2","alarm":{"timestamp_occurred":"1627510811000"}}`, "r2", 1627510811000},
		{"result time when the alarm has none", `{"id":"r3","timestamp":1627510817201,"alarm":{}}`, "r3", 1627510817201},
		{"@timestamp last", `{"id":"r4","@timestamp":"2021-07-28T22:20:17.211Z","alarm":{}}`, "r4", 1627510817211},
		{"alarm uuid when the result has no id", `{"alarm":{"uuid":"u5","timestamp_occured":"1"}}`, "u5", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj map[string]any
			require.NoError(t, apiclient.DecodeJSON("x", []byte(tc.js), &obj))
			r := convert(obj, "alarm", dep)
			assert.Equal(t, tc.wantID, r.ID)
			assert.Equal(t, tc.wantMs, r.Time.UnixMilli())
			assert.Equal(t, "acme", r.Str(AttrTenantName), "the name stands in for a missing display name")
		})
	}
}

func TestHALShapedAnswersAreRead(t *testing.T) {
	srv := newConsole(t, func(_ string, req searchRequest) string {
		if req.Page == 1 {
			return `{"_links":{"next":{"href":"/api/2.0/alarms?page=1"}},"_embedded":{"alarms":[
				{"uuid":"h1","priority_label":"medium","timestamp_occured":"1627510810000"},"junk",
				{"uuid":"h2","tenantId":"cn://acme.alienvault.cloud","timestamp_occured":"1627510811000"}]},
				"page":{"size":2,"totalElements":3,"totalPages":2,"number":0}}`
		}
		return `{"_embedded":{"alarms":[{"uuid":"h3","timestamp_occured":"1627510812000"}]},"page":{"size":2,"totalElements":3,"totalPages":2,"number":1}}`
	})
	srv.setDeployments(`{"_embedded":{"deployments":[{"id":"cn://acme.alienvault.cloud","name":"acme","fqdn":"acme.alienvault.cloud","connectionStatus":"connected"}]}}`, 0)
	s := onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10})
	page, err := pollFirst(t, s, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"h1", "h2"}, streamtest.RecordIDs([]engine.RangePage{page}))
	assert.Equal(t, 1, page.Malformed)
	assert.True(t, page.More, "the HAL next link says more follow")
	assert.EqualValues(t, 3, page.Total, "page.totalElements")
	assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), page.Records[0].Tenant, "without tenantId a record is the console's")
	assert.Equal(t, "acme.alienvault.cloud", page.Records[1].Tenant, "the HAL deployments list was read")
	assert.Equal(t, record.SeverityMedium, page.Records[0].Severity)
	assert.Equal(t, 1, srv.calls()[0].body.Page, "paged by the body, not the GET link")
}

func TestEventsComeFromTheEventObject(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string {
		return `{"results":[{"id":"ev1","tenantId":"cn://acme.alienvault.cloud",
			"event":{"uuid":"ev1","event_severity":"low","timestamp_occured":"1627510810000","plugin":"Windows Security"}}],"total":1}`
	})
	page, err := pollFirst(t, onlyStream(t, srv, eventsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	r := page.Records[0]
	assert.Equal(t, "event", r.Kind)
	assert.Equal(t, record.SeverityLow, r.Severity)
	assert.Equal(t, int64(1627510810000), r.Time.UnixMilli())
	assert.Equal(t, "acme.alienvault.cloud", r.Tenant)
}

func TestIncludeExclude(t *testing.T) {
	all := []map[string]any{alarmResult("a", "acme", 0), alarmResult("g", "globex", 1), alarmResult("i", "initech", 2), alarmResult("n", "newco", 3)}
	for _, tc := range []struct {
		name string
		dcfg DirectoryConfig
		want []string
	}{
		{"everything by default", DirectoryConfig{}, []string{"a", "g", "i", "n"}},
		{"include by name", DirectoryConfig{Include: []string{"acme", "initech"}}, []string{"a", "i"}},
		{"include by fqdn", DirectoryConfig{Include: []string{"globex.alienvault.cloud"}}, []string{"g"}},
		{"exclude", DirectoryConfig{Exclude: []string{"globex"}}, []string{"a", "i", "n"}},
		{"exclude wins over include", DirectoryConfig{Include: []string{"acme", "globex"}, Exclude: []string{"globex"}}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newConsole(t, results(all))
			tc.dcfg.RefreshEvery = 10
			page, err := pollFirst(t, onlyStream(t, srv, Config{PageSize: 10, Alarms: alarmsOnly.Alarms}, tc.dcfg), t0)
			require.NoError(t, err)
			assert.Equal(t, tc.want, streamtest.RecordIDs([]engine.RangePage{page}))
			assert.Len(t, append(page.Records, page.Withheld...), 4, "records left out are withheld: they still move the walk on")
		})
	}
}

func TestDirectEventsAreSkippedInTheConsoleSearch(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string {
		return `{"results":[{"id":"e1","tenantId":"cn://acme.alienvault.cloud","event":{}},{"id":"e2","tenantId":"cn://globex.alienvault.cloud","event":{}}],"total":2}`
	})
	api := newAPI(t, srv.Server)
	dir := NewDirectory(api, DirectoryConfig{RefreshEvery: 10})
	streams := NewStreams(api, dir, Config{PageSize: 10, Events: eventsOnly.Events, Alarms: alarmsOnly.Alarms, DirectEvents: []string{"acme"}})
	require.Len(t, streams, 2)
	page, err := pollFirst(t, streams[1], t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"e2"}, streamtest.RecordIDs([]engine.RangePage{page}), "acme's events come from its own API")
	srv.answer = func(string, searchRequest) string {
		return `{"results":[{"id":"a1","tenantId":"cn://acme.alienvault.cloud","alarm":{}}],"total":1}`
	}
	page, err = pollFirst(t, streams[0], t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a1"}, streamtest.RecordIDs([]engine.RangePage{page}), "its alarms still come from the console")
}

func TestSearchErrors(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[{"id":` })
	s := onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10})
	_, err := pollFirst(t, s, t0)
	var me *apiclient.MalformedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, srv.URL+DefaultAlarmsPath, me.URL)
}

// A page past Elasticsearch's result window is never asked for, and the console's refusal of
// one says so: the engine then skips the run of records sharing one millisecond it was in.
func TestPagesPastTheResultWindow(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string {
		return `{"error":{"type":"illegal_argument_exception","reason":"Result window is too large, from + size must be less than or equal to: [10000]"}}`
	})
	s := rangeStream(onlyStream(t, srv, Config{PageSize: 1000, Alarms: alarmsOnly.Alarms}, DirectoryConfig{RefreshEvery: 10}))
	require.NoError(t, s.PollStarting(context.Background()))
	_, err := s.FetchRange(context.Background(), engine.Range{From: t0, Page: 10})
	require.ErrorIs(t, err, engine.ErrPastResultWindow)
	assert.True(t, apiclient.IsPermanent(err))
	assert.Empty(t, srv.calls(), "known to be refused: not sent")

	srv.Close()
	refusing := newConsole(t, nil)
	refusing.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path != TokenPath {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"reason":"Result window is too large, from + size must be less than or equal to: [5000]"}}`)
			return
		}
		refusing.serve(w, r)
	})
	s = rangeStream(onlyStream(t, refusing, Config{PageSize: 1000, Alarms: alarmsOnly.Alarms}, DirectoryConfig{RefreshEvery: 10}))
	require.NoError(t, s.PollStarting(context.Background()))
	_, err = s.FetchRange(context.Background(), engine.Range{From: t0, Page: 5})
	require.ErrorIs(t, err, engine.ErrPastResultWindow, "a console with a smaller window says so with a 400")
}

func TestNoListingNoWalk(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":0}` })
	srv.setDeployments(`forbidden`, 403)
	s := onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10, Exclude: []string{"globex"}})
	_, err := pollFirst(t, s, t0)
	var he *apiclient.HTTPError
	require.ErrorAs(t, err, &he, "include and exclude cannot apply before a listing")
	assert.Equal(t, 403, he.Status)
	assert.Empty(t, srv.calls())
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestChangingAlarmFiltersAreAppliedToWhatIsRead(t *testing.T) {
	open, closed := alarmResult("a", "acme", 0), alarmResult("b", "acme", 1)
	closed["alarm"].(map[string]any)["status"] = "closed"
	srv := newConsole(t, results([]map[string]any{open, closed}))
	s := onlyStream(t, srv, Config{PageSize: 10, Alarms: StreamConfig{Enabled: true, Path: DefaultAlarmsPath, Find: map[string][]string{"alarm.status": {"open"}}}}, DirectoryConfig{RefreshEvery: 10})
	page, err := pollFirst(t, s, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, streamtest.RecordIDs([]engine.RangePage{page}))
	require.Len(t, page.Withheld, 1)
	assert.Empty(t, srv.calls()[0].body.Find, "not sent")
}
