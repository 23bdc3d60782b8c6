package simulator

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestLatencyOf(t *testing.T) {
	o := Options{Latency: map[string]time.Duration{"*": time.Second, usmAnywhere: 100 * time.Millisecond, ciscoSource: 0}}
	for source, want := range map[string]time.Duration{usmAnywhere: 100 * time.Millisecond, ciscoSource: 0, trendCAS: time.Second} {
		if got := o.latencyOf(source); got != want {
			t.Errorf("%s: latency %s, want %s", source, got, want)
		}
	}
	if got := (Options{}).latencyOf(usmAnywhere); got != 0 {
		t.Errorf("latency %s without any set", got)
	}
}

// TestLatencyDelaysEachRequestOnItsOwn sends concurrent requests to a source answering after a
// second: each waits its latency, and they wait side by side, all begun before the first ends.
func TestLatencyDelaysEachRequestOnItsOwn(t *testing.T) {
	const latency = time.Second
	sim, c := start(t, Options{Seed: 91, Backlog: 5, RecordRequests: true, Latency: map[string]time.Duration{usmAnywhere: latency}})
	token := c.token()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if resp := c.get("/api/2.0/alarms", token); resp.status != http.StatusOK {
				t.Errorf("alarms: %d", resp.status)
			}
		})
	}
	wg.Wait()
	var firstEnd, lastStart time.Time
	for _, r := range sim.Requests() {
		if r.Path != "/api/2.0/alarms" {
			continue
		}
		if took := r.End.Sub(r.Start); took < latency {
			t.Errorf("a request answered after %s, within its latency", took)
		}
		if firstEnd.IsZero() || r.End.Before(firstEnd) {
			firstEnd = r.End
		}
		if r.Start.After(lastStart) {
			lastStart = r.Start
		}
	}
	if !lastStart.Before(firstEnd) {
		t.Errorf("the last request began at %v, after the first ended at %v: they were served one at a time", lastStart, firstEnd)
	}
}
