package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	_, c := start(t, Options{Seed: 1, Backlog: 10})

	for name, tc := range map[string]struct {
		id, secret, query, form string
		status                  int
		errorCode               string
	}{
		"grant in query":       {"sim-client", "sim-secret", "grant_type=client_credentials", "", 200, ""},
		"grant in form body":   {"sim-client", "sim-secret", "", "grant_type=client_credentials", 200, ""},
		"wrong secret":         {"sim-client", "nope", "grant_type=client_credentials", "", 401, "unauthorized"},
		"wrong client":         {"other", "sim-secret", "grant_type=client_credentials", "", 401, "unauthorized"},
		"no credentials":       {"", "", "grant_type=client_credentials", "", 401, "unauthorized"},
		"no grant type":        {"sim-client", "sim-secret", "", "", 400, "invalid_request"},
		"unsupported grant":    {"sim-client", "sim-secret", "grant_type=password", "", 400, "unsupported_grant_type"},
		"grant in form, wrong": {"sim-client", "sim-secret", "", "grant_type=authorization_code", 400, "unsupported_grant_type"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := c.tokenRequest(tc.id, tc.secret, tc.query, tc.form)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			var body map[string]any
			decode(t, resp.body, &body)
			if tc.status != 200 {
				if body["error"] != tc.errorCode || body["error_description"] == "" {
					t.Errorf("error body %v, want error %q with a description", body, tc.errorCode)
				}
				return
			}
			if body["token_type"] != "bearer" || body["expires_in"] != 899.0 || body["scope"] != "trust read write" ||
				body["access_token"] == "" || body["jti"] == "" {
				t.Errorf("token response %v", body)
			}
		})
	}
}

func TestBearerTokenRequired(t *testing.T) {
	_, c := start(t, Options{Seed: 1, Backlog: 10})
	for _, tc := range []struct{ token, errorCode string }{
		{"", "unauthorized"},
		{"forged", "invalid_token"},
	} {
		resp := c.get("/api/2.0/alarms", tc.token)
		var body map[string]string
		decode(t, resp.body, &body)
		if resp.status != http.StatusUnauthorized || body["error"] != tc.errorCode {
			t.Errorf("token %q: %d %v, want 401 %s", tc.token, resp.status, body, tc.errorCode)
		}
		if !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("token %q: WWW-Authenticate %q", tc.token, resp.header.Get("WWW-Authenticate"))
		}
	}
	if resp := c.get("/api/2.0/alarms", c.token()); resp.status != http.StatusOK {
		t.Errorf("valid token: %d %s", resp.status, resp.body)
	}
}

func TestTokenExpires(t *testing.T) {
	_, c := start(t, Options{Seed: 1, Backlog: 10, TokenTTL: 100 * time.Millisecond})
	resp := c.tokenRequest("sim-client", "sim-secret", "grant_type=client_credentials", "")
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	decode(t, resp.body, &tok)
	if tok.ExpiresIn != 1 {
		t.Errorf("expires_in %d for a 100ms token, want 1 (0 would read as never)", tok.ExpiresIn)
	}
	if resp := c.get("/api/2.0/events", tok.AccessToken); resp.status != http.StatusOK {
		t.Fatalf("fresh token: %d", resp.status)
	}
	time.Sleep(150 * time.Millisecond)
	resp = c.get("/api/2.0/events", tok.AccessToken)
	if resp.status != http.StatusUnauthorized || !bytes.Contains(resp.body, []byte("expired")) {
		t.Errorf("expired token: %d %s, want 401 saying expired", resp.status, resp.body)
	}
}

func TestRevokedTokensAreRefused(t *testing.T) {
	sim, c := start(t, Options{Seed: 1, Backlog: 10})

	token := c.token()
	sim.RevokeTokens()
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusUnauthorized {
		t.Errorf("after RevokeTokens: %d, want 401", resp.status)
	}

	token = c.token()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/revoke", nil)
	if resp := c.do(req); resp.status != http.StatusNoContent {
		t.Fatalf("POST /_sim/revoke: %d", resp.status)
	}
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusUnauthorized {
		t.Errorf("after POST /_sim/revoke: %d, want 401", resp.status)
	}
	if resp := c.get("/api/2.0/alarms", c.token()); resp.status != http.StatusOK {
		t.Errorf("token issued after revocation: %d, want 200", resp.status)
	}
}

