package securityalertsreceiver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ocsf/ocsftest"
)

// route answers one request of a source's API with a fixture of testdata/golden/<source>/, or
// with body. query lists the parameters a request must have to take this route.
type route struct {
	method, path string
	query        map[string]string
	file, body   string
}

// goldenSource is one source's fixtures, shaped like the vendor's real answers, and what the
// receiver must make of them.
type goldenSource struct {
	name    string
	routes  []route
	config  func(endpoint string) *Config
	records int
	kinds   []string
}

var goldenSources = []goldenSource{
	{
		name: "usm_anywhere", records: 6, kinds: []string{"alarm", "event"},
		routes: []route{
			{method: "POST", path: "/api/2.0/oauth/token", body: `{"access_token":"tok","token_type":"bearer","expires_in":899}`},
			{method: "GET", path: "/api/2.0/alarms", file: "alarms.json"},
			{method: "GET", path: "/api/2.0/events", file: "events.json"},
		},
		config: testConfig,
	},
	{
		name: "usm_central", records: 4, kinds: []string{"alarm", "event"},
		routes: []route{
			{method: "POST", path: "/api/1.1/oauth/token", body: `{"access_token":"central-tok","token_type":"bearer","expires_in":899}`},
			{method: "GET", path: "/api/1.1/deployments", file: "deployments.json"},
			{method: "POST", path: "/api/1.1/alarms", file: "alarms.json"},
			{method: "POST", path: "/api/1.1/events", file: "events.json"},
		},
		config: func(endpoint string) *Config {
			cfg, _ := centralTestConfig(endpoint)
			return cfg
		},
	},
	{
		name: "cisco_gta", records: 10, kinds: []string{"alert", "threat_detection", "event"},
		routes: []route{
			{method: "POST", path: "/iroh/oauth2/token", body: `{"access_token":"cisco-tok","token_type":"bearer","expires_in":600}`},
			{method: "GET", path: "/alert-management/customer/CTA123456789/alerts", file: "alerts.json"},
			{method: "POST", path: "/alert-management/customer/CTA123456789/alerts/search", file: "alerts.json"},
			{method: "POST", path: "/alert-management/customer/CTA123456789/enriched-threat-detections-with-alert-ids/search", file: "detections-with-alert-ids.json"},
			{method: "GET", path: "/threat-detection/customer/CTA123456789/threat-detections", file: "threat-detections.json"},
			{method: "GET", path: "/threat-detection/customer/CTA123456789/enriched-events-with-threat-detection-ids", file: "events.json"},
			{method: "POST", path: "/event-detection/customer/CTA123456789/flows/search", file: "flows.json"},
		},
		config: func(endpoint string) *Config {
			cfg := testConfig(endpoint)
			cfg.USMAnywhere = configoptional.None[USMAnywhereConfig]()
			c := defaultCiscoGTAConfig()
			c.Endpoint, c.TokenURL = endpoint, endpoint+"/iroh/oauth2/token"
			c.ClientID, c.ClientSecret, c.CustomerID = "cisco-id", "cisco-secret", "CTA123456789"
			c.ThreatDetections.Enabled, c.Flows.Enabled = true, true
			c.RequestsPerSecond = 50
			cfg.CiscoGTA = configoptional.Some(c)
			return cfg
		},
	},
	{
		name: "trend_cas", records: 5, kinds: []string{"security_event"},
		routes: []route{
			{method: "GET", path: "/v1/siem/security_events", query: map[string]string{"service": "onedrive", "event": "securityrisk"}, file: "onedrive-securityrisk.json"},
			{method: "GET", path: "/v1/siem/security_events", query: map[string]string{"service": "onedrive", "event": "ransomware"}, file: "onedrive-ransomware.json"},
			{method: "GET", path: "/v1/siem/security_events", query: map[string]string{"service": "exchange", "event": "virtualanalyzer"}, file: "exchange-virtualanalyzer.json"},
			{method: "GET", path: "/v1/siem/security_events", query: map[string]string{"service": "exchange", "event": "dlp"}, file: "exchange-dlp.json"},
			{method: "GET", path: "/v1/siem/security_events", file: "empty.json"},
		},
		config: func(endpoint string) *Config {
			cfg := trendTestConfig(endpoint)
			cfg.TrendCAS.Get().Events = []string{"securityrisk", "virtualanalyzer", "ransomware", "dlp"}
			return cfg
		},
	},
}

