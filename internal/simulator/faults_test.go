package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		check  func(t *testing.T, resp response)
		stat   string
	}{
		{"429", Faults{Rate429: 1, RetryAfterSeconds: 7}, func(t *testing.T, resp response) {
			if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") != "7" {
				t.Errorf("%d Retry-After %q, want 429 with 7", resp.status, resp.header.Get("Retry-After"))
			}
		}, "rate_429"},
		{"500", Faults{Rate500: 1}, func(t *testing.T, resp response) {
			if resp.status != http.StatusInternalServerError || !json.Valid(resp.body) {
				t.Errorf("%d %s, want 500 with a JSON error", resp.status, resp.body)
			}
		}, "rate_500"},
		{"truncated body", Faults{TruncateBody: 1}, func(t *testing.T, resp response) {
			if resp.status != http.StatusOK || json.Valid(resp.body) || len(resp.body) < 100 {
				t.Errorf("%d with %d bytes, valid JSON %v: want 200 with half a JSON body", resp.status, len(resp.body), json.Valid(resp.body))
			}
		}, "truncate_body"},
		{"foreign next host", Faults{ForeignNextHost: "127.0.0.2:9"}, func(t *testing.T, resp response) {
			var p halResponse
			decode(t, resp.body, &p)
			next, err := url.Parse(p.Links["next"].Href)
			if err != nil || next.Host != "127.0.0.2:9" || next.Query().Get("page") != "1" {
				t.Errorf("next link %q, want page 1 on 127.0.0.2:9", p.Links["next"].Href)
			}
			if strings.Contains(p.Links["first"].Href, "127.0.0.2") {
				t.Errorf("first link %q moved too", p.Links["first"].Href)
			}
		}, "foreign_next_host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := start(t, Options{Seed: 11, Backlog: 50})
			token := c.token()
			sim.SetFaults(tc.faults)
			tc.check(t, c.get("/api/2.0/alarms", token))
			if got := sim.Stats().Faults[tc.stat]; got != 1 {
				t.Errorf("stats count %d %s faults, want 1", got, tc.stat)
			}
			// Only the data endpoints misbehave.
			if resp := c.tokenRequest("sim-client", "sim-secret", "grant_type=client_credentials", ""); resp.status != http.StatusOK || !json.Valid(resp.body) {
				t.Errorf("token endpoint: %d %s", resp.status, resp.body)
			}
			if resp := c.get("/_sim/stats", ""); resp.status != http.StatusOK || !json.Valid(resp.body) {
				t.Errorf("/_sim/stats: %d %s", resp.status, resp.body)
			}
			sim.SetFaults(Faults{})
			if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK || !json.Valid(resp.body) {
				t.Errorf("faults off: %d", resp.status)
			}
		})
	}
}

func TestFaultRatesFollowProbabilities(t *testing.T) {
	sim, c := start(t, Options{Seed: 12, Backlog: 5, RateLimit: -1})
	token := c.token()
	sim.SetFaults(Faults{Rate429: 0.2, Rate500: 0.2})
	statuses := map[int]int{}
	for range 200 {
		statuses[c.get("/api/2.0/events", token).status]++
	}
	for _, status := range []int{200, 429, 500} {
		if statuses[status] < 20 {
			t.Errorf("statuses %v: too few %d", statuses, status)
		}
	}
}

func TestDelayFault(t *testing.T) {
	sim, c := start(t, Options{Seed: 13, Backlog: 5})
	token := c.token()
	sim.SetFaults(Faults{Delay: 150 * time.Millisecond})
	began := time.Now()
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
		t.Fatalf("status %d", resp.status)
	}
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("answered in %s, want at least the 150ms delay", took)
	}
	began = time.Now()
	c.token()
	if took := time.Since(began); took > 100*time.Millisecond {
		t.Errorf("token endpoint delayed %s", took)
	}
}

