package simulator

import (
	"net/http"
	"testing"
	"time"
)

func TestBurstAddsRecordsOccurringNow(t *testing.T) {
	sim, c := start(t, Options{Seed: 31, Backlog: 5})
	before := time.Now().UnixMilli()
	if err := sim.Burst(usmAnywhere, "alarm", 20); err != nil {
		t.Fatal(err)
	}
	ids := sim.IDs(usmAnywhere, "alarm")
	if len(ids) < 25 {
		t.Fatalf("%d alarms after a burst of 20 on 5, want at least 25", len(ids))
	}
	items, _ := sim.store(usmAnywhere, "alarm").page(query{from: before, to: time.Now().UnixMilli(), limit: 1000})
	if len(items) < 20 {
		t.Errorf("%d alarms occurred since the burst began, want at least 20", len(items))
	}

	req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/burst?source=usm_anywhere&kind=event&n=3", nil)
	if resp := c.do(req); resp.status != http.StatusNoContent {
		t.Errorf("POST /_sim/burst: %d %s", resp.status, resp.body)
	}
	if n := len(sim.IDs(usmAnywhere, "event")); n < 8 {
		t.Errorf("%d events after a burst of 3 on 5, want at least 8", n)
	}
	for _, bad := range []string{"source=nobody&kind=alarm&n=3", "source=usm_anywhere&kind=alarm&n=0", "source=usm_anywhere&kind=alarm&n=x"} {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/burst?"+bad, nil)
		if resp := c.do(req); resp.status != http.StatusBadRequest {
			t.Errorf("POST /_sim/burst?%s: %d, want 400", bad, resp.status)
		}
	}
}
