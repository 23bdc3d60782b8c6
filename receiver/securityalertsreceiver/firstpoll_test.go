package securityalertsreceiver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

var trendPair = namedStream{"trend_cas", "trend_cas/exchange/securityrisk"}

func newObservedFirstPoll(streams ...engine.Stream) (*firstPoll, *observer.ObservedLogs) {
	core, logged := observer.New(zapcore.InfoLevel)
	quotas := map[string]quotaLeft{"trend_cas": func(context.Context) (int64, error) { return 14399, nil }}
	return newFirstPoll(zap.New(core), streams, quotas), logged
}

// tableLines returns the lines of the table logged as the i-th message.
func tableLines(t *testing.T, logged *observer.ObservedLogs, i int) []string {
	t.Helper()
	entries := logged.All()
	require.Greater(t, len(entries), i, "the table was logged")
	return strings.Split(entries[i].Message, "\n")[1:]
}

// The table goes out once every source has a result, with the vendor's error where a source
// does not work: here a token endpoint refusing the client.
func TestFirstPollTableOnceEverySourceAnswered(t *testing.T) {
	f, logged := newObservedFirstPoll(usmAlarms, usmEvents, ciscoAlerts, trendPair)
	f.delivered(usmAlarms, 57)
	f.polled(usmEvents, nil)
	f.polled(trendPair, nil)
	assert.Zero(t, logged.Len(), "cisco_gta has no result yet")
	f.polled(ciscoAlerts, backoff.Permanent(&apiclient.TokenError{Status: http.StatusUnauthorized, Err: errors.New(`token request refused: oauth2: "invalid_client" "Invalid client credentials"`)}))

	require.Equal(t, 1, logged.Len())
	assert.Equal(t, zapcore.WarnLevel, logged.All()[0].Level)
	assert.Equal(t, []string{
		`SOURCE        CREDENTIALS  FIRST PAGE                                         QUOTA LEFT            ERROR`,
		`cisco_gta     refused      not read                                           -                     cisco_gta/alerts: token request refused: oauth2: "invalid_client" "Invalid client credentials"`,
		`trend_cas     accepted     read (trend_cas/exchange/securityrisk): 0 records  14399 requests today  -`,
		`usm_anywhere  accepted     read (usm_anywhere/alarms): 57 records             -                     -`,
	}, tableLines(t, logged, 0))

	f.polled(ciscoAlerts, nil)
	assert.Equal(t, 1, logged.Len(), "the table goes out once")
}

// Of a source one of whose streams fails before the table goes out, the table shows the failure.
func TestFirstPollTableShowsAFailingStreamOverAWorkingOne(t *testing.T) {
	f, logged := newObservedFirstPoll(usmAlarms, usmEvents, ciscoAlerts)
	f.delivered(usmAlarms, 3)
	f.polled(usmEvents, unavailable("https://usm/api/2.0/events"))
	f.delivered(usmAlarms, 5)
	f.delivered(ciscoAlerts, 1)

	lines := tableLines(t, logged, 0)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^usm_anywhere +not checked +not read +- +usm_anywhere/events: GET https://usm/api/2.0/events: HTTP 503: down for maintenance$`, lines[2])
}

// After the wait, a source without a result is pending, and its row is logged when it comes.
func TestFirstPollPendingSourceLoggedLater(t *testing.T) {
	f, logged := newObservedFirstPoll(usmAlarms, ciscoAlerts)
	f.polled(usmAlarms, nil)
	f.logTable() // what the timer does after firstPollPatience

	lines := tableLines(t, logged, 0)
	require.Len(t, lines, 3)
	assert.Regexp(t, `^cisco_gta +pending +pending +- +-$`, lines[1])

	f.delivered(ciscoAlerts, 12)
	lines = tableLines(t, logged, 1)
	require.Len(t, lines, 2)
	assert.Regexp(t, `^cisco_gta +accepted +read \(cisco_gta/alerts\): 12 records`, lines[1])
	assert.Equal(t, zapcore.InfoLevel, logged.All()[1].Level)
}

// The receiver against an API refusing its client secret: the first-poll table says so with the
// token endpoint's answer, and the component status turns to an error naming the source and the
// refused credentials.
func TestRefusedSecretReportedInStatusAndFirstPollTable(t *testing.T) {
	usm := newFakeUSM(t)
	cfg := testConfig(usm.URL)
	usmCfg := cfg.USMAnywhere.Get()
	usmCfg.ClientSecret = "revoked"
	core, logged := observer.New(zapcore.InfoLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	host := newStatusHost()

	stop := runWith(t, set, cfg, host, new(consumertest.LogsSink), nil)
	defer stop()

	require.Eventually(t, func() bool { return logged.FilterMessageSnippet("First poll of each source").Len() > 0 }, 10*time.Second, 10*time.Millisecond)
	table := logged.FilterMessageSnippet("First poll of each source").All()[0].Message
	assert.Regexp(t, `usm_anywhere +refused +not read +- +usm_anywhere/(alarms|events): token request refused: .*401`, table)
	require.Eventually(t, func() bool {
		reported := host.reported()
		return len(reported) > 0 && strings.HasPrefix(reported[len(reported)-1], componentstatus.StatusRecoverableError.String())
	}, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, host.reported()[len(host.reported())-1], "usm_anywhere: credentials refused on ")
}