func TestPagingFollowsNextLinksToTheEnd(t *testing.T) {
	sim, c := start(t, Options{Seed: 3, Backlog: 95, BacklogEnd: fixedEnd})
	token := c.token()
	since := msString(fixedEnd.Add(-48 * time.Hour).UnixMilli())

	var got []string
	next := "/api/2.0/alarms?" + qs("size", "20", "sort", "timestamp_occured,asc", "timestamp_occured_gte", since, "app_type_unknown", "x")
	pages := 0
	for next != "" {
		p := c.page(next, token)
		if p.Page.Number != pages || p.Page.Size != 20 || p.Page.TotalElements != 95 || p.Page.TotalPages != 5 {
			t.Fatalf("page %d: %+v", pages, p.Page)
		}
		for _, rec := range p.items("alarms") {
			got = append(got, recordID(rec))
		}
		for _, rel := range []string{"first", "self", "last"} {
			if p.Links[rel].Href == "" {
				t.Errorf("page %d has no %s link", pages, rel)
			}
		}
		next = p.Links["next"].Href
		if next != "" {
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Scheme != "http" || u.Host != strings.TrimPrefix(c.base, "http://") || q.Get("timestamp_occured_gte") != since ||
				q.Get("app_type_unknown") != "x" || q.Get("sort") != "timestamp_occured,asc" || q.Get("page") == "" {
				t.Errorf("next link %s does not keep the request's parameters", next)
			}
		}
		pages++
	}
	if pages != 5 {
		t.Errorf("followed %d pages, want 5", pages)
	}
	want := sim.IDs(usmAnywhere, "alarm")
	if !sameSet(got, want) {
		t.Errorf("paged through %d ids, want the %d generated, each once", len(got), len(want))
	}

	last := c.page(c.page("/api/2.0/alarms?size=20", token).Links["last"].Href, token)
	if last.Page.Number != 4 || len(last.items("alarms")) != 15 || last.Links["next"].Href != "" {
		t.Errorf("last page: number %d, %d items, next %q", last.Page.Number, len(last.items("alarms")), last.Links["next"].Href)
	}
}

func TestSortOrder(t *testing.T) {
	_, c := start(t, Options{Seed: 4, Backlog: 200, BacklogEnd: fixedEnd})
	token := c.token()
	for _, tc := range []struct {
		sort string
		desc bool
	}{
		{"", true}, // the docs' default
		{"timestamp_occured,asc", false},
		{"timestamp_occured,desc", true},
		{"timestamp_occurred,asc", false},
		{"timestamp_occurred, desc", true},
		{"timestamp_occured,DESC", true},
		{"timestamp_occured", false}, // Spring sorts ascending without a direction
	} {
		q := qs("size", "1000")
		if tc.sort != "" {
			q += "&" + qs("sort", tc.sort)
		}
		items := c.page("/api/2.0/events?"+q, token).items("events")
		if len(items) != 200 {
			t.Fatalf("sort %q: %d items, want 200", tc.sort, len(items))
		}
		sorted := slices.IsSortedFunc(items, func(a, b map[string]any) int {
			cmp := compareRecords(&record{id: recordID(a), occurred: occurredMs(t, a)}, &record{id: recordID(b), occurred: occurredMs(t, b)})
			if tc.desc {
				return -cmp
			}
			return cmp
		})
		if !sorted {
			t.Errorf("sort %q: not sorted by time then id, desc=%v", tc.sort, tc.desc)
		}
	}
	for _, bad := range []string{"priority,asc", "timestamp_occured,up"} {
		if resp := c.get("/api/2.0/events?"+qs("sort", bad), token); resp.status != http.StatusBadRequest {
			t.Errorf("sort %q: %d, want 400", bad, resp.status)
		}
	}
}

