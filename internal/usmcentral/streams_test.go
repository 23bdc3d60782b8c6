package usmcentral

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
	"github.com/securityalerts/securityalerts/internal/streamtest"
)

func TestSearchBody(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":0}` })
	api := newAPI(t, srv.Server)
	streams := NewStreams(api, NewDirectory(api, DirectoryConfig{RefreshEvery: 10}), Config{
		PageSize: 500,
		Alarms:   StreamConfig{Enabled: true, Path: "/api/1.1/alarms", Find: map[string][]string{"alarm.suppressed": {"false"}, "alarm.status": {"open", "in review"}}},
		Events:   StreamConfig{Enabled: true, Path: "/custom/events"},
	})
	require.Len(t, streams, 2)
	assert.Equal(t, "usm_central/alarms", streams[0].Name())
	assert.Equal(t, "usm_central/events", streams[1].Name())
	since := t0.Add(1500 * 1000) // 1.5 ms: the sub-millisecond part is truncated
	for _, s := range streams {
		assert.Equal(t, Source, s.Source())
		_, err := s.Fetch(context.Background(), engine.Query{Since: since})
		require.NoError(t, err)
	}
	calls := srv.calls()
	require.Len(t, calls, 2)
	gte := strconv.FormatInt(t0.UnixMilli()+1, 10)
	assert.Equal(t, "/api/1.1/alarms", calls[0].path)
	assert.Equal(t, map[string]any{
		"page": 1.0, "size": 500.0,
		"find":  map[string]any{"alarm.suppressed": []any{"false"}, "alarm.status": []any{"open", "in review"}},
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

func TestPagingIsOneBasedUntilPageTimesSizeReachesTotal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		wantPages []int
	}{
		{"partial last page", 5, []int{1, 2, 3}},
		{"exact multiple", 4, []int{1, 2}},
		{"one page", 1, []int{1}},
		{"nothing", 0, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var all []map[string]any
			for i := range tc.n {
				all = append(all, alarmResult("a"+strconv.Itoa(i), "acme", int64(i)))
			}
			srv := newConsole(t, results(all))
			pages, err := streamtest.Walk(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
			require.NoError(t, err)
			var asked []int
			for _, c := range srv.calls() {
				asked = append(asked, c.body.Page)
				assert.Equal(t, 2, c.body.Size)
				assert.Equal(t, strconv.FormatInt(t0.UnixMilli(), 10), c.body.Range["alarm.timestamp_occured"]["gte"], "every page repeats the walk's bound")
			}
			assert.Equal(t, tc.wantPages, asked)
			assert.Len(t, streamtest.RecordIDs(pages), tc.n)
			assert.Empty(t, pages[len(pages)-1].Next)
		})
	}
}

func TestEmptyPageEndsTheWalkWhateverTheTotal(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":50}` })
	pages, err := streamtest.Walk(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
	require.NoError(t, err)
	assert.Len(t, pages, 1)
}

func TestTotalAsElasticsearchObject(t *testing.T) {
	all := []map[string]any{alarmResult("a", "acme", 0), alarmResult("b", "acme", 1), alarmResult("c", "acme", 2)}
	srv := newConsole(t, func(_ string, req searchRequest) string {
		if req.Page == 1 {
			return `{"results":[` + mustJSON(all[0]) + `,` + mustJSON(all[1]) + `],"total":{"value":3,"relation":"eq"}}`
		}
		return `{"results":[` + mustJSON(all[2]) + `],"total":{"value":3,"relation":"eq"}}`
	})
	pages, err := streamtest.Walk(t, onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10}), t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, streamtest.RecordIDs(pages))
}

func TestTenantMapping(t *testing.T) {
	all := []map[string]any{alarmResult("a", "acme", 0), alarmResult("b", "globex", 1), alarmResult("c", "newco", 2)}
	srv := newConsole(t, results(all))
	s := onlyStream(t, srv, Config{PageSize: 10, Alarms: alarmsOnly.Alarms}, DirectoryConfig{RefreshEvery: 10})

	page, err := s.Fetch(context.Background(), engine.Query{Since: t0})
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

	_, err = s.Fetch(context.Background(), engine.Query{Since: t0, PageToken: ""})
	require.NoError(t, err)
	assert.Equal(t, 3, srv.listCount(), "at most one listing per walk for unknown tenants")

	// The newcomer is listed now: its display name follows.
	srv.setDeployments(`[{"id":"cn://newco.alienvault.cloud","name":"newco","displayName":"NewCo","fqdn":"newco.alienvault.cloud","connectionStatus":"connected","authorized":true}]`, 0)
	page, err = s.Fetch(context.Background(), engine.Query{Since: t0})
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
	pages, err := streamtest.Walk(t, s, t0)
	require.NoError(t, err)
	require.Len(t, pages, 2)
	assert.Equal(t, []string{"h1", "h2", "h3"}, streamtest.RecordIDs(pages))
	assert.Equal(t, 1, pages[0].Malformed)
	assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), pages[0].Records[0].Tenant, "without tenantId a record is the console's")
	assert.Equal(t, "acme.alienvault.cloud", pages[0].Records[1].Tenant, "the HAL deployments list was read")
	assert.Equal(t, record.SeverityMedium, pages[0].Records[0].Severity)
	assert.Equal(t, []int{1, 2}, []int{srv.calls()[0].body.Page, srv.calls()[1].body.Page}, "paged by the body, not the GET link")
}

func TestEventsComeFromTheEventObject(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string {
		return `{"results":[{"id":"ev1","tenantId":"cn://acme.alienvault.cloud",
			"event":{"uuid":"ev1","event_severity":"low","timestamp_occured":"1627510810000","plugin":"Windows Security"}}],"total":1}`
	})
	page, err := onlyStream(t, srv, eventsOnly, DirectoryConfig{RefreshEvery: 10}).Fetch(context.Background(), engine.Query{Since: t0})
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
			page, err := onlyStream(t, srv, Config{PageSize: 10, Alarms: alarmsOnly.Alarms}, tc.dcfg).Fetch(context.Background(), engine.Query{Since: t0})
			require.NoError(t, err)
			assert.Equal(t, tc.want, streamtest.RecordIDs([]engine.Page{page}))
			assert.Equal(t, t0.Add(3*1e6), page.Through, "records left out still move the checkpoint")
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
	page, err := streams[1].Fetch(context.Background(), engine.Query{Since: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"e2"}, streamtest.RecordIDs([]engine.Page{page}), "acme's events come from its own API")
	srv.answer = func(string, searchRequest) string {
		return `{"results":[{"id":"a1","tenantId":"cn://acme.alienvault.cloud","alarm":{}}],"total":1}`
	}
	page, err = streams[0].Fetch(context.Background(), engine.Query{Since: t0})
	require.NoError(t, err)
	assert.Equal(t, []string{"a1"}, streamtest.RecordIDs([]engine.Page{page}), "its alarms still come from the console")
}

func TestSearchErrors(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[{"id":` })
	s := onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10})
	_, err := s.Fetch(context.Background(), engine.Query{Since: t0})
	var me *apiclient.MalformedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, srv.URL+DefaultAlarmsPath, me.URL)

	_, err = s.Fetch(context.Background(), engine.Query{Since: t0, PageToken: "zero"})
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err))
}

func TestNoListingNoWalk(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":0}` })
	srv.setDeployments(`forbidden`, 403)
	s := onlyStream(t, srv, alarmsOnly, DirectoryConfig{RefreshEvery: 10, Exclude: []string{"globex"}})
	_, err := s.Fetch(context.Background(), engine.Query{Since: t0})
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
