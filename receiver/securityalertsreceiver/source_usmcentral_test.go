package securityalertsreceiver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

func TestUSMCentralConfigLoads(t *testing.T) {
	cfg := loadConfig(t, "central")
	require.NoError(t, confmap.Validate(cfg))
	c := cfg.USMCentral.Get()
	assert.Equal(t, "https://mssp.central.alienvault.cloud", c.Endpoint)
	assert.Equal(t, 15*time.Second, c.Timeout)
	assert.Equal(t, "central-s3cr3t", string(c.ClientSecret))
	assert.Equal(t, []string{"*.alienvault.cloud"}, c.Deployments.AllowedHosts)
	assert.Equal(t, 250, c.PageSize)
	assert.InDelta(t, 40.0, c.RequestsPerSecond, 0)
	assert.Equal(t, "/api/1.1/alarms", c.Alarms.Path)
	assert.Equal(t, "/api/1.1/search/events", c.Events.Path)
	assert.True(t, c.Events.Enabled)
	assert.Equal(t, map[string][]string{"alarm.suppressed": {"false"}, "alarm.priority_label": {"high", "medium"}}, c.Alarms.find("alarm"),
		"a bare key is a field of the alarm; a dotted key is kept")
	assert.Equal(t, []string{"acme", "globex", "initech"}, c.Deployments.Include)
	assert.Equal(t, 5, c.Deployments.RefreshEvery)
	assert.Equal(t, []string{"acme", "initech"}, c.Deployments.USMAnywhere.names())

	acme := c.Deployments.USMAnywhere["acme"]
	assert.Empty(t, acme.Endpoint, "learnt from the console")
	assert.Equal(t, 30*time.Second, acme.Timeout, "entries start from the defaults")
	assert.Equal(t, 100, acme.PageSize)
	assert.InDelta(t, 50.0, acme.RequestsPerSecond, 0)
	assert.Equal(t, "acme-s3cr3t", string(acme.ClientSecret))
	initech := c.Deployments.USMAnywhere["initech"]
	assert.Equal(t, "https://initech.example.net", initech.Endpoint)
	assert.Equal(t, 5*time.Second, initech.Timeout)
	assert.Equal(t, 50, initech.PageSize)

	minimal := loadConfig(t, "central_minimal")
	require.NoError(t, confmap.Validate(minimal))
	m := minimal.USMCentral.Get()
	assert.True(t, m.Alarms.Enabled)
	assert.False(t, m.Events.Enabled)
	assert.Equal(t, "/api/1.1/events", m.Events.Path)
	assert.Equal(t, 100, m.PageSize)
	assert.InDelta(t, 25.0, m.RequestsPerSecond, 0)
	assert.Equal(t, 10, m.Deployments.RefreshEvery)
	assert.Empty(t, m.Alarms.find("alarm"), "no filter by default: suppressed alarms are emitted too")
	assert.False(t, minimal.USMAnywhere.HasValue())
}

func TestUSMCentralSecretsAreOpaque(t *testing.T) {
	conf := confmap.New()
	require.NoError(t, conf.Marshal(loadConfig(t, "central")))
	out := fmt.Sprint(conf.ToStringMap())
	for _, secret := range []string{"central-s3cr3t", "acme-s3cr3t", "initech-s3cr3t"} {
		assert.NotContains(t, out, secret)
	}
}

