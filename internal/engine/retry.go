package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap"
)

// retry runs op under the configured backoff, honouring a server's Retry-After and stopping at
// once on permanent errors.
func retry[T any](ctx context.Context, cfg configretry.BackOffConfig, log *zap.Logger, what string, op func() (T, error)) (T, error) {
	opts := []backoff.RetryOption{backoff.WithNotify(func(err error, wait time.Duration) {
		log.Warn("Retrying "+what, zap.Duration("in", wait), zap.Error(err))
	})}
	if !cfg.Enabled {
		opts = append(opts, backoff.WithMaxTries(1))
	} else {
		expo := backoff.NewExponentialBackOff()
		expo.InitialInterval = cfg.InitialInterval
		expo.RandomizationFactor = cfg.RandomizationFactor
		expo.Multiplier = cfg.Multiplier
		expo.MaxInterval = cfg.MaxInterval
		opts = append(opts, backoff.WithBackOff(expo), backoff.WithMaxElapsedTime(cfg.MaxElapsedTime))
	}
	v, err := backoff.Retry(ctx, op, opts...)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (stopped: %w)", err, ctx.Err())
	}
	return v, err
}
