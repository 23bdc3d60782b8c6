package securityalertsreceiver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fakes in this file misbehave as real APIs do and the bundled simulator did not: lists change
// while they are paged, clocks run ahead, Elasticsearch caps totals, Trend serves a window's pages
// in no order and refuses windows past its horizon, Cisco repeats a cursor. Each serves one list of
// records kept in a timeline the test can change while the receiver polls.

// fakeRecord is one record of a timeline: an id (empty for records that carry none), when it
// occurred, and its fields as the vendor serves them.
type fakeRecord struct {
	id     string
	ms     int64
	fields map[string]any
}

// timeline is a list sorted by occurrence time, then id, as the time-window APIs sort theirs.
type timeline struct {
	mu      sync.Mutex
	records []fakeRecord
	// onRequest, when set, is called with every list request's parameters before it is answered
	// (outside the lock), so that a test can change the list mid-walk.
	onRequest func(n int, params url.Values)
	requests  int
	first     url.Values
}

func (tl *timeline) add(recs ...fakeRecord) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.records = append(tl.records, recs...)
	slices.SortStableFunc(tl.records, func(a, b fakeRecord) int {
		if a.ms != b.ms {
			return int(a.ms - b.ms)
		}
		return strings.Compare(a.id, b.id)
	})
}

// set changes a field of the record with id; pages already served keep the old version.
func (tl *timeline) set(id, field string, value any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for i, r := range tl.records {
		if r.id == id {
			fields := maps.Clone(r.fields)
			fields[field] = value
			tl.records[i].fields = fields
		}
	}
}

// request counts a list request and lets the test act on it.
func (tl *timeline) request(params url.Values) {
	tl.mu.Lock()
	tl.requests++
	if tl.first == nil {
		tl.first = params
	}
	n, hook := tl.requests, tl.onRequest
	tl.mu.Unlock()
	if hook != nil {
		hook(n, params)
	}
}

// firstParams are the parameters of the first list request.
func (tl *timeline) firstParams() url.Values {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.first
}

func (tl *timeline) requestCount() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.requests
}

// between returns the records occurring in [from, to] whose fields have every value of match.
func (tl *timeline) between(from, to int64, match map[string]string) []fakeRecord {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	lo, _ := slices.BinarySearchFunc(tl.records, from, func(r fakeRecord, ms int64) int { return cmp.Compare(r.ms, ms) })
	var out []fakeRecord
	for _, r := range tl.records[lo:] {
		if r.ms > to {
			break
		}
		if matches(r.fields, match) {
			out = append(out, r)
		}
	}
	return out
}

// matches says whether fields has every value of match.
func matches(fields map[string]any, match map[string]string) bool {
	for k, want := range match {
		if fmt.Sprint(fields[k]) != want {
			return false
		}
	}
	return true
}

// usmAlarm is an alarm as USM Anywhere serves it (id may be empty: then it carries none).
func usmAlarm(id string, at time.Time) fakeRecord {
	ms := at.UnixMilli()
	fields := map[string]any{
		"timestamp_occured": strconv.FormatInt(ms, 10), "status": "open",
		"priority_label": "medium", "rule_method": "Rule " + id,
	}
	if id != "" {
		fields["uuid"] = id
	}
	return fakeRecord{id: id, ms: ms, fields: fields}
}

