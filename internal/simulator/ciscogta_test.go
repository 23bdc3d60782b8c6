package simulator

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ciscoAlerts = "/alert-management/customer/" + CiscoCustomerID + "/alerts"

func (c *testClient) ciscoToken() string {
	c.t.Helper()
	resp := c.ciscoTokenRequest("sim-client", "sim-secret")
	require.Equal(c.t, http.StatusOK, resp.status, string(resp.body))
	var tok map[string]any
	decode(c.t, resp.body, &tok)
	return tok["access_token"].(string)
}

func (c *testClient) ciscoTokenRequest(id, secret string) response {
	req, err := http.NewRequest(http.MethodPost, c.base+"/iroh/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	return c.do(req)
}

// ciscoPage is one collection page; post sends body as JSON.
type ciscoPage struct {
	Items    []map[string]any `json:"items"`
	PageInfo struct {
		Next        *string `json:"next"`
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
}

func (c *testClient) cisco(method, path string, query url.Values, body, token string) (response, ciscoPage) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path+"?"+query.Encode(), bytes.NewReader([]byte(body)))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp := c.do(req)
	var p ciscoPage
	if resp.status == http.StatusOK {
		decode(c.t, resp.body, &p)
	}
	return resp, p
}

// walk follows endCursor through every page and returns the items.
func (c *testClient) walk(method, path string, query url.Values, body, token string) []map[string]any {
	c.t.Helper()
	var items []map[string]any
	for {
		resp, p := c.cisco(method, path, query, body, token)
		require.Equal(c.t, http.StatusOK, resp.status, string(resp.body))
		items = append(items, p.Items...)
		if !p.PageInfo.HasNextPage {
			return items
		}
		require.NotNil(c.t, p.PageInfo.EndCursor)
		query.Set("after", *p.PageInfo.EndCursor)
	}
}

func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it["id"].(string)
	}
	return out
}

func TestCiscoTokens(t *testing.T) {
	_, c := start(t, Options{Seed: 1})
	resp := c.ciscoTokenRequest("sim-client", "sim-secret")
	var tok map[string]any
	decode(t, resp.body, &tok)
	assert.Equal(t, map[string]any{"token_type": "bearer", "expires_in": 600.0, "scope": "casebook", "access_token": tok["access_token"]}, tok)

	bad := c.ciscoTokenRequest("sim-client", "wrong")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Contains(t, string(bad.body), "invalid_client")

	_, c2 := start(t, Options{Seed: 1, TokenTTL: 5 * time.Second})
	decode(t, c2.ciscoTokenRequest("sim-client", "sim-secret").body, &tok)
	assert.Equal(t, 5.0, tok["expires_in"])
}

func TestCiscoAuthorization(t *testing.T) {
	_, c := start(t, Options{Seed: 1, Backlog: 3})
	token := c.ciscoToken()
	req, _ := http.NewRequest(http.MethodGet, c.base+ciscoAlerts, nil)
	req.Header.Set("Authorization", "bearer "+token)
	assert.Equal(t, http.StatusUnauthorized, c.do(req).status, "the scheme must be capitalised")

	resp, _ := c.cisco(http.MethodGet, "/alert-management/customer/CTA999/alerts", nil, "", token)
	assert.Equal(t, http.StatusForbidden, resp.status)

	resp, _ = c.cisco(http.MethodGet, "/auth/api-clients/me", nil, "", token)
	require.Equal(t, http.StatusOK, resp.status)
	var me map[string]any
	decode(t, resp.body, &me)
	assert.Equal(t, CiscoCustomerID, me["identity"].(map[string]any)["customerId"])
}

