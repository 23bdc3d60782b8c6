package simulator

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// centralToken fetches a token as the USM Central docs show: grant_type in the query string, or
// as OAuth2 libraries do: in a form body.
func (c *testClient) centralToken(query, form string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/1.1/oauth/token?"+query, strings.NewReader(form))
	if err != nil {
		c.t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth("sim-client", "sim-secret")
	return c.do(req)
}

// search posts a search body (a Go value marshalled, or a raw string) with a bearer token.
func (c *testClient) search(path, token string, body any) response {
	c.t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = string(b)
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(raw))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.do(req)
}

type centralAnswer struct {
	Results []map[string]any `json:"results"`
	Total   int              `json:"total"`
}

func (c *testClient) searchOK(path, token string, body any) centralAnswer {
	c.t.Helper()
	resp := c.search(path, token, body)
	if resp.status != http.StatusOK {
		c.t.Fatalf("POST %s: %d %s", path, resp.status, resp.body)
	}
	var a centralAnswer
	decode(c.t, resp.body, &a)
	return a
}

func walkBody(kind string, page, size int, gte string) map[string]any {
	field := kind + ".timestamp_occured"
	return map[string]any{
		"page": page, "size": size, "find": map[string]any{},
		"sort":  map[string]string{field: "asc"},
		"range": map[string]any{field: map[string]string{"gte": gte, "lte": "now"}},
	}
}

func TestCentralToken(t *testing.T) {
	_, c := start(t, Options{Seed: 1})
	for _, tc := range []struct{ query, form string }{
		{"grant_type=client_credentials", ""},
		{"", "grant_type=client_credentials"},
	} {
		resp := c.centralToken(tc.query, tc.form)
		var tok map[string]any
		decode(t, resp.body, &tok)
		if resp.status != http.StatusOK || tok["access_token"] == "" || tok["token_type"] != "bearer" {
			t.Errorf("query %q form %q: %d %s", tc.query, tc.form, resp.status, resp.body)
		}
	}
}

func TestCentralDeployments(t *testing.T) {
	_, c := start(t, Options{Seed: 1})
	if resp := c.get("/api/1.1/deployments", ""); resp.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.status)
	}
	resp := c.get("/api/1.1/deployments", c.token())
	var deps []map[string]any
	decode(t, resp.body, &deps) // a bare array, not a HAL page
	status := map[string]string{}
	for _, d := range deps {
		if d["id"] != "cn://"+d["fqdn"].(string) || d["displayName"] == "" || d["type"] != "USM Anywhere" {
			t.Errorf("deployment %v", d)
		}
		s := d["connectionStatus"].(string)
		if d["authorized"] == false {
			s = "unauthorized"
		}
		status[d["name"].(string)] = s
	}
	want := map[string]string{"acme": "connected", "globex": "connected", "initech": "disconnected", "umbrella": "unauthorized"}
	if !maps.Equal(status, want) {
		t.Errorf("statuses %v, want %v", status, want)
	}
}

func TestCentralWalkReadsEveryRecordOnceOldestFirst(t *testing.T) {
	for _, kind := range []string{"alarm", "event"} {
		t.Run(kind, func(t *testing.T) {
			sim, c := start(t, Options{Seed: 5, Backlog: 53, BacklogEnd: fixedEnd})
			token := c.token()
			path := "/api/1.1/" + kind + "s"
			var got []string
			tenants := map[string]int{}
			last := int64(0)
			for page := 1; ; page++ {
				a := c.searchOK(path, token, walkBody(kind, page, 10, "0"))
				for _, r := range a.Results {
					got = append(got, r["id"].(string))
					tenants[r["tenantId"].(string)]++
					ms := occurredMs(t, r[kind].(map[string]any))
					if ms < last {
						t.Fatalf("page %d is not in ascending order", page)
					}
					last = ms
				}
				if a.Total != 53 {
					t.Fatalf("total %d, want 53", a.Total)
				}
				if page*10 >= a.Total {
					break
				}
			}
			want := sim.IDs(usmCentral, kind)
			if len(got) != 53 || !sameElements(got, want) {
				t.Errorf("walk read %d records; IDs lists %d, the same: %v", len(got), len(want), sameElements(got, want))
			}
			if len(tenants) != 2 || tenants["cn://acme.alienvault.cloud"] == 0 || tenants["cn://globex.alienvault.cloud"] == 0 {
				t.Errorf("tenants %v, want acme and globex only", tenants)
			}
		})
	}
}

