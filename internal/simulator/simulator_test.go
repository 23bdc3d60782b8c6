package simulator

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestSameSeedSameBacklog(t *testing.T) {
	opts := Options{Seed: 21, Backlog: 300, BacklogEnd: fixedEnd}
	a, b := New(opts), New(opts)
	defer a.Close()
	defer b.Close()
	for _, kind := range []string{"alarm", "event"} {
		ids := a.IDs(usmAnywhere, kind)
		if len(ids) != 300 || !slices.Equal(ids, b.IDs(usmAnywhere, kind)) {
			t.Errorf("%s: ids differ between two simulators of one seed", kind)
		}
		if !reflect.DeepEqual(a.store(usmAnywhere, kind).byTime, b.store(usmAnywhere, kind).byTime) {
			t.Errorf("%s: records differ between two simulators of one seed", kind)
		}
	}

	other := New(Options{Seed: 22, Backlog: 300, BacklogEnd: fixedEnd})
	defer other.Close()
	if slices.Equal(a.IDs(usmAnywhere, "alarm"), other.IDs(usmAnywhere, "alarm")) {
		t.Error("seeds 21 and 22 generated the same alarms")
	}
}

func TestArrivalsKeepComing(t *testing.T) {
	sim := New(Options{Seed: 23, Backlog: 10, ArrivalsPerSecond: 100})
	defer sim.Close()
	time.Sleep(300 * time.Millisecond)
	for _, kind := range []string{"alarm", "event"} {
		ids := sim.IDs(usmAnywhere, kind)
		if len(ids) < 25 {
			t.Errorf("%s: %d records 300ms into 100 arrivals/s after a backlog of 10", kind, len(ids))
		}
		st := sim.store(usmAnywhere, kind)
		st.mu.RLock()
		newest := st.byTime[len(st.byTime)-1].occurred
		st.mu.RUnlock()
		if age := time.Since(time.UnixMilli(newest)); age > time.Second {
			t.Errorf("%s: newest record occurred %s ago, want about now", kind, age)
		}
	}
	sim.Close()
	n := len(sim.IDs(usmAnywhere, "alarm"))
	time.Sleep(50 * time.Millisecond)
	if len(sim.IDs(usmAnywhere, "alarm")) != n {
		t.Error("records still arrive after Close")
	}
}

func TestLateArrivals(t *testing.T) {
	sim := New(Options{Seed: 24, ArrivalsPerSecond: 200, LateArrivalFraction: 1, LateArrivalMax: time.Minute})
	defer sim.Close()
	time.Sleep(200 * time.Millisecond)
	st := sim.store(usmAnywhere, "event")
	st.mu.RLock()
	defer st.mu.RUnlock()
	if len(st.byTime) < 10 {
		t.Fatalf("only %d arrivals", len(st.byTime))
	}
	late := 0
	for _, r := range st.byTime {
		age := time.Since(time.UnixMilli(r.occurred))
		if age > time.Minute+time.Second {
			t.Errorf("record occurred %s ago, beyond LateArrivalMax", age)
		}
		if age > 2*time.Second {
			late++
		}
	}
	if late < len(st.byTime)/2 {
		t.Errorf("%d of %d records late, want most of them", late, len(st.byTime))
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sim, c := start(t, Options{Seed: 25, Backlog: 10, ArrivalsPerSecond: 50})
	sim.SetFaults(Faults{RevokeEvery: 10 * time.Millisecond, Delay: time.Millisecond})
	c.get("/api/2.0/alarms", c.token())
	c.http.CloseIdleConnections()
	sim.Close()
	sim.Close() // idempotent
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestHandlerServesWithoutStart(t *testing.T) {
	sim := New(Options{Seed: 26, Backlog: 3})
	defer sim.Close()
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c := &testClient{t: t, base: srv.URL, http: srv.Client()}
	if p := c.page("/api/2.0/alarms", c.token()); len(p.items("alarms")) != 3 {
		t.Errorf("%d alarms, want 3", len(p.items("alarms")))
	}
}

func TestStartTwice(t *testing.T) {
	sim, _ := start(t, Options{})
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestControlEndpoints(t *testing.T) {
	sim, c := start(t, Options{Seed: 27, Backlog: 40})
	if resp := c.get("/_sim/healthz", ""); resp.status != http.StatusOK {
		t.Errorf("healthz: %d", resp.status)
	}

	var ids []string
	decode(t, c.get("/_sim/ids?source=usm_anywhere&kind=event", "").body, &ids)
	if !slices.Equal(ids, sim.IDs(usmAnywhere, "event")) || len(ids) != 40 {
		t.Errorf("/_sim/ids: %d ids, not the %d generated", len(ids), len(sim.IDs(usmAnywhere, "event")))
	}
	if resp := c.get("/_sim/ids?source=usm_anywhere&kind=incident", ""); resp.status != http.StatusNotFound {
		t.Errorf("/_sim/ids of an unknown stream: %d, want 404", resp.status)
	}
	if sim.IDs("nobody", "alarm") != nil {
		t.Error("IDs of an unknown stream is not nil")
	}

	token := c.token()
	c.get("/api/2.0/alarms", token)
	c.get("/api/2.0/alarms", "")
	var st Stats
	decode(t, c.get("/_sim/stats", "").body, &st)
	want := map[string]map[int]int64{
		"/api/2.0/oauth/token": {200: 1},
		"/api/2.0/alarms":      {200: 1, 401: 1},
	}
	if !reflect.DeepEqual(st.Requests, want) || st.TokensIssued != 1 || st.Records["usm_anywhere/alarm"] != 40 {
		t.Errorf("/_sim/stats: %+v; want requests %v, 1 token, 40 alarms", st, want)
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	for _, o := range []Options{{Backlog: -1}, {LateArrivalFraction: 2}, {EventsEmbeddedKey: "items"}} {
		if o.Validate() == nil {
			t.Errorf("%+v validated", o)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			New(o).Close()
		}()
	}
}

func TestBacklogsOverrideBacklogPerStream(t *testing.T) {
	sim := New(Options{Seed: 24, Backlog: 3, Backlogs: map[string]int{"usm_anywhere/alarm": 50, "cisco_gta/event": 0}})
	defer sim.Close()
	if n := len(sim.IDs(usmAnywhere, "alarm")); n != 50 {
		t.Errorf("usm_anywhere/alarm: %d records, want the 50 Backlogs names", n)
	}
	if n := len(sim.IDs(usmAnywhere, "event")); n != 3 {
		t.Errorf("usm_anywhere/event: %d records, want Backlog's 3", n)
	}
	if n := len(sim.IDs(ciscoSource, "event")); n != 0 {
		t.Errorf("cisco_gta/event: %d records, want none", n)
	}
	for _, bad := range []map[string]int{{"usm_anywhere/alarms": 1}, {"usm_anywhere/alarm": -1}} {
		if err := (Options{Backlogs: bad}).Validate(); err == nil {
			t.Errorf("Backlogs %v accepted", bad)
		}
	}
}