func TestUSMCentralInvalidConfigNamesTheKey(t *testing.T) {
	valid := map[string]any{"endpoint": "https://mssp.central.alienvault.cloud", "client_id": "id", "client_secret": "secret"}
	block := func(overrides map[string]any) map[string]any {
		return sourceBlock("usm_central", valid, overrides)
	}
	direct := func(name string, entry map[string]any, more map[string]any) map[string]any {
		d := map[string]any{"usm_anywhere": map[string]any{name: entry}}
		for k, v := range more {
			d[k] = v
		}
		return block(map[string]any{"deployments": d})
	}
	creds := map[string]any{"client_id": "a", "client_secret": "b"}
	for _, tt := range []struct {
		name string
		conf map[string]any
		want string
	}{
		{"missing endpoint", block(map[string]any{"endpoint": nil}), "usm_central.endpoint: must be set"},
		{"relative endpoint", block(map[string]any{"endpoint": "mssp.example"}), "usm_central.endpoint: \"mssp.example\" must be an absolute"},
		{"missing client id", block(map[string]any{"client_id": nil}), "usm_central.client_id: must be set"},
		{"missing secret", block(map[string]any{"client_secret": nil}), "usm_central.client_secret: must be set"},
		{"page size zero", block(map[string]any{"page_size": 0}), "usm_central.page_size: must be between 1 and 1000"},
		{"page size too big", block(map[string]any{"page_size": 1001}), "usm_central.page_size: must be between 1 and 1000"},
		{"rate zero", block(map[string]any{"requests_per_second": 0}), "usm_central.requests_per_second: must be greater than 0 and at most 50"},
		{"rate above POST limit", block(map[string]any{"requests_per_second": 60}), "usm_central.requests_per_second: must be greater than 0 and at most 50"},
		{"no stream", block(map[string]any{"alarms": map[string]any{"enabled": false}}), "usm_central: enables no stream"},
		{"alarms path", block(map[string]any{"alarms": map[string]any{"path": "api/1.1/alarms"}}), "usm_central.alarms.path: must be a path starting with /"},
		{"events path", block(map[string]any{"events": map[string]any{"path": ""}}), "usm_central.events.path: must be a path starting with /"},
		{"filter value", block(map[string]any{"alarms": map[string]any{"filters": map[string]any{"status": map[string]any{"a": 1}}}}), "usm_central.alarms.filters.status: must be a string"},
		{"empty filter list", block(map[string]any{"events": map[string]any{"filters": map[string]any{"event.plugin": []any{}}}}), "usm_central.events.filters.event.plugin: must be a string"},
		{"refresh every", block(map[string]any{"deployments": map[string]any{"refresh_every": 0}}), "usm_central.deployments.refresh_every: must be greater than zero"},
		{"empty include", block(map[string]any{"deployments": map[string]any{"include": []any{""}}}), "usm_central.deployments.include: must not contain an empty name"},
		{"empty exclude", block(map[string]any{"deployments": map[string]any{"exclude": []any{" "}}}), "usm_central.deployments.exclude: must not contain an empty name"},
		{"direct not included", direct("acme", creds, map[string]any{"include": []any{"globex"}}), "usm_central.deployments.usm_anywhere.acme: names a deployment that include/exclude leaves out"},
		{"direct excluded", direct("acme", creds, map[string]any{"exclude": []any{"ACME"}}), "usm_central.deployments.usm_anywhere.acme: names a deployment"},
		{"direct client id", direct("acme", map[string]any{"client_secret": "b"}, nil), "usm_central.deployments.usm_anywhere.acme.client_id: must be set"},
		{"direct name with a space", direct("Acme Corp", map[string]any{"client_id": "a"}, nil), `usm_central.deployments.usm_anywhere."Acme Corp".client_secret: must be set`},
		{"direct secret", direct("acme", map[string]any{"client_id": "a"}, nil), "usm_central.deployments.usm_anywhere.acme.client_secret: must be set"},
		{"direct endpoint", direct("acme", merge(creds, map[string]any{"endpoint": "ftp://x"}), nil), "usm_central.deployments.usm_anywhere.acme.endpoint"},
		{"direct page size", direct("acme", merge(creds, map[string]any{"page_size": 0}), nil), "usm_central.deployments.usm_anywhere.acme.page_size: must be between 1 and 1000"},
		{"direct rate", direct("acme", merge(creds, map[string]any{"requests_per_second": 101}), nil), "usm_central.deployments.usm_anywhere.acme.requests_per_second: must be greater than 0 and at most 100"},
		{"direct endpoint missing", direct("acme", creds, nil), "usm_central.deployments.usm_anywhere.acme.endpoint: must be set, or deployments.allowed_hosts must list"},
		{"allowed host with scheme", direct("acme", creds, map[string]any{"allowed_hosts": []any{"https://acme.alienvault.cloud"}}), `usm_central.deployments.allowed_hosts[0]: "https://acme.alienvault.cloud" is not a host name`},
		{"allowed host wildcard", direct("acme", creds, map[string]any{"allowed_hosts": []any{"*.cloud", "acme.*"}}), `usm_central.deployments.allowed_hosts[1]: "acme.*" is not a host name`},
		{"allowed host with user", direct("acme", creds, map[string]any{"allowed_hosts": []any{"u@acme.alienvault.cloud"}}), `usm_central.deployments.allowed_hosts[0]`},
		{"direct reserved filter", direct("acme", merge(creds, map[string]any{"events": map[string]any{"filters": map[string]any{"page": 2}}}), nil), "usm_central.deployments.usm_anywhere.acme.events.filters.page: is set by the receiver"},
	} {
		t.Run(tt.name, func(t *testing.T) { requireInvalid(t, tt.conf, tt.want) })
	}

	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(block(map[string]any{
		"alarms": map[string]any{"enabled": false}, "deployments": map[string]any{"usm_anywhere": map[string]any{"acme": creds}, "allowed_hosts": []any{"*.alienvault.cloud"}},
	})).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg), "a deployment's own events are a stream")

	err := confmap.NewFromStringMap(direct("acme", merge(creds, map[string]any{"events": map[string]any{"enabled": true}}), nil)).Unmarshal(createDefaultConfig())
	require.ErrorContains(t, err, "enabled", "credentials are what enables a deployment's own events")
}

