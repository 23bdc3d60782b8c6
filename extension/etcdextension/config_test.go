package etcdextension

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
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
		{map[string]any{"tls": map[string]any{"insecure": false, "min_version": "0.9"}}, "tls: "},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := confmap.Validate(load(t, tc.raw))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
