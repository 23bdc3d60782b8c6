package securityalertsreceiver

import (
	"os"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/plog"
)

// sourceBlock is the configuration {key: base with overrides}; a nil override removes the key.
func sourceBlock(key string, base, overrides map[string]any) map[string]any {
	block := map[string]any{}
	for k, v := range base {
		block[k] = v
	}
	for k, v := range overrides {
		if v == nil {
			delete(block, k)
		} else {
			block[k] = v
		}
	}
	return map[string]any{key: block}
}

// requireGoldenLogs compares actual with the golden file at path, rewriting it first when
// UPDATE_GOLDEN is set.
func requireGoldenLogs(t *testing.T, path string, actual plog.Logs) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, golden.WriteLogs(t, path, actual))
	}
	expected, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(expected, actual, plogtest.IgnoreObservedTimestamp(), plogtest.IgnoreLogRecordsOrder()))
}

// requireInvalid checks that conf loads but fails validation with a message containing want.
func requireInvalid(t *testing.T, conf map[string]any, want string) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
}