// fakeCentral serves the fixtures in testdata/usmcentral: four deployments (globex disconnected,
// initech unauthorized), three alarms over two pages, two events.
type fakeCentral struct {
	*httptest.Server
	mu       sync.Mutex
	searches []string // path and find of every search
}

func newFakeCentral(t *testing.T, deployments string) *fakeCentral {
	f := &fakeCentral{}
	fixture := func(w http.ResponseWriter, name string) {
		data, err := os.ReadFile(filepath.Join("testdata", "usmcentral", name))
		require.NoError(t, err)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	}
	authorized := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer central-tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/1.1/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "central-id" || secret != "central-secret" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"central-tok","token_type":"bearer","expires_in":899,"scope":"trust read write"}`))
	})
	mux.HandleFunc("GET /api/1.1/deployments", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		if deployments != "" {
			_, _ = w.Write([]byte(deployments))
			return
		}
		fixture(w, "deployments.json")
	})
	search := func(pages ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !authorized(w, r) {
				return
			}
			var body struct {
				Page int                 `json:"page"`
				Size int                 `json:"size"`
				Find map[string][]string `json:"find"`
			}
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			find, _ := json.Marshal(body.Find)
			f.mu.Lock()
			f.searches = append(f.searches, r.URL.Path+" "+string(find))
			f.mu.Unlock()
			if status := body.Find["alarm.status"]; len(status) == 1 && status[0] == "open" && body.Size == 1 {
				n := map[string]int{"low": 3, "medium": 2, "high": 1}[body.Find["alarm.priority_label"][0]]
				_, _ = fmt.Fprintf(w, `{"results":[],"total":%d}`, n)
				return
			}
			fixture(w, pages[min(body.Page, len(pages))-1])
		}
	}
	mux.HandleFunc("POST /api/1.1/alarms", search("alarms-1.json", "alarms-2.json"))
	mux.HandleFunc("POST /api/1.1/events", search("events-1.json"))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func centralTestConfig(endpoint string) (*Config, *USMCentralConfig) {
	cfg := testConfig("")
	cfg.USMAnywhere = configoptional.None[USMAnywhereConfig]()
	central := defaultUSMCentralConfig()
	central.Endpoint = endpoint
	central.ClientID = "central-id"
	central.ClientSecret = "central-secret"
	central.Events.Enabled = true
	central.Deployments.Exclude = []string{"umbrella"}
	cfg.USMCentral = configoptional.Some(central)
	return cfg, cfg.USMCentral.Get()
}

type emitted struct{ tenant, name, kind, id string }

// emittedRecords lists every log record with its resource's tenant and its tenant name.
func emittedRecords(t *testing.T, batches []plog.Logs) []emitted {
	var out []emitted
	for _, b := range batches {
		for i := 0; i < b.ResourceLogs().Len(); i++ {
			rl := b.ResourceLogs().At(i)
			source, _ := rl.Resource().Attributes().Get("securityalerts.source")
			assert.Equal(t, "usm_central", source.Str())
			tenant, _ := rl.Resource().Attributes().Get("securityalerts.tenant")
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				attrs := lrs.At(j).Attributes()
				get := func(k string) string {
					if v, ok := attrs.Get(k); ok {
						return v.AsString()
					}
					return ""
				}
				out = append(out, emitted{tenant.Str(), get("securityalerts.tenant.name"), get(attrKind), get(attrID)})
			}
		}
	}
	return out
}

func TestUSMCentralRecordsGaugesAndDirectEvents(t *testing.T) {
	console := newFakeCentral(t, "")
	acme := newFakeUSM(t) // acme's own USM Anywhere API
	cfg, central := centralTestConfig(console.URL)
	direct := defaultUSMCentralDirectConfig()
	direct.Endpoint, direct.ClientID, direct.ClientSecret = acme.URL, "id", "secret"
	central.Deployments.USMAnywhere = USMCentralDirectDeployments{"acme": direct}

	logs := &consumertest.LogsSink{}
	metrics := &consumertest.MetricsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), logs, metrics)
	require.Eventually(t, func() bool {
		return logs.LogRecordCount() >= 4 && len(pollLagStreams(metrics)) >= 3 && len(gaugePoints(metrics, "securityalerts.deployments", "connection_status")) > 0
	}, 10*time.Second, 20*time.Millisecond)
	stop()

	assert.ElementsMatch(t, []emitted{
		{"acme.alienvault.cloud", "ACME Corp", "alarm", "c0a80001-0000-4000-8000-000000000001"},
		{"globex.alienvault.cloud", "Globex", "alarm", "c0a80001-0000-4000-8000-000000000002"},
		{"globex.alienvault.cloud", "Globex", "event", "e0a80001-0000-4000-8000-00000000000b"},
		// acme's events come from its own API (the console's copy is skipped), under its fqdn.
		{"acme.alienvault.cloud", "", "event", "39a6918f-33f2-ec9b-0fcc-42bb90f10a1f"},
	}, emittedRecords(t, logs.AllLogs()), "umbrella is excluded")
	assert.ElementsMatch(t, []string{"usm_central/alarms", "usm_central/events", "usm_central/acme/events"}, pollLagStreams(metrics))

	host := strings.TrimPrefix(console.URL, "http://")
	assert.Equal(t, map[string]int64{host + " connected": 1, host + " disconnected": 1, host + " unauthorized": 1},
		gaugePoints(metrics, "securityalerts.deployments", "connection_status"), "by status, on the console's resource")
	assert.Equal(t, map[string]int64{host + " low": 3, host + " medium": 2, host + " high": 1},
		gaugePoints(metrics, "securityalerts.alerts.open", "severity"))
	assert.Positive(t, collectortest.SumValue(metrics, "securityalerts.records", map[string]string{"source": "usm_central", "kind": "event"}))
}

func TestHostAllowed(t *testing.T) {
	patterns := []string{"*.alienvault.cloud", "lab.example.test:8443"}
	for host, want := range map[string]bool{
		"acme.alienvault.cloud":           true,
		"ACME.AlienVault.cloud":           true,
		"a.b.alienvault.cloud":            true,
		"alienvault.cloud":                false,
		"acme.evilalienvault.cloud":       false,
		"acme.alienvault.cloud.evil.test": false,
		"lab.example.test:8443":           true,
		"lab.example.test":                false,
		"evil.test/x.alienvault.cloud":    false,
		"evil.test@acme.alienvault.cloud": false,
		"evil.test#.alienvault.cloud":     false,
		"evil.test?x=.alienvault.cloud":   false,
		"":                                false,
	} {
		assert.Equal(t, want, hostAllowed(host, patterns), "%q", host)
	}
}

// A deployment's credentials go to the host the console lists only if allowed_hosts allow it;
// otherwise nothing is sent there, and the refusal names the host and the key.
func TestUSMCentralDirectEndpointFromTheConsoleNeedsAnAllowedHost(t *testing.T) {
	var requests atomic.Int32
	deployment := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	t.Cleanup(deployment.Close)
	fqdn := strings.TrimPrefix(deployment.URL, "https://")
	console := newFakeCentral(t, `[{"id":"cn://`+fqdn+`","name":"lab","fqdn":"`+fqdn+`","connectionStatus":"connected","authorized":true}]`)
	cfg, central := centralTestConfig(console.URL)
	central.Alarms.Enabled, central.Events.Enabled = false, false
	central.Deployments.AllowedHosts = []string{"*.alienvault.cloud"}
	direct := defaultUSMCentralDirectConfig()
	direct.ClientID, direct.ClientSecret = "id", "secret"
	direct.TLS.InsecureSkipVerify = true
	central.Deployments.USMAnywhere = USMCentralDirectDeployments{"lab": direct}

	core, logged := observer.New(zapcore.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	stop := runWith(t, set, cfg, componenttest.NewNopHost(), &consumertest.LogsSink{}, nil)
	require.Eventually(t, func() bool {
		return len(logged.FilterMessageSnippet("Poll failed").All()) > 0
	}, 10*time.Second, 20*time.Millisecond)
	stop()
	failure := fmt.Sprint(logged.FilterMessageSnippet("Poll failed").All()[0].ContextMap()["error"])
	assert.Contains(t, failure, `the console lists its host as "`+fqdn+`", which deployments.allowed_hosts does not allow`)
	assert.Zero(t, requests.Load(), "the deployment's host was sent a request")
}

func TestUSMCentralDirectEndpointDefaultsToTheDeploymentFQDN(t *testing.T) {
	var requests sync.Map
	deployment := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Store(r.URL.Path, true)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/2.0/oauth/token" {
			_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":899}`))
			return
		}
		_, _ = w.Write([]byte(`{"_embedded":{"events":[{"uuid":"direct-1","timestamp_occured":"1627510815000"}]}}`))
	}))
	t.Cleanup(deployment.Close)
	fqdn := strings.TrimPrefix(deployment.URL, "https://")
	console := newFakeCentral(t, `[{"id":"cn://`+fqdn+`","name":"lab","fqdn":"`+fqdn+`","connectionStatus":"connected","authorized":true}]`)
	cfg, central := centralTestConfig(console.URL)
	central.Alarms.Enabled, central.Events.Enabled = false, false
	direct := defaultUSMCentralDirectConfig()
	direct.ClientID, direct.ClientSecret = "id", "secret"
	direct.TLS.InsecureSkipVerify = true // the test server's certificate
	central.Deployments.USMAnywhere = USMCentralDirectDeployments{"lab": direct}
	central.Deployments.AllowedHosts = []string{"*.alienvault.cloud", fqdn}

	core, logged := observer.New(zapcore.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	logs := &consumertest.LogsSink{}
	stop := runWith(t, set, cfg, componenttest.NewNopHost(), logs, nil)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 1 }, 10*time.Second, 20*time.Millisecond)
	stop()
	assert.Equal(t, []emitted{{fqdn, "", "event", "direct-1"}}, emittedRecords(t, logs.AllLogs()))
	_, asked := requests.Load("/api/2.0/events")
	assert.True(t, asked)
	told := logged.FilterMessageSnippet("from its own USM Anywhere API").All()
	require.Len(t, told, 1, "the endpoint is logged once")
	assert.Equal(t, "https://"+fqdn, told[0].ContextMap()["endpoint"])
}

