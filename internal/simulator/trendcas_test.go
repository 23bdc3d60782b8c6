package simulator

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const trendToken = "sim-trend-token"

type trendResponse struct {
	CurrentLink string           `json:"current_link"`
	NextLink    string           `json:"next_link"`
	LastTime    string           `json:"last_log_item_generation_time"`
	Events      []map[string]any `json:"security_events"`
}

type trendErrorBody struct {
	Code    int    `json:"code"`
	TraceID string `json:"traceId"`
	Msg     string `json:"msg"`
}

// trendOpts is a simulator without quotas, its backlog pinned at fixedEnd, which is further back
// than the API's 72-hour horizon: that is lifted.
func trendOpts(backlog int) Options {
	return Options{Seed: 7, Backlog: backlog, BacklogEnd: fixedEnd, TrendCASPerMinute: -1, TrendCASPerDay: -1, TrendCASHorizon: -1}
}

func trendQuery(service, event string, start, end time.Time, limit int) string {
	return "/v1/siem/security_events?" + qs("service", service, "event", event,
		"start", start.UTC().Format(trendTimeFormat), "end", end.UTC().Format(trendTimeFormat), "limit", msString(int64(limit)))
}

func trendError(t *testing.T, resp response, status, code int) trendErrorBody {
	t.Helper()
	if resp.status != status {
		t.Fatalf("status %d, want %d: %s", resp.status, status, resp.body)
	}
	var e trendErrorBody
	decode(t, resp.body, &e)
	if e.Code != code || e.TraceID == "" || e.Msg == "" {
		t.Fatalf("error body %+v, want code %d with a trace id and a message", e, code)
	}
	return e
}

// walkPair reads every page of one pair's window and returns the events.
func walkPair(t *testing.T, c *testClient, path string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for path != "" {
		resp := c.get(path, trendToken)
		if resp.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
		}
		var p trendResponse
		decode(t, resp.body, &p)
		events = append(events, p.Events...)
		if p.NextLink != "" && !strings.HasPrefix(p.NextLink, c.base+"/") {
			t.Fatalf("next_link %q leaves %s", p.NextLink, c.base)
		}
		path = p.NextLink
	}
	return events
}

func TestTrendTokenRequired(t *testing.T) {
	_, c := start(t, trendOpts(0))
	for _, token := range []string{"", "wrong"} {
		trendError(t, c.get("/v1/siem/security_events?service=box&event=dlp", token), http.StatusUnauthorized, -4010001)
	}
}

// TestTrendEveryIDIsServedOnce walks every pair over the whole backlog at both paths: together
// they serve each id IDs lists, once, with the answer's names for service and event.
func TestTrendEveryIDIsServedOnce(t *testing.T) {
	sim, c := start(t, trendOpts(300))
	from, to := fixedEnd.Add(-25*time.Hour), fixedEnd.Add(time.Minute)
	var served []string
	for i, s := range trendServices {
		for _, e := range trendEvents {
			path := trendQuery(s.name, e[0], from, to, 7)
			if i%2 == 1 {
				path = strings.Replace(path, "/v1/siem/", "/siem/v1/", 1)
			}
			for _, ev := range walkPair(t, c, path) {
				msg := ev["message"].(map[string]any)
				if ev["service"] != s.display || ev["event"] != e[1] {
					t.Fatalf("%s/%s answered as %v/%v", s.name, e[0], ev["service"], ev["event"])
				}
				if ev["log_item_id"] == nil || ev["log_item_id"] != msg["log_item_id"] {
					t.Fatalf("event and message must carry the same log_item_id: %v", ev)
				}
				served = append(served, ev["log_item_id"].(string))
			}
		}
	}
	want := sim.IDs(trendCAS, trendKind)
	if len(want) < 300 || !sameSet(served, want) || len(served) != len(want) {
		t.Fatalf("served %d ids, IDs lists %d; same set: %v", len(served), len(want), sameSet(served, want))
	}
}

func TestTrendResponseNaming(t *testing.T) {
	_, c := start(t, trendOpts(400))
	events := walkPair(t, c, trendQuery("onedrive", "securityrisk", fixedEnd.Add(-25*time.Hour), fixedEnd, 200))
	if len(events) == 0 {
		t.Fatal("no OneDrive security risk events in the backlog")
	}
	for _, ev := range events {
		if ev["service"] != "OneDrive" || ev["event"] != "security_risk_scan" {
			t.Fatalf("named %v / %v", ev["service"], ev["event"])
		}
		if _, ok := ev["message"].(map[string]any)["security_risk_name"]; !ok {
			t.Fatalf("a security risk scan without security_risk_name: %v", ev)
		}
	}
}

