package simulator

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// openIDs lists the ids of the stream's records whose status (at path) is open.
func openIDs(sim *Simulator, source string, path []string) []string {
	var ids []string
	for _, r := range sim.Records(source, "alarm") {
		if fieldAt(r.Fields, path) == "open" {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// TestClosingShiftsOffsetPages closes alarms between two pages of an offset walk through
// status=open: the total drops by the number closed, and the closed ones leave the list.
func TestClosingShiftsOffsetPages(t *testing.T) {
	sim, c := start(t, Options{Seed: 51, Backlog: 300, BacklogEnd: fixedEnd})
	token := c.token()
	path := "/api/2.0/alarms?" + qs("status", "open", "size", "20", "sort", "timestamp_occured,asc")
	first := c.page(path+"&page=0", token)
	openBefore := openIDs(sim, usmAnywhere, []string{"status"})
	if first.Page.TotalElements != len(openBefore) || len(openBefore) < 100 {
		t.Fatalf("total %d open, Records say %d", first.Page.TotalElements, len(openBefore))
	}

	closedAt := time.Now()
	sim.store(usmAnywhere, "alarm").closeRandom(30, closedAt)

	closed := sim.Closed(usmAnywhere, "alarm")
	if len(closed) != 30 {
		t.Fatalf("Closed lists %d alarms, want the 30 closed", len(closed))
	}
	served := map[string]bool{}
	for p := 0; ; p++ {
		page := c.page(path+"&page="+msString(int64(p)), token)
		if page.Page.TotalElements != len(openBefore)-30 {
			t.Fatalf("page %d: total %d, want %d", p, page.Page.TotalElements, len(openBefore)-30)
		}
		for _, a := range page.items("alarms") {
			served[recordID(a)] = true
		}
		if _, more := page.Links["next"]; !more {
			break
		}
	}
	var olderHalf int
	for id, when := range closed {
		if served[id] {
			t.Errorf("closed alarm %s still listed as open", id)
		}
		if !slices.Contains(openBefore, id) || !when.Equal(closedAt.Truncate(time.Millisecond)) {
			t.Errorf("alarm %s closed at %v: was it open, and closed at %v?", id, when, closedAt)
		}
		if slices.Index(openBefore, id) < len(openBefore)/2 {
			olderHalf++
		}
	}
	if olderHalf == 0 {
		t.Error("no alarm of the older half closed: picks must reach far back")
	}
	for _, r := range sim.Records(usmAnywhere, "alarm") {
		if when, ok := closed[r.ID]; ok && (r.Fields["status"] != "closed" || !r.Closed.Equal(when)) || !ok && !r.Closed.IsZero() {
			t.Errorf("alarm %s: Closed says %v (listed: %v), status %v", r.ID, r.Closed, ok, r.Fields["status"])
		}
	}
}

// TestAlarmsCloseWhilePagesAreServed runs the closing schedule on both USM alarm streams while
// clients read them (under -race this shows that a page never sees a map being changed), and
// checks USM Central's nested alarm.status.
func TestAlarmsCloseWhilePagesAreServed(t *testing.T) {
	sim, c := start(t, Options{Seed: 52, Backlog: 400, AlarmsClosedPerSecond: 500, RateLimit: -1})
	token := c.token()
	openCentral := len(openIDs(sim, usmCentral, []string{"alarm", "status"}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.get("/api/2.0/alarms?status=open&size=100", token)
				c.search("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 100, "find": map[string][]string{"alarm.status": {"open"}}})
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sim.Closed(usmCentral, "alarm")) < 50 || len(sim.Closed(usmAnywhere, "alarm")) < 50 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 50 alarms closed per stream 5s into closing 500 a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	closed := sim.Closed(usmCentral, "alarm")
	open := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1000, "find": map[string][]string{"alarm.status": {"open"}}})
	for _, r := range open.Results {
		if _, ok := closed[r["id"].(string)]; ok {
			t.Fatalf("closed alarm %s found with alarm.status open", r["id"])
		}
	}
	if got := open.Total + len(sim.Closed(usmCentral, "alarm")); got < openCentral {
		t.Errorf("open %d + closed %d < %d open at the start", open.Total, len(closed), openCentral)
	}
	if n := len(sim.Closed(usmAnywhere, "event")); n != 0 {
		t.Errorf("%d events closed: only alarms have a status", n)
	}
}

func TestDeviceClockAhead(t *testing.T) {
	sim, c := start(t, Options{Seed: 53, FutureFraction: 1, RateLimit: -1, TrendCASPerMinute: -1, TrendCASPerDay: -1})
	token := c.token()
	before := time.Now()
	for _, s := range []streamKey{{usmAnywhere, "alarm"}, {usmCentral, "alarm"}, {trendCAS, trendKind}, {ciscoSource, "alert"}} {
		if err := sim.Burst(s.source, s.kind, 10); err != nil {
			t.Fatal(err)
		}
		for _, r := range sim.Records(s.source, s.kind) {
			ahead := r.Occurred.Sub(r.Received)
			if want := 24 * time.Hour; s.source != ciscoSource && ahead != want || s.source == ciscoSource && ahead != 0 {
				t.Fatalf("%s: record %s occurred %s after it was received", s, r.ID, ahead)
			}
		}
	}
	now := time.Now().UnixMilli()
	// USM Anywhere: a window ending now leaves them out; an open-ended one returns them.
	if p := c.page("/api/2.0/alarms?"+qs("timestamp_occured_lte", msString(now)), token); p.Page.TotalElements != 0 {
		t.Errorf("USM Anywhere up to now: %d alarms, want none", p.Page.TotalElements)
	}
	if p := c.page("/api/2.0/alarms?"+qs("timestamp_occured_gte", msString(before.UnixMilli())), token); p.Page.TotalElements < 10 {
		t.Errorf("USM Anywhere open-ended: %d alarms, want the burst", p.Page.TotalElements)
	}
	// USM Central: the same, with "now" as the bound.
	field := "alarm.timestamp_occured"
	upToNow := c.searchOK("/api/1.1/alarms", token, map[string]any{"range": map[string]any{field: map[string]string{"lte": "now"}}})
	openEnded := c.searchOK("/api/1.1/alarms", token, map[string]any{"range": map[string]any{field: map[string]string{"gte": msString(before.UnixMilli())}}})
	if upToNow.Total != 0 || openEnded.Total < 10 {
		t.Errorf("USM Central: %d up to now (want 0), %d open-ended (want the burst)", upToNow.Total, openEnded.Total)
	}
	// Trend: every pair's window up to now is empty; a window reaching a day ahead has them all.
	var past, ahead int
	for _, s := range trendServices {
		for _, e := range trendEvents {
			past += len(walkPair(t, c, trendQuery(s.name, e[0], before.Add(-time.Hour), time.UnixMilli(now), 500)))
			ahead += len(walkPair(t, c, trendQuery(s.name, e[0], before.Add(-time.Hour), before.Add(25*time.Hour), 500)))
		}
	}
	if past != 0 || ahead != len(sim.IDs(trendCAS, trendKind)) {
		t.Errorf("Trend: %d events up to now (want 0), %d up to a day ahead (want %d)", past, ahead, len(sim.IDs(trendCAS, trendKind)))
	}
}

func TestDeviceClockAheadInTheBacklogOnlyWhenAsked(t *testing.T) {
	for _, inBacklog := range []bool{false, true} {
		sim := New(Options{Seed: 54, Backlog: 50, BacklogEnd: fixedEnd, Lookback: time.Hour, FutureFraction: 1, FutureSkew: 48 * time.Hour, FutureInBacklog: inBacklog})
		for _, r := range sim.Records(usmAnywhere, "event") {
			if ahead := r.Occurred.After(fixedEnd); ahead != inBacklog || ahead && r.Occurred.Before(fixedEnd.Add(47*time.Hour)) {
				t.Errorf("FutureInBacklog %v: a backlog event occurred at %v, backlog ending %v", inBacklog, r.Occurred, fixedEnd)
			}
		}
		sim.Close()
	}
}

func TestNoMisbehaviourByDefault(t *testing.T) {
	sim := New(Options{Seed: 55, Backlog: 200, BacklogEnd: fixedEnd})
	defer sim.Close()
	if err := sim.Burst(usmAnywhere, "alarm", 50); err != nil {
		t.Fatal(err)
	}
	for _, r := range sim.Records(usmAnywhere, "alarm") {
		if !r.HasID || r.Occurred.After(r.Received) || !r.Closed.IsZero() || !r.HeldUntil.IsZero() {
			t.Fatalf("record %+v misbehaves with default options", r)
		}
	}
	if got := sim.Records("nobody", "alarm"); got != nil {
		t.Errorf("Records of an unknown stream: %v", got)
	}
	if got := sim.Closed("nobody", "alarm"); got != nil {
		t.Errorf("Closed of an unknown stream: %v", got)
	}
}

// TestMisbehavioursLeaveTheRecordsOfASeed: switching misbehaviours on draws from dice of their
// own, so the records a seed generates keep their content.
func TestMisbehavioursLeaveTheRecordsOfASeed(t *testing.T) {
	plain := New(Options{Seed: 56, Backlog: 100, BacklogEnd: fixedEnd})
	defer plain.Close()
	unkind := New(Options{Seed: 56, Backlog: 100, BacklogEnd: fixedEnd, MissingIDFraction: 0.5, FutureFraction: 0.5, FutureInBacklog: true})
	defer unkind.Close()
	if !slices.Equal(plain.IDs(usmAnywhere, "alarm"), unkind.IDs(usmAnywhere, "alarm")) {
		t.Fatal("the misbehaviours changed the ids a seed generates")
	}
	a, b := plain.Records(usmAnywhere, "alarm"), unkind.Records(usmAnywhere, "alarm")
	for i := range a {
		if a[i].Fields["rule_method"] != b[i].Fields["rule_method"] || a[i].Fields["status"] != b[i].Fields["status"] {
			t.Fatalf("record %d: %v / %v differ", i, a[i].Fields["rule_method"], b[i].Fields["rule_method"])
		}
	}
}

func TestInvalidMisbehaviourOptions(t *testing.T) {
	for _, o := range []Options{
		{AlarmsClosedPerSecond: -1}, {FutureFraction: 1.5}, {FutureSkew: -time.Hour}, {MissingIDFraction: -0.1},
		{CentralTotalCap: -1}, {CentralResultWindow: -1},
		{Latency: map[string]time.Duration{"usm_anywhere": -time.Second}}, {Latency: map[string]time.Duration{"usm": time.Second}},
	} {
		if o.Validate() == nil {
			t.Errorf("%+v validated", o)
		}
	}
	if err := (Options{Latency: map[string]time.Duration{"*": time.Second, "cisco_gta": 0}}).Validate(); err != nil {
		t.Errorf("latency for * and a source refused: %v", err)
	}
}
