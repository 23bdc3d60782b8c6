package simulator

import (
	"net/http"
	"testing"
	"time"
)

func TestRequestsAreRecordedWithTheClientIdentity(t *testing.T) {
	sim, c := start(t, Options{Seed: 1, Backlog: 5, BacklogEnd: fixedEnd, RecordRequests: true})
	tok := c.token()
	before := time.Now()
	req, err := http.NewRequest(http.MethodGet, c.base+"/api/2.0/alarms?page=0&size=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(ClientHeader, "replica-2")
	if resp := c.do(req); resp.status != http.StatusOK {
		t.Fatalf("alarms: %d %s", resp.status, resp.body)
	}
	c.get("/_sim/stats", "")

	got := sim.Requests()
	if len(got) != 2 {
		t.Fatalf("recorded %+v, want the token and the alarms request (control requests are not API requests)", got)
	}
	if got[0].Path != "/api/2.0/oauth/token" || got[0].Client != "" || got[0].Method != http.MethodPost {
		t.Errorf("token request recorded as %+v", got[0])
	}
	alarms := got[1]
	if alarms.Client != "replica-2" || alarms.Path != "/api/2.0/alarms" || alarms.Query != "page=0&size=2" {
		t.Errorf("alarms request recorded as %+v", alarms)
	}
	if alarms.Start.Before(before) || alarms.End.Before(alarms.Start) {
		t.Errorf("alarms request times: start %v end %v, sent after %v", alarms.Start, alarms.End, before)
	}

	var viaControl []Request
	decode(t, c.get("/_sim/requests", "").body, &viaControl)
	if len(viaControl) != 2 || viaControl[1].Client != "replica-2" {
		t.Errorf("/_sim/requests: %+v", viaControl)
	}
}

func TestRequestsAreNotRecordedByDefault(t *testing.T) {
	sim, c := start(t, Options{Seed: 1})
	c.token()
	if got := sim.Requests(); got != nil {
		t.Errorf("recorded %+v without RecordRequests", got)
	}
	if resp := c.get("/_sim/requests", ""); string(resp.body) != "[]\n" {
		t.Errorf("/_sim/requests: %q", resp.body)
	}
}