// pollLagStreams lists the streams of the newest poll-lag gauge.
func pollLagStreams(sink *consumertest.MetricsSink) []string {
	var out []string
	collectortest.LatestMetric(sink, "securityalerts.poll.lag", func(m pmetric.Metric) {
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			s, _ := m.Gauge().DataPoints().At(i).Attributes().Get("stream")
			out = append(out, s.Str())
		}
	})
	return out
}

// gaugePoints is the newest emission's gauge name as "tenant attrValue" → value.
func gaugePoints(sink *consumertest.MetricsSink, name, attr string) map[string]int64 {
	out := map[string]int64{}
	all := sink.AllMetrics()
	if len(all) == 0 {
		return out
	}
	rms := all[len(all)-1].ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		tenant, _ := rms.At(i).Resource().Attributes().Get("securityalerts.tenant")
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			for k := 0; k < sms.At(j).Metrics().Len(); k++ {
				m := sms.At(j).Metrics().At(k)
				if m.Name() != name {
					continue
				}
				for d := 0; d < m.Gauge().DataPoints().Len(); d++ {
					dp := m.Gauge().DataPoints().At(d)
					v, _ := dp.Attributes().Get(attr)
					out[tenant.Str()+" "+v.AsString()] = dp.IntValue()
				}
			}
		}
	}
	return out
}

// TestUSMCentralDocumentedConfigValidates keeps docs/sources/usm_central.md's example in step with
// the configuration.
func TestUSMCentralDocumentedConfigValidates(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "sources", "usm_central.md"))
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok, "the doc shows no yaml block")
	block, _, _ = strings.Cut(block, "```")
	path := filepath.Join(t.TempDir(), "example.yaml")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o600))
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	sub, err := cm.Sub("receivers::securityalerts/central")
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	c := cfg.USMCentral.Get()
	assert.Equal(t, []string{"lab"}, c.Deployments.Exclude)
	assert.Equal(t, map[string][]string{"alarm.suppressed": {"false"}}, c.Alarms.find("alarm"))
	assert.Equal(t, []string{"acme"}, c.Deployments.USMAnywhere.names())
}
