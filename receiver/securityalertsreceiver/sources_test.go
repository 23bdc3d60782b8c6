package securityalertsreceiver

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/internal/simulator"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// headerAuth is an authenticator extension that adds one header, as a real one adds a token.
type headerAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

const authHeader = "X-Auth-Extension"

func (headerAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.Header.Set(authHeader, "api-token")
		return base.RoundTrip(req)
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// headerLog remembers, per origin, which of the watched headers each request carried.
type headerLog struct {
	mu   sync.Mutex
	seen map[string]map[string]int // origin → header → requests carrying it
	all  map[string]int
}

func (l *headerLog) wrap(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.all[origin]++
		for _, h := range []string{"X-Api-Key", authHeader, instanceHeader} {
			if r.Header.Get(h) != "" {
				l.seen[origin][h]++
			}
		}
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *headerLog) count(origin, header string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if header == "" {
		return l.all[origin]
	}
	return l.seen[origin][header]
}

// The API's headers, its authenticator and the instance header go to the API only: the token
// request, to another origin, carries what OAuth needs and nothing else.
func TestTokenRequestsCarryNoneOfTheAPIsHeaders(t *testing.T) {
	sim := simulator.New(simulator.Options{Seed: 8, Backlog: 5})
	t.Cleanup(sim.Close)
	log := &headerLog{seen: map[string]map[string]int{"api": {}, "token": {}}, all: map[string]int{}}
	api := httptest.NewServer(log.wrap("api", sim.Handler()))
	token := httptest.NewServer(log.wrap("token", sim.Handler()))
	t.Cleanup(api.Close)
	t.Cleanup(token.Close)

	authID := component.MustNewID("headerauth")
	cfg := createDefaultConfig().(*Config)
	cfg.PollInterval = time.Second
	cfg.SendInstanceID = true
	c := defaultCiscoGTAConfig()
	c.Endpoint, c.TokenURL = api.URL, token.URL+"/iroh/oauth2/token"
	c.ClientID, c.ClientSecret = "sim-client", "sim-secret"
	c.Headers = configopaque.MapList{{Name: "X-Api-Key", Value: "api-only"}}
	c.Auth = configoptional.Some(configauth.Config{AuthenticatorID: authID})
	cfg.CiscoGTA = configoptional.Some(c)

	set := receivertest.NewNopSettings(metadata.Type)
	set.Resource.Attributes().PutStr("service.instance.id", "replica-1")
	logs := &consumertest.LogsSink{}
	stop := runWith(t, set, cfg, electorHost(authID, headerAuth{}), logs, nil)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 10 }, 10*time.Second, 10*time.Millisecond)
	stop()

	require.Positive(t, log.count("token", ""), "no token request was made")
	for _, h := range []string{"X-Api-Key", authHeader, instanceHeader} {
		assert.Zero(t, log.count("token", h), "token requests carried %s", h)
		assert.Equal(t, log.count("api", ""), log.count("api", h), "API requests without %s", h)
	}
}

// The collector's identity goes to a vendor only when the user opts in.
func TestInstanceHeaderIsOptIn(t *testing.T) {
	for _, opted := range []bool{false, true} {
		sim, url := recordingSimulator(t, 5)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Resource.Attributes().PutStr("service.instance.id", "replica-7")
		cfg := simConfig(url)
		cfg.SendInstanceID = opted
		logs := &consumertest.LogsSink{}
		stop := runWith(t, set, cfg, componenttest.NewNopHost(), logs, nil)
		require.Eventually(t, func() bool { return logs.LogRecordCount() == 10 }, 10*time.Second, 10*time.Millisecond)
		stop()
		require.NotEmpty(t, sim.Requests())
		for _, r := range sim.Requests() {
			want := ""
			if opted && r.Path != "/api/2.0/oauth/token" {
				want = "replica-7"
			}
			assert.Equal(t, want, r.Client, "send_instance_id: %v: %s %s", opted, r.Method, r.Path)
		}
	}
}

// A plain-http URL across a network is warned of, by key, without its user info.
func TestPlainHTTPIsWarnedOfByKey(t *testing.T) {
	core, logged := observer.New(zapcore.WarnLevel)
	warnIfPlainHTTP(zap.New(core), "cisco_gta", "token_url", "http://id:secret@visibility.example.test/iroh/oauth2/token?x=1")
	warnIfPlainHTTP(zap.New(core), "cisco_gta", "endpoint", "http://127.0.0.1:8080")
	warnIfPlainHTTP(zap.New(core), "cisco_gta", "endpoint", "https://api.example.test")
	entries := logged.All()
	require.Len(t, entries, 1)
	fields := entries[0].ContextMap()
	assert.Equal(t, "token_url", fields["key"])
	assert.Equal(t, "http://visibility.example.test/iroh/oauth2/token", fields["endpoint"])
}
