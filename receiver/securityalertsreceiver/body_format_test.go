package securityalertsreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestBodyFormatDefaultsToVendorAndTakesOCSF(t *testing.T) {
	usm := map[string]any{"endpoint": "https://acme.alienvault.cloud", "client_id": "id", "client_secret": "s"}
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(sourceBlock("usm_anywhere", usm, nil)).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, BodyFormatVendor, cfg.BodyFormat, "today's bodies unless asked otherwise")

	conf := sourceBlock("usm_anywhere", usm, nil)
	conf["body_format"] = "ocsf"
	cfg = createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(conf).Unmarshal(cfg))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, BodyFormatOCSF, cfg.BodyFormat)

	for _, bad := range []string{"OCSF", "ecs", ""} {
		conf["body_format"] = bad
		requireInvalid(t, conf, `body_format: "`+bad+`" must be vendor or ocsf`)
	}
}
