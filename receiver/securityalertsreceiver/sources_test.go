package securityalertsreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// The collector's identity goes to a vendor only when the user opts in.
func TestInstanceHeaderIsOptIn(t *testing.T) {
	for _, opted := range []bool{false, true} {
		usm := newFakeUSM(t)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Resource.Attributes().PutStr("service.instance.id", "replica-7")
		cfg := testConfig(usm.URL)
		cfg.SendInstanceID = opted
		logs := &consumertest.LogsSink{}
		stop := runWith(t, set, cfg, componenttest.NewNopHost(), logs, nil)
		require.Eventually(t, func() bool { return logs.LogRecordCount() == 4 }, 10*time.Second, 10*time.Millisecond)
		stop()
		require.NotEmpty(t, usm.requestHeaders())
		for _, h := range usm.requestHeaders() {
			want := ""
			if opted && h.Get("Path") != "/api/2.0/oauth/token" {
				want = "replica-7"
			}
			assert.Equal(t, want, h.Get(instanceHeader), "send_instance_id: %v: %s", opted, h.Get("Path"))
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