func TestTrendWindowLimit(t *testing.T) {
	_, c := start(t, trendOpts(10))
	end := fixedEnd
	if resp := c.get(trendQuery("box", "dlp", end.Add(-72*time.Hour), end, 200), trendToken); resp.status != http.StatusOK {
		t.Fatalf("a three-day window: %d %s", resp.status, resp.body)
	}
	for name, start := range map[string]time.Time{
		"longer than three days": end.Add(-72*time.Hour - time.Millisecond),
		"end before start":       end.Add(time.Second),
	} {
		e := trendError(t, c.get(trendQuery("box", "dlp", start, end, 200), trendToken), http.StatusBadRequest, -4000001)
		t.Logf("%s: %s", name, e.Msg)
	}
}

func TestTrendBadParameters(t *testing.T) {
	_, c := start(t, trendOpts(0))
	for _, path := range []string{
		trendQuery("myspace", "dlp", fixedEnd.Add(-time.Hour), fixedEnd, 10),
		trendQuery("box", "phishing", fixedEnd.Add(-time.Hour), fixedEnd, 10),
		trendQuery("box", "dlp", fixedEnd.Add(-time.Hour), fixedEnd, 501),
		"/v1/siem/security_events?service=box&event=dlp&start=yesterday",
	} {
		trendError(t, c.get(path, trendToken), http.StatusBadRequest, -4000001)
	}
}

func TestTrendQuotas(t *testing.T) {
	for _, tc := range []struct {
		name              string
		perMinute, perDay int
		allowed           int
		want              string
	}{
		{"per minute", 3, -1, 3, "per minute"},
		{"per day", -1, 2, 2, "per day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := trendOpts(0)
			opts.TrendCASPerMinute, opts.TrendCASPerDay = tc.perMinute, tc.perDay
			sim, c := start(t, opts)
			path := "/v1/siem/security_events?service=box&event=dlp"
			for range tc.allowed {
				if resp := c.get(path, trendToken); resp.status != http.StatusOK {
					t.Fatalf("within the quota: %d %s", resp.status, resp.body)
				}
			}
			e := trendError(t, c.get(path, trendToken), http.StatusTooManyRequests, -4290001)
			if !strings.Contains(e.Msg, "Maximum allowed requests exceeded") || !strings.Contains(e.Msg, tc.want) {
				t.Fatalf("message %q", e.Msg)
			}
			if n := sim.Stats().Requests["/v1/siem/security_events"][http.StatusTooManyRequests]; n != 1 {
				t.Fatalf("429s counted: %d", n)
			}
		})
	}
}

func TestTrendDocumentedQuotaByDefault(t *testing.T) {
	_, c := start(t, Options{})
	statuses := make([]int, 0, 11)
	for range 11 {
		statuses = append(statuses, c.get("/siem/v1/security_events?service=gmail&event=ransomware", trendToken).status)
	}
	if want := append(slices.Repeat([]int{200}, 10), 429); !slices.Equal(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
}

func TestTrendFaultsAnswerInTrendFormat(t *testing.T) {
	sim, c := start(t, trendOpts(0))
	sim.SetFaults(Faults{Rate429: 1, RetryAfterSeconds: 3})
	resp := c.get("/v1/siem/security_events?service=box&event=dlp", trendToken)
	trendError(t, resp, http.StatusTooManyRequests, -4290001)
	if resp.header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", resp.header.Get("Retry-After"))
	}
	sim.SetFaults(Faults{Rate500: 1})
	trendError(t, c.get("/v1/siem/security_events?service=box&event=dlp", trendToken), http.StatusInternalServerError, -5000001)
}

func TestTrendForeignNextHostFault(t *testing.T) {
	sim, c := start(t, trendOpts(500))
	sim.SetFaults(Faults{ForeignNextHost: "127.0.0.2:9"})
	var p trendResponse
	decode(t, c.get(trendQuery("box", "dlp", fixedEnd.Add(-25*time.Hour), fixedEnd, 1), trendToken).body, &p)
	if !strings.HasPrefix(p.NextLink, "http://127.0.0.2:9/") {
		t.Fatalf("next_link %q", p.NextLink)
	}
}

