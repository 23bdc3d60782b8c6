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

// maxRetryAfter caps a server's Retry-After: a day's pause asked by a confused proxy (or a quota
// that resets at midnight) must not stall a stream that long. Retrying sooner costs one refused
// request per maxRetryAfter.
const maxRetryAfter = 5 * time.Minute

// retry runs op under the configured backoff, honouring a server's Retry-After up to
// maxRetryAfter, and stopping at once on permanent errors.
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
	v, err := backoff.Retry(ctx, func() (T, error) {
		v, err := op()
		return v, capRetryAfter(err)
	}, opts...)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (stopped: %w)", err, ctx.Err())
	}
	return v, err
}

// capRetryAfter puts a Retry-After of at most maxRetryAfter in front of err's longer one: the
// backoff reads the first it finds.
func capRetryAfter(err error) error {
	var after *backoff.RetryAfterError
	if errors.As(err, &after) && after.Duration > maxRetryAfter {
		return cappedRetryAfter{err}
	}
	return err
}

type cappedRetryAfter struct{ error }

func (c cappedRetryAfter) Unwrap() []error {
	return []error{&backoff.RetryAfterError{Duration: maxRetryAfter}, c.error}
}
