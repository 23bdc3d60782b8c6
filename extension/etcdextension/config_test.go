package etcdextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func load(t *testing.T, raw map[string]any) *Config {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	return cfg
}

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := load(t, nil)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, 10*time.Second, cfg.SessionTTL)
	assert.Equal(t, "/otelcol/", cfg.KeyPrefix)
}

func TestConfigKeys(t *testing.T) {
	cfg := load(t, map[string]any{
		"endpoints":   []any{"https://etcd-1:2379", "etcd-2:2379"},
		"key_prefix":  "/prod/",
		"session_ttl": "15s",
		"tls":         map[string]any{"insecure": false, "server_name_override": "etcd"},
		"username":    "collector",
		"password":    "secret",
	})
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, []string{"https://etcd-1:2379", "etcd-2:2379"}, cfg.Endpoints)
	assert.Equal(t, 15*time.Second, cfg.SessionTTL)
	assert.False(t, cfg.TLS.Insecure)
}

func TestInvalidConfigNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"endpoints": []any{}}, "endpoints: must be set"},
		{map[string]any{"endpoints": []any{"http://ok:2379", "ftp://etcd:2379"}}, `endpoints[1]: "ftp://etcd:2379" must be host:port`},
		{map[string]any{"endpoints": []any{"etcd"}}, `endpoints[0]: "etcd" must be host:port`},
		{map[string]any{"endpoints": []any{"https://etcd:2379"}}, "endpoints[0]: an https:// endpoint needs tls.insecure: false"},
		{map[string]any{"key_prefix": ""}, "key_prefix: must be set"},
		{map[string]any{"session_ttl": "1s"}, "session_ttl: must be whole seconds"},
		{map[string]any{"session_ttl": "2500ms"}, "session_ttl: must be whole seconds"},
		{map[string]any{"dial_timeout": "0s"}, "dial_timeout: must be greater than zero"},
		{map[string]any{"request_timeout": "-1s"}, "request_timeout: must be greater than zero"},
		{map[string]any{"password": "secret"}, "password: must be set together with username"},
		{map[string]any{"endpoints": []any{"http://etcd:2379"}, "tls": map[string]any{"insecure": false}}, "endpoints[0]: an http:// endpoint is never encrypted"},
		{map[string]any{"endpoints": []any{"http://127.0.0.1:2379", "http://etcd:2379", "etcd-2:2379"}, "username": "collector", "password": "secret"},
			"password: sent to http://etcd:2379, etcd-2:2379 would cross the network in clear text"},
		{map[string]any{"endpoints": []any{"http://collector:secret@etcd:2379/x", "etcd"}}, `endpoints[1]: "etcd" must be host:port`},
		{map[string]any{"tls": map[string]any{"insecure": false, "min_version": "0.9"}}, "tls: "},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := confmap.Validate(load(t, tc.raw))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// A password goes in clear only where no network is crossed, or where the user said so.
func TestPasswordOverPlaintext(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]any
	}{
		{"loopback", map[string]any{"endpoints": []any{"http://127.0.0.1:2379", "localhost:2379", "http://[::1]:2379"}}},
		{"tls", map[string]any{"endpoints": []any{"https://etcd:2379", "etcd-2:2379"}, "tls": map[string]any{"insecure": false}}},
		{"allowed", map[string]any{"endpoints": []any{"http://etcd:2379"}, "allow_plaintext_password": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["username"], tc.raw["password"] = "collector", "secret"
			require.NoError(t, confmap.Validate(load(t, tc.raw)))
		})
	}
}

func TestRedactDropsUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"http://collector:secret@etcd:2379/x": "http://etcd:2379/x",
		"collector:secret@etcd:2379":          "etcd:2379",
		"https://etcd:2379":                   "https://etcd:2379",
		"etcd:2379":                           "etcd:2379",
		"http://etcd:2379/a@b":                "http://etcd:2379/a@b",
	} {
		assert.Equal(t, want, redact(in), in)
	}
}

// A plaintext endpoint across a network is accepted, with a warning at start naming it.
func TestStartWarnsOfPlaintextEndpoints(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	set := extensiontest.NewNopSettings(typ)
	set.Logger = zap.New(core)
	cfg := load(t, map[string]any{"endpoints": []any{"http://127.0.0.1:1", "http://user:pw@192.0.2.1:2379"}})
	require.NoError(t, confmap.Validate(cfg))
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, ext.Shutdown(context.Background()))
	warned := logs.FilterMessageSnippet("without TLS").All()
	require.Len(t, warned, 1)
	assert.Equal(t, []any{"http://192.0.2.1:2379"}, warned[0].ContextMap()["endpoints"])
}