func TestCentralSearchFiltersAndBounds(t *testing.T) {
	_, c := start(t, Options{Seed: 6, Backlog: 200, BacklogEnd: fixedEnd})
	token := c.token()
	all := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1})
	if all.Total != 200 || len(all.Results) != 1 {
		t.Fatalf("no bounds: total %d, %d results", all.Total, len(all.Results))
	}
	open := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1000, "find": map[string][]string{"alarm.status": {"open"}, "alarm.suppressed": {"false"}}})
	for _, r := range open.Results {
		a := r["alarm"].(map[string]any)
		if a["status"] != "open" || a["suppressed"] != false {
			t.Fatalf("find let through %v", a)
		}
	}
	if open.Total == 0 || open.Total >= 200 {
		t.Errorf("open, not suppressed: %d of 200", open.Total)
	}
	either := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1, "find": map[string][]string{"alarm.status": {"open", "closed", "in review"}}})
	acme := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1, "find": map[string][]string{"tenantId": {"cn://acme.alienvault.cloud"}}})
	none := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1, "find": map[string][]string{"status": {"open"}}})
	if either.Total != 200 || acme.Total == 0 || acme.Total == 200 || none.Total != 0 {
		t.Errorf("any of several values %d (want 200), one tenant %d, unprefixed field %d (want 0)", either.Total, acme.Total, none.Total)
	}

	mid := fixedEnd.Add(-12 * 3600e9).UnixMilli()
	later := c.searchOK("/api/1.1/alarms", token, walkBody("alarm", 1, 1, msString(mid)))
	received := c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1,
		"range": map[string]any{"alarm.timestamp_received": map[string]string{"gte": msString(mid)}}})
	if later.Total == 0 || later.Total >= 200 || received.Total != 200 {
		t.Errorf("occurred since the middle: %d; a timestamp_received range is ignored: %d (want 200)", later.Total, received.Total)
	}
}

func TestCentralSearchRefusals(t *testing.T) {
	_, c := start(t, Options{Seed: 1, Backlog: 5})
	token := c.token()
	for name, body := range map[string]any{
		"page 0":         map[string]any{"page": 0, "size": 10},
		"size 0":         map[string]any{"page": 1, "size": 0},
		"sort on a name": map[string]any{"page": 1, "sort": map[string]string{"alarm.rule_method": "asc"}},
		"sort direction": map[string]any{"page": 1, "sort": map[string]string{"alarm.timestamp_occured": "up"}},
		"range bound":    map[string]any{"range": map[string]any{"alarm.timestamp_occured": map[string]string{"gte": "yesterday"}}},
		"find value":     map[string]any{"find": map[string]any{"alarm.status": map[string]string{"a": "b"}}},
		"not JSON":       "{page: 1",
	} {
		if resp := c.search("/api/1.1/alarms", token, body); resp.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, resp.status, resp.body)
		}
	}
	if resp := c.search("/api/1.1/alarms", "", map[string]any{}); resp.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.status)
	}
}

func TestCentralFaults(t *testing.T) {
	sim, c := start(t, Options{Seed: 1, Backlog: 5})
	token := c.token()
	sim.SetFaults(Faults{Rate500: 1})
	if resp := c.search("/api/1.1/alarms", token, walkBody("alarm", 1, 10, "0")); resp.status != http.StatusInternalServerError {
		t.Errorf("search under rate_500=1: %d", resp.status)
	}
	if resp := c.get("/api/1.1/deployments", token); resp.status != http.StatusInternalServerError {
		t.Errorf("deployments under rate_500=1: %d", resp.status)
	}
	if resp := c.centralToken("grant_type=client_credentials", ""); resp.status != http.StatusOK {
		t.Errorf("the token endpoint misbehaved: %d", resp.status)
	}
	sim.SetFaults(Faults{TruncateBody: 1})
	resp := c.search("/api/1.1/alarms", token, walkBody("alarm", 1, 10, "0"))
	if resp.status != http.StatusOK || json.Valid(resp.body) {
		t.Errorf("truncate_body=1: %d, valid JSON %v", resp.status, json.Valid(resp.body))
	}
}