func TestTrendShuffledPagesServeTheWindowOnce(t *testing.T) {
	plainOpts := trendOpts(0)
	plainOpts.Backlogs = map[string]int{"trend_cas/security_event": 3000}
	opts := plainOpts
	opts.TrendCASShuffledPages = true
	_, shuffled := start(t, opts)
	_, plain := start(t, plainOpts)
	path := trendQuery("exchange", "dlp", fixedEnd.Add(-25*time.Hour), fixedEnd, 5)
	inTime := eventIDs(walkPair(t, plain, path))
	walk := walkPair(t, shuffled, path)
	got := eventIDs(walk)
	if len(inTime) < 20 || len(got) != len(inTime) || !sameSet(got, inTime) {
		t.Fatalf("a shuffled walk served %d events, the ordered one %d; the same set: %v", len(got), len(inTime), sameSet(got, inTime))
	}
	if slices.Equal(got, inTime) {
		t.Error("the shuffled walk came in time order")
	}
	if other := eventIDs(walkPair(t, shuffled, path)); slices.Equal(other, got) || !sameSet(other, got) {
		t.Error("a second walk of the window came in the same order, or with other events")
	}

	var first trendResponse
	decode(t, shuffled.get(path, trendToken).body, &first)
	next, err := url.Parse(first.NextLink)
	if err != nil || next.Query().Get(trendOrderParam) == "" {
		t.Fatalf("next_link %q carries no order", first.NextLink)
	}
	trendError(t, shuffled.get(path+"&"+trendOrderParam+"=zz", trendToken), http.StatusBadRequest, -4000001)
}

func eventIDs(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev["log_item_id"].(string)
	}
	return out
}

func TestTrendRefusesWindowsBeyondTheHorizon(t *testing.T) {
	_, c := start(t, Options{Seed: 8, TrendCASPerMinute: -1, TrendCASPerDay: -1})
	now := time.Now()
	if resp := c.get(trendQuery("box", "dlp", now.Add(-71*time.Hour), now, 200), trendToken); resp.status != http.StatusOK {
		t.Fatalf("a window beginning 71 hours back: %d %s", resp.status, resp.body)
	}
	for name, path := range map[string]string{
		"start 73 hours back": trendQuery("box", "dlp", now.Add(-73*time.Hour), now.Add(-72*time.Hour+time.Minute), 200),
		"only an end, 72 hours back": "/v1/siem/security_events?" + qs("service", "box", "event", "dlp",
			"end", now.Add(-72*time.Hour).UTC().Format(trendTimeFormat)),
	} {
		e := trendError(t, c.get(path, trendToken), http.StatusBadRequest, -4000001)
		if !strings.HasPrefix(e.Msg, "Invalid time range: ") || !strings.Contains(e.Msg, "72 hours") || strings.Contains(e.Msg, "not supported") {
			t.Errorf("%s: message %q", name, e.Msg)
		}
	}
	from := now.Add(-73 * time.Hour).UTC().Format(trendTimeFormat)
	e := trendError(t, c.get(trendQuery("box", "dlp", now.Add(-73*time.Hour), now.Add(-72*time.Hour), 10), trendToken), http.StatusBadRequest, -4000001)
	if !strings.Contains(e.Msg, from) {
		t.Errorf("message %q does not name the window's start %s", e.Msg, from)
	}

	opts := trendOpts(0)
	opts.TrendCASHorizon = 100 * time.Hour
	_, longer := start(t, opts)
	if resp := longer.get(trendQuery("box", "dlp", now.Add(-73*time.Hour), now.Add(-72*time.Hour), 10), trendToken); resp.status != http.StatusOK {
		t.Errorf("73 hours back under a 100-hour horizon: %d %s", resp.status, resp.body)
	}
}

func TestTrendUnknownPairIsToldApart(t *testing.T) {
	_, c := start(t, trendOpts(0))
	for path, want := range map[string]string{
		trendQuery("myspace", "dlp", fixedEnd.Add(-time.Hour), fixedEnd, 10):  `Invalid parameter: service "myspace" is not supported`,
		trendQuery("box", "phishing", fixedEnd.Add(-time.Hour), fixedEnd, 10): `Invalid parameter: event "phishing" is not supported`,
	} {
		if e := trendError(t, c.get(path, trendToken), http.StatusBadRequest, -4000001); e.Msg != want {
			t.Errorf("message %q, want %q", e.Msg, want)
		}
	}
	for _, path := range []string{
		trendQuery("box", "dlp", fixedEnd.Add(-time.Hour), fixedEnd, 501),
		trendQuery("box", "dlp", fixedEnd, fixedEnd.Add(-time.Hour), 10),
	} {
		if e := trendError(t, c.get(path, trendToken), http.StatusBadRequest, -4000001); strings.Contains(e.Msg, "not supported") {
			t.Errorf("a request the client can mend says %q", e.Msg)
		}
	}
}