func TestRevokeEveryFault(t *testing.T) {
	sim, c := start(t, Options{Seed: 14, Backlog: 5})
	token := c.token()
	sim.SetFaults(Faults{RevokeEvery: 50 * time.Millisecond})
	deadline := time.Now().Add(2 * time.Second)
	for c.get("/api/2.0/alarms", token).status != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("token still accepted 2s into revoking every 50ms")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if sim.Stats().Faults["revoke_every"] == 0 {
		t.Error("stats count no scheduled revocation")
	}
	sim.SetFaults(Faults{})
	token = c.token()
	time.Sleep(150 * time.Millisecond)
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
		t.Errorf("token revoked after RevokeEvery was switched off: %d", resp.status)
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	sim, c := start(t, Options{Seed: 15})
	post := func(body string) response {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/faults", strings.NewReader(body))
		return c.do(req)
	}
	resp := post(`{"rate_429": 0.5, "retry_after_seconds": 3, "reset_rate": 0.1, "stall_rate": 0.2, "stall_for": "3s", "delay": "20ms", "revoke_every": "1m", "foreign_next_host": "127.0.0.2:9", "cisco_repeat_cursor": 0.25}`)
	if resp.status != http.StatusOK {
		t.Fatalf("POST /_sim/faults: %d %s", resp.status, resp.body)
	}
	want := Faults{Rate429: 0.5, RetryAfterSeconds: 3, ResetRate: 0.1, StallRate: 0.2, StallFor: 3 * time.Second, Delay: 20 * time.Millisecond, RevokeEvery: time.Minute, ForeignNextHost: "127.0.0.2:9", CiscoRepeatCursor: 0.25}
	if got := sim.Faults(); got != want {
		t.Errorf("faults in force %+v, want %+v", got, want)
	}
	var got Faults
	decode(t, c.get("/_sim/faults", "").body, &got)
	if got != want {
		t.Errorf("GET /_sim/faults %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"rate_429": 1.5}`, `{"cisco_repeat_cursor": -1}`, `{"rate_4290": 0.1}`, `{"delay": "soon"}`, `{"delay": "-1s"}`, `not json`} {
		if resp := post(bad); resp.status != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, resp.status)
		}
	}
	if sim.Faults() != want {
		t.Error("a refused POST changed the faults")
	}
}

func TestRateLimit(t *testing.T) {
	sim, c := start(t, Options{Seed: 16, Backlog: 5, RateLimit: 5})
	token := c.token()
	for i := range 5 {
		if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, resp.status)
		}
	}
	resp := c.get("/api/2.0/alarms", token)
	if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") != "1" {
		t.Fatalf("request over the limit: %d, Retry-After %q; want 429 with 1", resp.status, resp.header.Get("Retry-After"))
	}
	if st := sim.Stats(); st.RateLimited != 1 || st.Faults["rate_429"] != 0 {
		t.Errorf("stats: %d rate limited, %d fault 429s; want 1 and 0", st.RateLimited, st.Faults["rate_429"])
	}
	time.Sleep(250 * time.Millisecond) // a token every 200ms
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
		t.Errorf("after waiting: %d", resp.status)
	}
	// The limit is per API client; the token endpoint is not limited.
	for range 10 {
		c.token()
	}
}

func TestResetFaultDropsTheConnection(t *testing.T) {
	sim, c := start(t, Options{Seed: 16, Backlog: 5})
	token := c.token()
	sim.SetFaults(Faults{ResetRate: 1})
	req, _ := http.NewRequest(http.MethodGet, c.base+"/api/2.0/alarms", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := c.http.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got a %d answer, want the connection dropped", resp.StatusCode)
	}
	if sim.Stats().Faults["reset"] == 0 {
		t.Error("stats count no reset")
	}
}

func TestStallFaultOutlastsTheClientTimeout(t *testing.T) {
	sim, c := start(t, Options{Seed: 17, Backlog: 5})
	token := c.token()
	sim.SetFaults(Faults{StallRate: 1, StallFor: time.Minute})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, c.base+"/api/2.0/alarms", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got a %d answer within the client's timeout, want a stall", resp.StatusCode)
	}
	sim.SetFaults(Faults{StallRate: 1, StallFor: 10 * time.Millisecond})
	if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
		t.Errorf("a short stall ended in %d, want the page", resp.status)
	}
}