func TestCiscoAlertsFirstSyncPaging(t *testing.T) {
	sim, c := start(t, Options{Seed: 3, Backlog: 40, BacklogEnd: fixedEnd})
	token := c.ciscoToken()

	resp, p := c.cisco(http.MethodGet, ciscoAlerts, url.Values{"sort": {"triggeredAt:asc"}, "size": {"7"}}, "", token)
	require.Equal(t, http.StatusOK, resp.status)
	require.NotNil(t, p.PageInfo.Next)
	next, _ := url.Parse(*p.PageInfo.Next)
	assert.Equal(t, *p.PageInfo.EndCursor, next.Query().Get("after"), "next is the same query after endCursor")

	items := c.walk(http.MethodGet, ciscoAlerts, url.Values{"sort": {"triggeredAt:asc"}, "size": {"7"}}, "", token)
	assert.ElementsMatch(t, sim.IDs("cisco_gta", "alert"), ids(items))
	deprecated := 0
	for i, it := range items {
		if i > 0 {
			assert.LessOrEqual(t, items[i-1]["triggeredAt"], it["triggeredAt"])
		}
		if _, ok := it["state"]; ok {
			deprecated++
			assert.NotContains(t, it, "status")
		}
	}
	assert.Positive(t, deprecated, "some alerts come in the deprecated shape")

	// The default order (riskiest first) pages completely too, and triggeredAfter is exclusive.
	assert.Len(t, c.walk(http.MethodGet, ciscoAlerts, url.Values{"size": {"5"}}, "", token), 40)
	last := items[len(items)-1]["triggeredAt"].(string)
	assert.Empty(t, c.walk(http.MethodGet, ciscoAlerts, url.Values{"triggeredAfter": {last}}, "", token))

	resp, _ = c.cisco(http.MethodGet, ciscoAlerts, url.Values{"sort": {"triggeredAt:asc"}, "after": {"garbage"}}, "", token)
	assert.Equal(t, http.StatusBadRequest, resp.status)
}

func TestCiscoAlertsChangeWhileRunning(t *testing.T) {
	_, c := start(t, Options{Seed: 3, Backlog: 20, UpdatesPerSecond: 500})
	token := c.ciscoToken()
	since := time.Now().UTC().Format(time.RFC3339Nano)
	var changed []map[string]any
	require.Eventually(t, func() bool {
		changed = c.walk(http.MethodGet, ciscoAlerts, url.Values{"modifiedAfter": {since}}, "", token)
		return len(changed) > 0
	}, 5*time.Second, 5*time.Millisecond)
	for _, a := range changed {
		assert.Greater(t, a["modifiedAt"], a["triggeredAt"], "a change bumps modifiedAt")
	}
	one := changed[0]["id"].(string)
	resp, _ := c.cisco(http.MethodGet, ciscoAlerts+"/"+one, nil, "", token)
	assert.Equal(t, http.StatusOK, resp.status)
	resp, _ = c.cisco(http.MethodGet, ciscoAlerts+"/0000", nil, "", token)
	assert.Equal(t, http.StatusNotFound, resp.status)
}

func TestCiscoSequenceCollectionsAndBulkSearches(t *testing.T) {
	sim, c := start(t, Options{Seed: 5, Backlog: 30})
	token := c.ciscoToken()
	seq := url.Values{"sort": {"modificationSequenceNumber"}, "size": {"4"}}
	enriched := c.walk(http.MethodGet, "/threat-detection/customer/"+CiscoCustomerID+"/enriched-events-with-threat-detection-ids", seq, "", token)
	assert.Equal(t, sim.IDs("cisco_gta", "event"), ids(enriched), "in the order they appeared")
	plain := c.walk(http.MethodPost, "/event-detection/customer/"+CiscoCustomerID+"/events/search", url.Values{"sort": {"modificationSequenceNumber"}, "size": {"4"}}, `{"filter":{}}`, token)
	assert.Equal(t, ids(enriched), ids(plain))
	assert.NotContains(t, plain[0], "threatDetectionIds")

	flows := c.walk(http.MethodPost, "/event-detection/customer/"+CiscoCustomerID+"/flows/search", url.Values{"sort": {"modificationSequenceNumber"}}, `{"filter":{}}`, token)
	assert.Equal(t, sim.IDs("cisco_gta", "flow"), ids(flows))
	detections := c.walk(http.MethodGet, "/threat-detection/customer/"+CiscoCustomerID+"/threat-detections", url.Values{"sort": {"modificationSequenceNumber"}}, "", token)
	assert.Equal(t, sim.IDs("cisco_gta", "threat_detection"), ids(detections))

	var tdIDs []string
	for _, ev := range enriched {
		for _, id := range ev["threatDetectionIds"].([]any) {
			tdIDs = append(tdIDs, id.(string))
		}
	}
	require.NotEmpty(t, tdIDs, "some events are convicting")
	found := c.walk(http.MethodPost, "/alert-management/customer/"+CiscoCustomerID+"/enriched-threat-detections-with-alert-ids/search", url.Values{"size": {"2"}},
		`{"filter":{"threatDetectionIds":["`+strings.Join(tdIDs, `","`)+`","unknown"]}}`, token)
	require.Len(t, found, len(tdIDs))
	alertID := found[0]["alertIds"].([]any)[0].(string)
	alerts := c.walk(http.MethodPost, ciscoAlerts+"/search", url.Values{}, `{"filter":{"alertIds":["`+alertID+`","gone"]}}`, token)
	assert.Equal(t, []string{alertID}, ids(alerts))

	resp, _ := c.cisco(http.MethodGet, "/threat-detection/customer/"+CiscoCustomerID+"/threat-detections", url.Values{"after": {"x"}}, "", token)
	assert.Equal(t, http.StatusBadRequest, resp.status)
	resp, _ = c.cisco(http.MethodPost, "/event-detection/customer/"+CiscoCustomerID+"/flows/search", nil, "not json", token)
	assert.Equal(t, http.StatusBadRequest, resp.status)
}