func TestOccurredBoundsAreInclusive(t *testing.T) {
	sim, c := start(t, Options{Seed: 5, Backlog: 2000, BacklogEnd: fixedEnd})
	token := c.token()
	st := sim.store(usmAnywhere, "alarm")
	twin := sameMillisecond(st)
	if twin == 0 {
		t.Fatal("no two alarms share a millisecond; clients' boundary de-dup would go untested")
	}
	wantOn := countOccurred(st, twin, twin)
	for _, spelling := range []string{"timestamp_occured", "timestamp_occurred"} {
		p := c.page("/api/2.0/alarms?"+qs(spelling+"_gte", msString(twin), spelling+"_lte", msString(twin)), token)
		if p.Page.TotalElements != wantOn || wantOn < 2 {
			t.Errorf("%s bounds on one millisecond: %d records, want the %d occurring then", spelling, p.Page.TotalElements, wantOn)
		}
		for _, rec := range p.items("alarms") {
			if occurredMs(t, rec) != twin {
				t.Errorf("%s: record at %d outside [%d, %d]", spelling, occurredMs(t, rec), twin, twin)
			}
		}
		from, to := twin-3_600_000, twin
		p = c.page("/api/2.0/alarms?"+qs(spelling+"_gte", msString(from), spelling+"_lte", msString(to)), token)
		if want := countOccurred(st, from, to); p.Page.TotalElements != want {
			t.Errorf("%s bounds over an hour: %d records, want %d", spelling, p.Page.TotalElements, want)
		}
	}
	for _, bad := range []string{"timestamp_occured_gte=yesterday", "timestamp_occurred_lte=1.5", "page=-1", "page=x", "size=0", "size=-3"} {
		resp := c.get("/api/2.0/alarms?"+bad, token)
		var body map[string]any
		decode(t, resp.body, &body)
		if resp.status != http.StatusBadRequest || body["message"] == "" {
			t.Errorf("%s: %d %v, want 400 with a message", bad, resp.status, body)
		}
	}
}

func TestSizeIsClamped(t *testing.T) {
	_, c := start(t, Options{Seed: 6, Backlog: 1500})
	p := c.page("/api/2.0/alarms?size=5000", c.token())
	if p.Page.Size != 1000 || len(p.items("alarms")) != 1000 || p.Page.TotalPages != 2 {
		t.Errorf("size=5000 served %+v with %d items, want pages of 1000", p.Page, len(p.items("alarms")))
	}
	if !strings.Contains(p.Links["next"].Href, "size=1000") {
		t.Errorf("next link %s does not carry the clamped size", p.Links["next"].Href)
	}
}

func TestFilters(t *testing.T) {
	_, c := start(t, Options{Seed: 7, Backlog: 400})
	token := c.token()
	all := c.page("/api/2.0/alarms?size=1000", token).Page.TotalElements

	count := func(path string, params ...string) (int, []map[string]any) {
		p := c.page(path+"?"+qs(append([]string{"size", "1000"}, params...)...), token)
		return p.Page.TotalElements, p.items(strings.TrimPrefix(path, "/api/2.0/"))
	}
	for _, f := range [][2]string{{"status", "open"}, {"status", "in review"}, {"priority_label", "high"}, {"rule_intent", "System Compromise"}} {
		n, items := count("/api/2.0/alarms", f[0], f[1])
		if n == 0 || n == all {
			t.Errorf("%s=%s matched %d of %d", f[0], f[1], n, all)
		}
		for _, rec := range items {
			if rec[f[0]] != f[1] {
				t.Errorf("%s=%s returned a record with %v", f[0], f[1], rec[f[0]])
			}
		}
	}
	if n, items := count("/api/2.0/alarms", "suppressed", "true"); n == 0 || n == all || items[0]["suppressed"] != true {
		t.Errorf("suppressed=true (a bool on alarms) matched %d of %d", n, all)
	}
	if n, items := count("/api/2.0/events", "suppressed", "false"); n == 0 || items[0]["suppressed"] != "false" {
		t.Errorf("suppressed=false (a string on events) matched %d", n)
	}
	if n, _ := count("/api/2.0/alarms", "alarm_sensor_sources", usmSensors[0]); n == 0 || n == all {
		t.Errorf("alarm_sensor_sources (a list) matched %d of %d", n, all)
	}

	// The real server ignores several priority_label values, repeated or comma-separated.
	for _, params := range [][]string{
		{"priority_label", "high", "priority_label", "low"},
		{"priority_label", "high,low"},
		{"priority_label", "medium, high"},
	} {
		if n, _ := count("/api/2.0/alarms", params...); n != all {
			t.Errorf("%v matched %d, want all %d", params, n, all)
		}
	}
	if n, _ := count("/api/2.0/alarms", "no_such_field", "x"); n != all {
		t.Errorf("an unknown parameter filtered: %d of %d", n, all)
	}
	if n, _ := count("/api/2.0/alarms", "status", "open", "priority_label", "critical"); n == 0 {
		t.Error("filters on status and priority_label together matched nothing")
	}
}

