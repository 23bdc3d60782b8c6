//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// TestAlertRulesOnRealPrometheus runs the built collector on all four simulated sources with its
// prometheusremotewrite exporter writing to a real Prometheus (Debian's package) that has
// docs/alerts/securityalerts.rules.yml loaded, then sets off a burst of alarms and waits for the
// alarm-rate alert to fire. On the way it checks the series and their labels, and that every
// expression of the rules and of the Grafana dashboard evaluates on the real data.
func TestAlertRulesOnRealPrometheus(t *testing.T) {
	prom := startPrometheus(t)

	sim := simulator.New(simulator.Options{Seed: 7, Backlog: 30, Lookback: time.Hour, TrendCASPerMinute: 100_000, TrendCASPerDay: 100_000})
	simURL, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	startCollector(t, writeRemoteWriteConfig(t, simURL, prom.url+"/api/v1/write"))

	for _, source := range []string{"usm_anywhere", "usm_central", "cisco_gta", "trend_cas"} {
		records := fmt.Sprintf(`securityalerts_records_total{source=%q}`, source)
		waitFor(t, 60*time.Second, records+" in Prometheus", func() bool { return len(prom.query(t, records)) > 0 })
		for _, s := range prom.query(t, records) {
			for _, label := range []string{"kind", "severity", "securityalerts_source", "securityalerts_tenant"} {
				require.NotEmpty(t, s.Metric[label], "series %v lacks the %s label", s.Metric, label)
			}
		}
	}
	waitFor(t, 30*time.Second, "every metric of the four sources in Prometheus", func() bool {
		for _, expr := range []string{
			`securityalerts_risk_score_total`, `securityalerts_api_requests_total`, `securityalerts_api_request_duration_seconds_total`,
			`securityalerts_poll_lag_seconds`,
			`securityalerts_alerts_open{source="usm_anywhere"}`, `securityalerts_alerts_open{source="usm_central"}`, `securityalerts_alerts_open{source="cisco_gta"}`,
			`securityalerts_deployments{source="usm_central", connection_status="connected"}`,
			`securityalerts_deployments{source="usm_central", connection_status="disconnected"}`,
			`securityalerts_api_quota_remaining{source="trend_cas"}`,
		} {
			if len(prom.query(t, expr)) == 0 {
				return false
			}
		}
		return true
	})
	// These two wait minutes before firing; that they are pending shows the series they watch.
	waitFor(t, 30*time.Second, "SecurityAlertsDeploymentDisconnected pending for usm_central", func() bool {
		return prom.alertState(t, "SecurityAlertsDeploymentDisconnected", "usm_central") != ""
	})
	waitFor(t, 30*time.Second, "SecurityAlertsTrendQuotaLow pending for trend_cas", func() bool {
		return prom.alertState(t, "SecurityAlertsTrendQuotaLow", "trend_cas") != ""
	})
	for _, expr := range append(ruleExpressions(t), dashboardExpressions(t)...) {
		prom.query(t, expr) // fails the test on a query Prometheus refuses
	}

	require.NoError(t, sim.Burst("usm_anywhere", "alarm", 3000))
	waitFor(t, 4*time.Minute, "SecurityAlertsAlarmRateSpike firing for usm_anywhere", func() bool {
		return prom.firing(t, "SecurityAlertsAlarmRateSpike", "usm_anywhere")
	})
	require.True(t, prom.firing(t, "SecurityAlertsCriticalRecord", "usm_anywhere"), "critical alarms of the burst did not fire SecurityAlertsCriticalRecord")
}

type prometheus struct{ url string }

func startPrometheus(t *testing.T) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("SKIPPED: prometheus is not installed: `make integration-test` installs Debian's prometheus package, which failed here")
	}
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  evaluation_interval: 1s\nrule_files:\n  - %s\n", filepath.Join(repoRoot(), "docs", "alerts", "securityalerts.rules.yml"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600))
	addr := freeLoopbackAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--log.level=warn",
	)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	p := &prometheus{url: "http://" + addr}
	waitFor(t, 30*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

type promSample struct {
	Metric map[string]string `json:"metric"`
}

// api GETs a Prometheus HTTP API path and decodes its data, failing the test on an error answer.
func (p *prometheus) api(t *testing.T, path string, data any) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "success", body.Status, "%s: %s", path, body.Error)
	require.NoError(t, json.Unmarshal(body.Data, data))
}

func (p *prometheus) query(t *testing.T, expr string) []promSample {
	t.Helper()
	var data struct {
		Result json.RawMessage `json:"result"`
	}
	p.api(t, "/api/v1/query?query="+url.QueryEscape(expr), &data)
	var samples []promSample
	_ = json.Unmarshal(data.Result, &samples) // a scalar answer has no series
	return samples
}

func (p *prometheus) firing(t *testing.T, alert, source string) bool {
	return p.alertState(t, alert, source) == "firing"
}

// alertState is the state of alert for source: pending, firing, or "" when it is inactive.
func (p *prometheus) alertState(t *testing.T, alert, source string) string {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	p.api(t, "/api/v1/alerts", &data)
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == alert && a.Labels["source"] == source {
			return a.State
		}
	}
	return ""
}

func ruleExpressions(t *testing.T) []string {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "alerts", "securityalerts.rules.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &rules))
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	require.NotEmpty(t, exprs)
	return exprs
}

// dashboardExpressions returns the dashboard's queries with Grafana's variables filled in.
func dashboardExpressions(t *testing.T) []string {
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "dashboards", "securityalerts.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &dash))
	fill := strings.NewReplacer("$__rate_interval", "1m", "$source", ".*")
	var exprs []string
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, fill.Replace(target.Expr))
		}
	}
	require.NotEmpty(t, exprs)
	return exprs
}

func writeRemoteWriteConfig(t *testing.T, simURL, writeURL string) string {
	config := fmt.Sprintf(`
receivers:
  securityalerts:
    poll_interval: 1s
    initial_lookback: 2h
    usm_anywhere:
      endpoint: %[1]s
      client_id: sim-client
      client_secret: sim-secret
      alarms: {enabled: true}
      events: {enabled: true}
      page_size: 500
    usm_central:
      endpoint: %[1]s
      client_id: sim-client
      client_secret: sim-secret
    cisco_gta:
      endpoint: %[1]s
      token_url: %[1]s/iroh/oauth2/token
      client_id: sim-client
      client_secret: sim-secret
    trend_cas:
      endpoint: %[1]s
      token: sim-trend-token
      services: [exchange, onedrive]
      requests_per_minute: 100000
      # a day's quota the simulated token spends at once, so that the quota rule has work
      requests_per_day: 1500
      query_delay: 0s
exporters:
  debug:
    verbosity: basic
  prometheus_remote_write:
    endpoint: %[2]s
    resource_to_telemetry_conversion:
      enabled: true
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [securityalerts]
      exporters: [debug]
    metrics:
      receivers: [securityalerts]
      exporters: [prometheus_remote_write]
`, simURL, writeURL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return path
}

// repoRoot is two levels above this package, where go test runs its tests (not found from the
// source file's path, which -trimpath rewrites).
func repoRoot() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}

func freeLoopbackAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