func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// deploymentStatus reads one deployment's connectionStatus from /api/1.1/deployments.
func deploymentStatus(c *testClient, token, name string) string {
	c.t.Helper()
	var deps []map[string]any
	decode(c.t, c.get("/api/1.1/deployments", token).body, &deps)
	for _, d := range deps {
		if d["name"] == name {
			return d["connectionStatus"].(string)
		}
	}
	c.t.Fatalf("no deployment %s", name)
	return ""
}

func TestCentralDeploymentReconnectsWithItsBacklog(t *testing.T) {
	sim, c := start(t, Options{Seed: 71, Backlog: 20})
	token := c.token()
	searchIDs := func() map[string]bool {
		found := map[string]bool{}
		for _, r := range c.searchOK("/api/1.1/alarms", token, map[string]any{"page": 1, "size": 1000}).Results {
			found[r["id"].(string)] = true
		}
		return found
	}
	if err := sim.DisconnectDeployment("acme", time.Hour); err != nil {
		t.Fatal(err)
	}
	if s := deploymentStatus(c, token, "acme"); s != "disconnected" {
		t.Fatalf("acme is %s while disconnected", s)
	}
	if err := sim.Burst(usmCentral, "alarm", 60); err != nil {
		t.Fatal(err)
	}
	held := map[string]Record{}
	visible := searchIDs()
	for i, r := range sim.Records(usmCentral, "alarm") {
		if acme := r.Fields["tenantId"] == "cn://acme.alienvault.cloud"; i >= 20 && acme {
			held[r.ID] = r
		}
		if _, isHeld := held[r.ID]; isHeld == r.HeldUntil.IsZero() || visible[r.ID] == isHeld {
			t.Fatalf("alarm %d of %s: held until %v, visible %v", i, r.Fields["tenantId"], r.HeldUntil, visible[r.ID])
		}
	}
	if len(held) == 0 || len(held) == 60 {
		t.Fatalf("%d of the 60 new alarms held back: want acme's only", len(held))
	}

	// Moving the reconnection close holds the same records until then, and no longer.
	if err := sim.DisconnectDeployment("acme", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for deploymentStatus(c, token, "acme") != "connected" {
		if time.Now().After(deadline) {
			t.Fatal("acme still disconnected 5s after its outage was to end within 50ms")
		}
		time.Sleep(10 * time.Millisecond)
	}
	visible = searchIDs()
	for id, r := range held {
		if !visible[id] {
			t.Errorf("held alarm %s not served once acme reconnected", id)
		}
		if fresh := sim.Records(usmCentral, "alarm"); !fresh[slices.IndexFunc(fresh, func(f Record) bool { return f.ID == id })].Occurred.Equal(r.Occurred) {
			t.Errorf("alarm %s changed its occurrence time on reconnection", id)
		}
	}
	if len(visible) != len(sim.IDs(usmCentral, "alarm")) {
		t.Errorf("%d of %d alarms visible once every deployment is connected", len(visible), len(sim.IDs(usmCentral, "alarm")))
	}
}

func TestCentralDisconnectControl(t *testing.T) {
	sim, c := start(t, Options{Seed: 72})
	token := c.token()
	post := func(query string) response {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/usm_central/disconnect?"+query, nil)
		return c.do(req)
	}
	if resp := post("deployment=globex&for=1h"); resp.status != http.StatusNoContent || deploymentStatus(c, token, "globex") != "disconnected" {
		t.Fatalf("POST disconnect: %d %s", resp.status, resp.body)
	}
	if resp := post("deployment=globex&for=0s"); resp.status != http.StatusNoContent || deploymentStatus(c, token, "globex") != "connected" {
		t.Fatalf("POST reconnect: %d %s", resp.status, resp.body)
	}
	for _, bad := range []string{"deployment=nobody&for=1m", "deployment=acme&for=soon", "deployment=acme"} {
		if resp := post(bad); resp.status != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, resp.status)
		}
	}
	if err := sim.DisconnectDeployment("nobody", time.Minute); err == nil || !strings.Contains(err.Error(), "acme") {
		t.Errorf("an unknown deployment: %v, want an error listing the deployments", err)
	}
	if s := deploymentStatus(c, token, "initech"); s != "disconnected" {
		t.Errorf("initech is %s, and always disconnected", s)
	}
}
