package engine

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// A server asking for a day's pause (or a misconfigured proxy sending a huge Retry-After) must
// not stall a stream for that long: the wait is capped.
func TestRetryAfterIsCapped(t *testing.T) {
	core, logged := observer.New(zapcore.WarnLevel)
	cfg := testSettings().Retry
	cfg.MaxElapsedTime = 0 // retry for ever: only the cap bounds the wait
	// One wait is enough to see how long it would be: the context ends during it.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := retry(ctx, cfg, zap.New(core), "fetch", func() (struct{}, error) {
		return struct{}{}, &apiclient.HTTPError{Status: http.StatusTooManyRequests, RetryAfter: 24 * time.Hour}
	})
	require.Error(t, err)
	entries := logged.FilterMessage("Retrying fetch").All()
	require.Len(t, entries, 1)
	wait, ok := entries[0].ContextMap()["in"].(time.Duration)
	require.True(t, ok, "%v", entries[0].ContextMap())
	assert.LessOrEqual(t, wait, 5*time.Minute, "a day's Retry-After is obeyed as is")
	assert.Positive(t, wait)
}