func TestEmptyPageOmitsEmbedded(t *testing.T) {
	_, c := start(t, Options{Seed: 8, Backlog: 30})
	token := c.token()
	for _, q := range []string{"page=5", "timestamp_occured_gte=4102444800000"} {
		resp := c.get("/api/2.0/alarms?"+q, token)
		var raw map[string]json.RawMessage
		decode(t, resp.body, &raw)
		if _, ok := raw["_embedded"]; ok {
			t.Errorf("%s: empty page has _embedded: %s", q, resp.body)
		}
		var p halResponse
		decode(t, resp.body, &p)
		if p.Links["next"].Href != "" || p.Links["first"].Href == "" || p.Links["last"].Href == "" {
			t.Errorf("%s: links %+v", q, p.Links)
		}
	}
}

func TestEventsEmbeddedKey(t *testing.T) {
	for _, key := range []string{"events", "eventResources"} {
		_, c := start(t, Options{Seed: 9, Backlog: 5, EventsEmbeddedKey: key})
		if p := c.page("/api/2.0/events", c.token()); len(p.items(key)) != 5 {
			t.Errorf("EventsEmbeddedKey %q: _embedded keys %v", key, p.Embedded)
		}
	}
}

func TestRecordShapes(t *testing.T) {
	_, c := start(t, Options{Seed: 10, Backlog: 500, BacklogEnd: fixedEnd})
	token := c.token()
	alarms := c.page("/api/2.0/alarms?size=1000", token).items("alarms")
	events := c.page("/api/2.0/events?size=1000", token).items("events")

	shapes := map[string]int{}
	for _, rec := range append(slices.Clone(alarms), events...) {
		if _, ok := rec["timestamp_occurred"]; ok {
			shapes["timestamp_occurred spelling"]++
		}
		if _, ok := rec["timestamp_occured"].(float64); ok {
			shapes["numeric time"]++
		}
		if _, ok := rec["timestamp_occured_iso8601"].(string); !ok {
			t.Errorf("record %s has no timestamp_occured_iso8601", recordID(rec))
		}
		links, _ := rec["_links"].(map[string]any)
		self, _ := links["self"].(map[string]any)
		if href, _ := self["href"].(string); !strings.HasSuffix(href, "/"+recordID(rec)) {
			t.Errorf("record %s has self link %v", recordID(rec), rec["_links"])
		}
		occurred := time.UnixMilli(occurredMs(t, rec))
		if occurred.Before(fixedEnd.Add(-24*time.Hour)) || occurred.After(fixedEnd) {
			t.Errorf("record %s occurred at %s, outside the lookback", recordID(rec), occurred)
		}
	}
	for _, rec := range events {
		if _, ok := rec["uuid"]; !ok {
			shapes["event with only id"]++
		}
	}
	labels := map[any]int{}
	for _, rec := range alarms {
		labels[rec["priority_label"]]++
		if rec["packet_type"] != "alarm" || rec["event_type"] != "Alarm" || rec["status"] == nil {
			t.Errorf("alarm %v", rec)
		}
	}
	for _, shape := range []string{"timestamp_occurred spelling", "numeric time", "event with only id"} {
		if shapes[shape] == 0 || shapes[shape] > 150 {
			t.Errorf("%d records with %s among 1000, want a few", shapes[shape], shape)
		}
	}
	for _, label := range []string{"low", "medium", "high", "critical"} {
		if labels[label] == 0 {
			t.Errorf("no %s alarms among %d: %v", label, len(alarms), labels)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// sameMillisecond returns a millisecond at which several records occurred, or 0.
func sameMillisecond(st *store) int64 {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for i := 1; i < len(st.byTime); i++ {
		if st.byTime[i].occurred == st.byTime[i-1].occurred {
			return st.byTime[i].occurred
		}
	}
	return 0
}

func countOccurred(st *store, from, to int64) int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	n := 0
	for _, r := range st.byTime {
		if r.occurred >= from && r.occurred <= to {
			n++
		}
	}
	return n
}
