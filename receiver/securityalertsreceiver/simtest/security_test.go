package simtest

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
)

// echoingProxy fronts the simulator like a proxy whose error pages quote the request: every
// fifth data request is answered 502 with the Authorization header in the body. It remembers
// every Authorization header it saw.
type echoingProxy struct {
	*httptest.Server
	mu     sync.Mutex
	n      int
	tokens map[string]bool
}

func newEchoingProxy(t *testing.T, backend http.Handler) *echoingProxy {
	p := &echoingProxy{tokens: map[string]bool{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		p.mu.Lock()
		p.n++
		echo := p.n%5 == 0 && strings.HasPrefix(auth, "Bearer ")
		if strings.HasPrefix(auth, "Bearer ") {
			p.tokens[strings.TrimPrefix(auth, "Bearer ")] = true
		}
		p.mu.Unlock()
		if echo {
			http.Error(w, "bad gateway for "+r.URL.String()+" Authorization: "+auth, http.StatusBadGateway)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *echoingProxy) secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []string{simClientSecret, base64.StdEncoding.EncodeToString([]byte(simClientID + ":" + simClientSecret))}
	for tok := range p.tokens {
		out = append(out, tok)
	}
	return out
}

// The client secret, its Basic header and every access token stay out of the logs (at debug
// level, fields included), the metrics and the checkpoint storage, through 502s that echo the
// token, token revocations and refreshes.
func TestSecretsStayOutOfLogsMetricsAndStorage(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 3, Backlog: 150, Lookback: time.Hour, TokenTTL: 2 * time.Second})
	t.Cleanup(sim.Close)
	sim.SetFaults(simulator.Faults{RevokeEvery: 300 * time.Millisecond, Rate500: 0.1})
	proxy := newEchoingProxy(t, sim.Handler())

	dir := t.TempDir()
	host, storageID := collectortest.FileStorageHost(t, dir)
	cfg := usmConfig(t, proxy.URL)
	cfg.Storage = &storageID
	cfg.USMAnywhere.Get().PageSize = 20

	core, logged := observer.New(zapcore.DebugLevel)
	set := settings(t)
	set.Logger = zap.New(core)
	logs, metrics := &consumertest.LogsSink{}, &consumertest.MetricsSink{}
	stop := runWith(t, set, cfg, host, logs, metrics)
	want := len(sim.IDs("usm_anywhere", "alarm")) + len(sim.IDs("usm_anywhere", "event"))
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= want }, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return len(metrics.AllMetrics()) > 0 }, 10*time.Second, 20*time.Millisecond)
	stop()

	secrets := proxy.secrets()
	require.Greater(t, len(secrets), 3, "the run should have used several tokens")
	echoed := false
	for _, entry := range logged.All() {
		text := entry.Message
		for k, v := range entry.ContextMap() {
			text += " " + k + "=" + fmt.Sprint(v)
		}
		echoed = echoed || strings.Contains(text, "bad gateway")
		for _, s := range secrets {
			require.NotContains(t, text, s, "log entry %q", entry.Message)
		}
	}
	require.True(t, echoed, "no 502 reached the logs: the test did not exercise the echo")

	for _, md := range metrics.AllMetrics() {
		data, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		for _, s := range secrets {
			require.NotContains(t, string(data), s)
		}
	}
	files := 0
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, s := range secrets {
			require.NotContains(t, string(data), s, "%s holds a secret", path)
		}
		return nil
	}))
	require.Positive(t, files, "no storage file was written")
}

// A server whose certificate the system does not trust is refused unless its CA is configured.
func TestTLSVerifiedByDefault(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 4, Backlog: 5, Lookback: time.Hour})
	t.Cleanup(sim.Close)
	srv := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(srv.Close)

	core, logged := observer.New(zapcore.WarnLevel)
	set := settings(t)
	set.Logger = zap.New(core)
	logs := &consumertest.LogsSink{}
	stop := runWith(t, set, usmConfig(t, srv.URL), componenttest.NewNopHost(), logs, nil)
	require.Eventually(t, func() bool {
		return len(logged.FilterMessageSnippet("Poll failed").All()) > 0
	}, 10*time.Second, 20*time.Millisecond)
	stop()
	assert.Zero(t, logs.LogRecordCount())
	failure := logged.FilterMessageSnippet("Poll failed").All()[0].ContextMap()["error"]
	assert.Contains(t, fmt.Sprint(failure), "certificate")

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	cfg := usmConfig(t, srv.URL)
	cfg.USMAnywhere.Get().TLS.CAFile = caFile
	logs = &consumertest.LogsSink{}
	stop = run(t, cfg, componenttest.NewNopHost(), logs, nil)
	defer stop()
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 10 }, 10*time.Second, 20*time.Millisecond)
}

// A response that never comes is given up at the configured timeout and retried; the records
// arrive once the server answers again.
func TestStalledRequestTimesOutAndIsRetried(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 5, Backlog: 5, Lookback: time.Hour})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.SetFaults(simulator.Faults{StallRate: 1, StallFor: time.Hour})

	cfg := usmConfig(t, srv.URL)
	cfg.USMAnywhere.Get().Timeout = 100 * time.Millisecond
	cfg.RetryOnFailure.MaxElapsedTime = 0 // retry until it works
	logs, metrics := &consumertest.LogsSink{}, &consumertest.MetricsSink{}
	stop := run(t, cfg, componenttest.NewNopHost(), logs, metrics)
	defer stop()
	require.Eventually(t, func() bool {
		return collectortest.SumValue(metrics, "securityalerts.api.requests", map[string]string{"http.response.status_code": "0"}) >= 2
	}, 10*time.Second, 20*time.Millisecond, "timed-out requests are counted with status 0")
	assert.Zero(t, logs.LogRecordCount())
	sim.SetFaults(simulator.Faults{})
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 10 }, 10*time.Second, 20*time.Millisecond)
}
