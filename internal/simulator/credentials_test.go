package simulator

import (
	"net/http"
	"strings"
	"testing"
)

// vendorAccess is one vendor's token endpoint and one of its data requests.
type vendorAccess struct {
	name string
	// token fetches a token, returning it ("" when refused) and the answer.
	token func(c *testClient) (string, response)
	data  func(c *testClient, token string) response
}

var vendorAccesses = []vendorAccess{
	{"usm_anywhere", func(c *testClient) (string, response) {
		return accessToken(c, c.tokenRequest("sim-client", "sim-secret", "grant_type=client_credentials", ""))
	}, func(c *testClient, token string) response { return c.get("/api/2.0/alarms", token) }},
	{"usm_central", func(c *testClient) (string, response) {
		return accessToken(c, c.centralToken("grant_type=client_credentials", ""))
	}, func(c *testClient, token string) response {
		return c.search("/api/1.1/alarms", token, walkBody("alarm", 1, 10, "0"))
	}},
	{"cisco_gta", func(c *testClient) (string, response) {
		return accessToken(c, c.ciscoTokenRequest("sim-client", "sim-secret"))
	}, func(c *testClient, token string) response {
		resp, _ := c.cisco(http.MethodGet, ciscoAlerts, nil, "", token)
		return resp
	}},
}

func accessToken(c *testClient, resp response) (string, response) {
	if resp.status != http.StatusOK {
		return "", resp
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(c.t, resp.body, &tok)
	return tok.AccessToken, resp
}

func TestRevokedCredentialsAreRefusedEverywhereUntilRestored(t *testing.T) {
	sim, c := start(t, Options{Seed: 41, Backlog: 5, TrendCASPerMinute: -1})
	trendPath := "/v1/siem/security_events?service=box&event=dlp"
	issued := map[string]string{}
	for _, v := range vendorAccesses {
		token, resp := v.token(c)
		if token == "" {
			t.Fatalf("%s token: %d %s", v.name, resp.status, resp.body)
		}
		issued[v.name] = token
	}

	sim.SetCredentialsRevoked(true)
	if !sim.CredentialsRevoked() {
		t.Fatal("CredentialsRevoked is false after SetCredentialsRevoked(true)")
	}
	// Each token endpoint refuses the revoked client as it refuses an unknown one.
	wantRefusal := map[string]struct {
		status int
		code   string
	}{
		"usm_anywhere": {http.StatusUnauthorized, "unauthorized"},
		"usm_central":  {http.StatusUnauthorized, "unauthorized"},
		"cisco_gta":    {http.StatusBadRequest, "invalid_client"},
	}
	for _, v := range vendorAccesses {
		token, resp := v.token(c)
		var body map[string]any
		decode(t, resp.body, &body)
		want := wantRefusal[v.name]
		if token != "" || resp.status != want.status || body["error"] != want.code {
			t.Errorf("%s token while revoked: %d %s, want %d %s", v.name, resp.status, resp.body, want.status, want.code)
		}
		if resp := v.data(c, issued[v.name]); resp.status != http.StatusUnauthorized {
			t.Errorf("%s data request with a token issued before the revocation: %d %s", v.name, resp.status, resp.body)
		}
	}
	trendError(t, c.get(trendPath, trendToken), http.StatusUnauthorized, -4010001)

	sim.SetCredentialsRevoked(false)
	for _, v := range vendorAccesses {
		token, resp := v.token(c)
		if token == "" {
			t.Errorf("%s token once restored: %d %s", v.name, resp.status, resp.body)
			continue
		}
		if resp := v.data(c, token); resp.status != http.StatusOK {
			t.Errorf("%s data request with a new token: %d %s", v.name, resp.status, resp.body)
		}
		if resp := v.data(c, issued[v.name]); resp.status != http.StatusUnauthorized {
			t.Errorf("%s: a token issued before the revocation works again: %d", v.name, resp.status)
		}
	}
	if resp := c.get(trendPath, trendToken); resp.status != http.StatusOK {
		t.Errorf("Trend once restored: %d %s", resp.status, resp.body)
	}
}

func TestCredentialsOverHTTP(t *testing.T) {
	sim, c := start(t, Options{Seed: 42})
	post := func(body string) response {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/_sim/credentials", strings.NewReader(body))
		return c.do(req)
	}
	var state credentialsState
	if resp := post(`{"revoked": true}`); resp.status != http.StatusOK || !sim.CredentialsRevoked() {
		t.Fatalf("POST revoked=true: %d %s; revoked %v", resp.status, resp.body, sim.CredentialsRevoked())
	}
	decode(t, c.get("/_sim/credentials", "").body, &state)
	if !state.Revoked {
		t.Error("GET /_sim/credentials says not revoked")
	}
	if resp := c.tokenRequest("sim-client", "sim-secret", "grant_type=client_credentials", ""); resp.status != http.StatusUnauthorized {
		t.Errorf("token while revoked over HTTP: %d", resp.status)
	}
	for _, bad := range []string{`{}`, `{"revoked": "yes"}`, `{"revoke": true}`, `nope`} {
		if resp := post(bad); resp.status != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, resp.status)
		}
	}
	if resp := post(`{"revoked": false}`); resp.status != http.StatusOK || sim.CredentialsRevoked() {
		t.Fatalf("POST revoked=false: %d; revoked %v", resp.status, sim.CredentialsRevoked())
	}
	c.token() // fails the test unless a token is issued again
}