func TestCiscoArrivalsGetLaterSequenceNumbers(t *testing.T) {
	sim, c := start(t, Options{Seed: 5, Backlog: 5, ArrivalsPerSecond: 200})
	token := c.ciscoToken()
	path := "/threat-detection/customer/" + CiscoCustomerID + "/threat-detections"
	_, first := c.cisco(http.MethodGet, path, url.Values{"sort": {"modificationSequenceNumber"}}, "", token)
	require.NotNil(t, first.PageInfo.EndCursor)
	seen := ids(first.Items)
	require.Eventually(t, func() bool { return len(sim.IDs("cisco_gta", "threat_detection")) > len(seen)+5 }, 5*time.Second, time.Millisecond)
	more := c.walk(http.MethodGet, path, url.Values{"sort": {"modificationSequenceNumber"}, "after": {*first.PageInfo.EndCursor}}, "", token)
	all := sim.IDs("cisco_gta", "threat_detection")
	assert.Equal(t, all[:len(seen)+len(more)], append(seen, ids(more)...), "nothing missed, nothing repeated")
}

func TestCiscoFaultsApplyToDataNotTokens(t *testing.T) {
	sim, c := start(t, Options{Seed: 1, Backlog: 3})
	sim.SetFaults(Faults{Rate500: 1})
	token := c.ciscoToken()
	resp, _ := c.cisco(http.MethodGet, ciscoAlerts, nil, "", token)
	assert.Equal(t, http.StatusInternalServerError, resp.status)
	assert.Contains(t, string(resp.body), `"message"`)
}

func TestCiscoRepeatCursorFault(t *testing.T) {
	sim, c := start(t, Options{Seed: 81, Backlog: 30})
	token := c.ciscoToken()
	sim.SetFaults(Faults{CiscoRepeatCursor: 1})
	for _, tc := range []struct {
		method, path, body string
		query              url.Values
	}{
		{http.MethodGet, ciscoAlerts, "", url.Values{"sort": {"triggeredAt:asc"}, "size": {"5"}}},
		{http.MethodGet, "/threat-detection/customer/" + CiscoCustomerID + "/threat-detections", "", url.Values{"size": {"5"}}},
		{http.MethodPost, "/event-detection/customer/" + CiscoCustomerID + "/flows/search", `{"filter":{}}`, url.Values{"size": {"5"}}},
	} {
		resp, first := c.cisco(tc.method, tc.path, tc.query, tc.body, token)
		require.Equal(t, http.StatusOK, resp.status, string(resp.body))
		require.Len(t, first.Items, 5, "a first page has no cursor to repeat")
		require.NotNil(t, first.PageInfo.EndCursor)
		tc.query.Set("after", *first.PageInfo.EndCursor)
		_, again := c.cisco(tc.method, tc.path, tc.query, tc.body, token)
		assert.Empty(t, again.Items, tc.path)
		assert.True(t, again.PageInfo.HasNextPage, tc.path)
		if assert.NotNil(t, again.PageInfo.EndCursor, tc.path) {
			assert.Equal(t, *first.PageInfo.EndCursor, *again.PageInfo.EndCursor, "%s repeats the cursor it was asked with", tc.path)
		}
	}
	assert.EqualValues(t, 3, sim.Stats().Faults["cisco_repeat_cursor"])
	sim.SetFaults(Faults{})
	assert.Len(t, c.walk(http.MethodGet, ciscoAlerts, url.Values{"size": {"5"}}, "", token), 30)
}
