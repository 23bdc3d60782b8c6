package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixedEnd pins the backlog in time so that tests can reason about it.
var fixedEnd = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// start runs a simulator on loopback for the test's duration.
func start(t *testing.T, opts Options) (*Simulator, *testClient) {
	t.Helper()
	sim := New(opts)
	t.Cleanup(sim.Close)
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	return sim, &testClient{t: t, base: base, http: hc}
}

type testClient struct {
	t    *testing.T
	base string
	http *http.Client
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *testClient) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// tokenRequest posts to the token endpoint with the given credentials, query and form body.
func (c *testClient) tokenRequest(id, secret, query, form string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/2.0/oauth/token?"+query, strings.NewReader(form))
	if err != nil {
		c.t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return c.do(req)
}

func (c *testClient) token() string {
	c.t.Helper()
	resp := c.tokenRequest("sim-client", "sim-secret", "grant_type=client_credentials", "")
	if resp.status != http.StatusOK {
		c.t.Fatalf("token: %d %s", resp.status, resp.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	decode(c.t, resp.body, &tok)
	return tok.AccessToken
}

// get fetches a path (or an absolute URL) with a bearer token, if any.
func (c *testClient) get(pathOrURL, token string) response {
	c.t.Helper()
	if !strings.HasPrefix(pathOrURL, "http") {
		pathOrURL = c.base + pathOrURL
	}
	req, err := http.NewRequest(http.MethodGet, pathOrURL, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.do(req)
}

// page fetches a list page and fails the test unless it is a 200.
func (c *testClient) page(pathOrURL, token string) halResponse {
	c.t.Helper()
	resp := c.get(pathOrURL, token)
	if resp.status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", pathOrURL, resp.status, resp.body)
	}
	var p halResponse
	decode(c.t, resp.body, &p)
	return p
}

type halResponse struct {
	Links map[string]struct {
		Href      string `json:"href"`
		Templated bool   `json:"templated"`
	} `json:"_links"`
	Embedded map[string][]map[string]any `json:"_embedded"`
	Page     struct {
		Size          int `json:"size"`
		TotalElements int `json:"totalElements"`
		TotalPages    int `json:"totalPages"`
		Number        int `json:"number"`
	} `json:"page"`
}

func (p halResponse) items(key string) []map[string]any { return p.Embedded[key] }

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
}

// recordID is a USM record's id, whichever key carries it.
func recordID(rec map[string]any) string {
	if id, ok := rec["uuid"].(string); ok {
		return id
	}
	return rec["id"].(string)
}

// occurredMs reads a USM record's occurrence time in any of the shapes the server sends.
func occurredMs(t *testing.T, rec map[string]any) int64 {
	t.Helper()
	v, ok := rec["timestamp_occured"]
	if !ok {
		v = rec["timestamp_occurred"]
	}
	switch v := v.(type) {
	case string:
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	case float64:
		return int64(v)
	}
	t.Fatalf("record %v has no occurrence time", rec)
	return 0
}

func qs(params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Add(params[i], params[i+1])
	}
	return v.Encode()
}

func msString(ms int64) string { return strconv.FormatInt(ms, 10) }