// alarmsEvery makes n alarms named prefix-0.. spaced step apart, the first at start.
func alarmsEvery(prefix string, n int, start time.Time, step time.Duration) []fakeRecord {
	out := make([]fakeRecord, n)
	for i := range out {
		out[i] = usmAlarm(fmt.Sprintf("%s-%03d", prefix, i), start.Add(time.Duration(i)*step))
	}
	return out
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tokenHandler issues "tok" for the client credentials id/secret.
func tokenHandler(w http.ResponseWriter, r *http.Request) {
	if id, secret, ok := r.BasicAuth(); !ok || id != "id" || secret != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeTestJSON(w, http.StatusOK, map[string]any{"access_token": "tok", "token_type": "bearer", "expires_in": 899})
}

func authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

// newUnkindUSM serves tl as USM Anywhere's alarms list: the inclusive timestamp_occured bounds,
// equality filters on fields, 0-based pages sorted by time as asked, totalElements and the HAL
// next link.
func newUnkindUSM(t *testing.T, tl *timeline) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/2.0/oauth/token", tokenHandler)
	mux.HandleFunc("GET /api/2.0/alarms", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		q := r.URL.Query()
		tl.request(q)
		from, to := msParam(q, "timestamp_occured_gte", 0), msParam(q, "timestamp_occured_lte", 1<<62)
		match := map[string]string{}
		for k := range q {
			if !slices.Contains([]string{"page", "size", "sort", "timestamp_occured_gte", "timestamp_occured_lte"}, k) {
				match[k] = q.Get(k)
			}
		}
		all := tl.between(from, to, match)
		if strings.HasSuffix(q.Get("sort"), "desc") {
			slices.Reverse(all)
		}
		page, size := int(msParam(q, "page", 0)), int(msParam(q, "size", 20))
		items := []any{}
		for _, rec := range all[min(page*size, len(all)):min((page+1)*size, len(all))] {
			items = append(items, rec.fields)
		}
		resp := map[string]any{
			"_embedded": map[string]any{"alarms": items},
			"page":      map[string]any{"size": size, "totalElements": len(all), "totalPages": (len(all) + size - 1) / size, "number": page},
			"_links":    map[string]any{},
		}
		if (page+1)*size < len(all) {
			next := *r.URL
			nq := next.Query()
			nq.Set("page", strconv.Itoa(page+1))
			next.RawQuery = nq.Encode()
			next.Scheme, next.Host = "http", r.Host
			resp["_links"] = map[string]any{"next": map[string]any{"href": next.String()}}
		}
		writeTestJSON(w, http.StatusOK, resp)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func msParam(q url.Values, name string, fallback int64) int64 {
	v, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return fallback
	}
	return v
}

// centralAlarm is a USM Central alarm search result around a USM Anywhere alarm.
func centralAlarm(rec fakeRecord) fakeRecord {
	inner := maps.Clone(rec.fields)
	return fakeRecord{id: rec.id, ms: rec.ms, fields: map[string]any{
		"id": rec.id, "tenantId": "cn://acme.alienvault.cloud", "timestamp": rec.ms, "alarm": inner,
	}}
}

// unkindCentral serves tl as USM Central's alarm search on Elasticsearch: the range, find on
// alarm fields, 1-based pages, totals capped at cap with relation "gte", and pages reaching past
// window refused with 400 as Elasticsearch refuses them.
type unkindCentral struct {
	tl          *timeline
	cap, window int
}

func newUnkindCentral(t *testing.T, c *unkindCentral) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/1.1/oauth/token", tokenHandler)
	mux.HandleFunc("GET /api/1.1/deployments", func(w http.ResponseWriter, r *http.Request) {
		if authorized(w, r) {
			writeTestJSON(w, http.StatusOK, []any{map[string]any{
				"id": "cn://acme.alienvault.cloud", "name": "acme", "fqdn": "acme.alienvault.cloud",
				"connectionStatus": "connected", "authorized": true,
			}})
		}
	})
	mux.HandleFunc("POST /api/1.1/alarms", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		var body struct {
			Page, Size int
			Find       map[string][]string
			Range      map[string]map[string]string
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeTestJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		c.tl.request(url.Values{"page": {strconv.Itoa(body.Page)}})
		if body.Page*body.Size > c.window {
			writeTestJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"type":   "illegal_argument_exception",
				"reason": fmt.Sprintf("Result window is too large, from + size must be less than or equal to: [%d]", c.window),
			}})
			return
		}
		bounds := body.Range["alarm.timestamp_occured"]
		from, _ := strconv.ParseInt(bounds["gte"], 10, 64)
		to, err := strconv.ParseInt(bounds["lte"], 10, 64)
		if err != nil {
			to = 1 << 62 // "now" and absent both leave the range open
		}
		match := map[string]string{}
		for k, v := range body.Find {
			match[strings.TrimPrefix(k, "alarm.")] = v[0]
		}
		all := c.tl.between(from, to, nil)
		var hits []fakeRecord
		for _, rec := range all {
			if matches(rec.fields["alarm"].(map[string]any), match) {
				hits = append(hits, rec)
			}
		}
		start := (body.Page - 1) * body.Size
		results := []any{}
		for _, rec := range hits[min(start, len(hits)):min(start+body.Size, len(hits))] {
			results = append(results, rec.fields)
		}
		total := map[string]any{"value": len(hits), "relation": "eq"}
		if len(hits) > c.cap {
			total = map[string]any{"value": c.cap, "relation": "gte"}
		}
		writeTestJSON(w, http.StatusOK, map[string]any{"results": results, "total": total})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// trendEvent is a Trend Micro CAS security event detected at at.
func trendEvent(id string, at time.Time) fakeRecord {
	return fakeRecord{id: id, ms: at.UnixMilli(), fields: map[string]any{
		"event": "security_risk_scan", "log_item_id": id,
		"message": map[string]any{"detection_time": at.UTC().Format("2006-01-02T15:04:05.000Z"), "risk_level": "high"},
	}}
}

// unkindTrend serves tl as Trend's security events: a window's pages newest first (the API
// promises no order), limit per page, next_link with an offset; a start more than horizon
// before now refused with 400 in Trend's error format.
type unkindTrend struct {
	tl      *timeline
	horizon time.Duration
}

const trendTimeLayout = "2006-01-02T15:04:05.000Z"

func newUnkindTrend(t *testing.T, ut *unkindTrend) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/v1/siem/security_events" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		ut.tl.request(q)
		start, err1 := time.Parse(trendTimeLayout, q.Get("start"))
		end, err2 := time.Parse(trendTimeLayout, q.Get("end"))
		if err1 != nil || err2 != nil {
			writeTestJSON(w, http.StatusBadRequest, map[string]any{"code": -4000001, "msg": "invalid start or end"})
			return
		}
		if start.Before(time.Now().Add(-ut.horizon)) {
			writeTestJSON(w, http.StatusBadRequest, map[string]any{
				"code": -4000001, "traceId": "trace-1",
				"msg": fmt.Sprintf("start %s is out of the allowed range: logs of the last %s only", q.Get("start"), ut.horizon),
			})
			return
		}
		events := ut.tl.between(start.UnixMilli(), end.UnixMilli(), nil)
		slices.Reverse(events) // newest first: nothing says the pages are oldest first
		limit, offset := int(msParam(q, "limit", 200)), int(msParam(q, "offset", 0))
		page := []any{}
		for _, e := range events[min(offset, len(events)):min(offset+limit, len(events))] {
			page = append(page, e.fields)
		}
		next := ""
		if offset+limit < len(events) {
			nq := maps.Clone(q)
			nq.Set("offset", strconv.Itoa(offset+limit))
			next = srv.URL + r.URL.Path + "?" + nq.Encode()
		}
		writeTestJSON(w, http.StatusOK, map[string]any{"current_link": "", "next_link": next, "security_events": page})
	}))
	t.Cleanup(srv.Close)
	return srv
}