// TestGoldenLogsPerSourceAndBodyFormat runs each source against its fixtures, in both body
// formats: the log records must match the golden file, and every OCSF body must be a valid
// OCSF 1.8.0 event of its class.
func TestGoldenLogsPerSourceAndBodyFormat(t *testing.T) {
	for _, src := range goldenSources {
		for _, format := range []BodyFormat{BodyFormatVendor, BodyFormatOCSF} {
			t.Run(src.name+"/"+string(format), func(t *testing.T) {
				srv := fixtureServer(t, src)
				cfg := src.config(srv.URL)
				cfg.BodyFormat = format
				sink := &consumertest.LogsSink{}
				stop := run(t, cfg, componenttest.NewNopHost(), sink, nil)
				require.Eventually(t, func() bool { return sink.LogRecordCount() >= src.records }, 10*time.Second, 10*time.Millisecond)
				stop()
				require.Equal(t, src.records, sink.LogRecordCount(), "each fixture record once")

				batches := sink.AllLogs()
				replaceHost(batches, strings.TrimPrefix(srv.URL, "http://"))
				if format == BodyFormatOCSF {
					eachRecord(batches, func(lr plog.LogRecord) { ocsftest.Validate(t, lr.Body().Map().AsRaw()) })
				}
				golden := filepath.Join("testdata", "golden", fmt.Sprintf("%s_%s.yaml", src.name, format))
				requireGoldenLogs(t, golden, mergeLogs(batches, src.kinds...))
			})
		}
	}
}

// fixtureServer answers src's routes, the first that matches; any other request is a 404. A
// cursor-paged collection asked for what follows its last page (after = its endCursor) answers
// an empty page, as Cisco's API does.
func fixtureServer(t *testing.T, src goldenSource) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rt, ok := match(src.routes, r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		body := []byte(rt.body)
		if rt.file != "" {
			data, err := os.ReadFile(filepath.Join("testdata", "golden", src.name, rt.file))
			if err != nil {
				t.Error(err)
				return
			}
			body = []byte(strings.ReplaceAll(string(data), "{{BASE}}", srv.URL))
		}
		if after := r.URL.Query().Get("after"); after != "" && endCursor(body) == after {
			body = []byte(`{"items":[],"pageInfo":{"hasNextPage":false,"endCursor":"` + after + `"}}`)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func match(routes []route, r *http.Request) (route, bool) {
	q := r.URL.Query()
	for _, rt := range routes {
		if rt.method != r.Method || rt.path != r.URL.Path {
			continue
		}
		matches := true
		for k, v := range rt.query {
			matches = matches && q.Get(k) == v
		}
		if matches {
			return rt, true
		}
	}
	return route{}, false
}

func endCursor(body []byte) string {
	var page struct {
		PageInfo struct {
			EndCursor any `json:"endCursor"`
		} `json:"pageInfo"`
	}
	if json.Unmarshal(body, &page) != nil || page.PageInfo.EndCursor == nil {
		return ""
	}
	return fmt.Sprint(page.PageInfo.EndCursor)
}

func eachRecord(batches []plog.Logs, f func(plog.LogRecord)) {
	for _, b := range batches {
		for i := 0; i < b.ResourceLogs().Len(); i++ {
			sls := b.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					f(lrs.At(k))
				}
			}
		}
	}
}

// replaceHost writes tenant.test for the test server's host (a random port) wherever a record
// carries it: console links formed from the tenant, links the fixtures return, OCSF's tenant.
func replaceHost(batches []plog.Logs, host string) {
	eachRecord(batches, func(lr plog.LogRecord) {
		replaceIn(lr.Attributes(), host)
		if lr.Body().Type() == pcommon.ValueTypeMap {
			replaceIn(lr.Body().Map(), host)
		}
	})
}

func replaceIn(m pcommon.Map, host string) {
	m.Range(func(_ string, v pcommon.Value) bool {
		replaceValue(v, host)
		return true
	})
}

func replaceValue(v pcommon.Value, host string) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if strings.Contains(v.Str(), host) {
			v.SetStr(strings.ReplaceAll(v.Str(), host, "tenant.test"))
		}
	case pcommon.ValueTypeMap:
		replaceIn(v.Map(), host)
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			replaceValue(v.Slice().At(i), host)
		}
	}
}
