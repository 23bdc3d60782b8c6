package simulator

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestUsageCountsTheBusiestWindows(t *testing.T) {
	u := newUsage()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	u.now = func() time.Time { return now }
	at := func(offsets ...time.Duration) {
		for _, d := range offsets {
			now = t0.Add(d)
			u.data(usmAnywhere, "client")
		}
	}
	ms := time.Millisecond
	// 4 within 300ms, then 3 more a second later: no second holds more than 4, the minute all 7.
	at(0, 100*ms, 200*ms, 300*ms, 1500*ms, 1600*ms, 1700*ms)
	u.token(usmAnywhere, "client")
	// A minute on, (1s, 61s] holds 1.5s, 1.6s, 1.7s, 60.3s and 61s: 5, fewer than 7.
	at(60300*ms, 61000*ms)
	got := u.snapshot()[usmAnywhere]["client"]
	if want := (CredentialUsage{Requests: 10, DataRequests: 9, MaxDataPerSecond: 4, MaxDataPerMinute: 7}); got != want {
		t.Errorf("usage %+v, want %+v", got, want)
	}
	if l := u.byKey[usageKey{usmAnywhere, "client"}]; len(l.recent) != 5 {
		t.Errorf("%d arrivals kept, want the 5 of the last minute", len(l.recent))
	}
	// 4 more at 61s: (60s, 61s] holds 6, and (1s, 61s] 9.
	at(61000*ms, 61000*ms, 61000*ms, 61000*ms)
	got = u.snapshot()[usmAnywhere]["client"]
	if got.MaxDataPerSecond != 6 || got.MaxDataPerMinute != 9 {
		t.Errorf("usage %+v, want 6 a second and 9 a minute at most", got)
	}
}

// TestUsagePerCredentialAcrossClients: two clients sharing a credential count as one, the
// Trend token counts under itself, and requests without a valid credential under "".
func TestUsagePerCredentialAcrossClients(t *testing.T) {
	sim, a := start(t, Options{Seed: 92, Backlog: 3, TrendCASPerMinute: -1})
	b := &testClient{t: t, base: a.base, http: &http.Client{Timeout: 5 * time.Second}}
	ta, tb := a.token(), b.token()
	for range 3 {
		a.get("/api/2.0/alarms", ta)
		b.get("/api/2.0/events", tb)
	}
	a.get("/api/2.0/alarms", "forged")
	b.get("/v1/siem/security_events?service=box&event=dlp", trendToken)
	b.get("/v1/siem/security_events?service=box&event=dlp", "wrong")
	b.ciscoToken()

	var st Stats
	decode(t, a.get("/_sim/stats", "").body, &st)
	// However slowly they were sent, the 6 data requests took less than a minute, and at least
	// one came in any second one did.
	shared := st.Credentials[usmAnywhere]["sim-client"]
	if shared.MaxDataPerSecond < 1 || shared.MaxDataPerSecond > 6 {
		t.Errorf("%d requests at most in a second, of 6", shared.MaxDataPerSecond)
	}
	shared.MaxDataPerSecond = 6
	st.Credentials[usmAnywhere]["sim-client"] = shared
	want := map[string]map[string]CredentialUsage{
		usmAnywhere: {
			"sim-client": {Requests: 8, DataRequests: 6, MaxDataPerSecond: 6, MaxDataPerMinute: 6},
			"":           {Requests: 1, DataRequests: 1, MaxDataPerSecond: 1, MaxDataPerMinute: 1},
		},
		trendCAS: {
			trendToken: {Requests: 1, DataRequests: 1, MaxDataPerSecond: 1, MaxDataPerMinute: 1},
			"":         {Requests: 1, DataRequests: 1, MaxDataPerSecond: 1, MaxDataPerMinute: 1},
		},
		ciscoSource: {"sim-client": {Requests: 1}},
	}
	if !reflect.DeepEqual(st.Credentials, want) {
		t.Errorf("/_sim/stats credentials %+v\nwant %+v", st.Credentials, want)
	}
	if got := sim.Stats().Credentials[trendCAS]; !reflect.DeepEqual(got, want[trendCAS]) {
		t.Errorf("Stats().Credentials of Trend %+v", got)
	}
}
