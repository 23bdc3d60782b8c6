package etcdextension

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// session is this collector's lease in etcd, on which every key it owns hangs. Its context ends
// before etcd could have expired the lease: once it ends, this replica must act as if it owned
// nothing, even if it cannot reach etcd to learn whether the lease really expired.
type session struct {
	*concurrency.Session
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// openSession grants a lease of ttl and keeps it alive. The etcd client's own keep-alive would
// end the session only once the client's view of the lease ran out, which is later than etcd's
// own expiry by a network delay. So a second loop renews it too, timing each renewal from
// before it was sent: etcd cannot expire the lease before sent+ttl, and the session's context
// ends a quarter of the TTL earlier still, which is time enough to stop polling.
func openSession(ctx context.Context, client *clientv3.Client, ttl time.Duration, log *zap.Logger) (*session, error) {
	seconds := int64(ttl / time.Second)
	sent := time.Now()
	grant, err := client.Grant(ctx, seconds)
	if err != nil {
		return nil, fmt.Errorf("granting a lease: %w", err)
	}
	cs, err := concurrency.NewSession(client, concurrency.WithLease(grant.ID), concurrency.WithTTL(int(seconds)))
	if err != nil {
		revokeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
		_, _ = client.Revoke(revokeCtx, grant.ID)
		cancel()
		return nil, fmt.Errorf("keeping the lease alive: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &session{Session: cs, ctx: sctx, cancel: cancel, done: make(chan struct{})}
	go s.guard(client, sent.Add(time.Duration(grant.TTL)*time.Second), ttl, log)
	return s, nil
}

// guard renews the lease every third of its TTL and ends the session's context once the lease
// may be about to expire, or the client's keep-alive gave up. Renewals run aside, so that one
// stuck on an unreachable etcd cannot hold the deadline up.
func (s *session) guard(client *clientv3.Client, validUntil time.Time, ttl time.Duration, log *zap.Logger) {
	defer close(s.done)
	defer s.cancel()
	margin := ttl / 4
	deadline := time.NewTimer(time.Until(validUntil) - margin)
	defer deadline.Stop()
	renew := time.NewTicker(ttl / 3)
	defer renew.Stop()
	type renewal struct {
		sent time.Time
		ttl  int64
		err  error
	}
	renewed := make(chan renewal, 1)
	pending := false
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.Session.Done():
			log.Warn("etcd session ended: this replica owns nothing until it has a new one")
			return
		case <-deadline.C:
			log.Warn("etcd lease could not be renewed in time: this replica owns nothing until it has a new one")
			return
		case <-renew.C:
			if pending {
				continue
			}
			pending = true
			go func() {
				sent := time.Now()
				ctx, cancel := context.WithTimeout(s.ctx, ttl)
				defer cancel()
				resp, err := client.KeepAliveOnce(ctx, s.Lease())
				r := renewal{sent: sent, err: err}
				if err == nil {
					r.ttl = resp.TTL
				}
				renewed <- r
			}()
		case r := <-renewed:
			pending = false
			switch {
			case errors.Is(r.err, rpctypes.ErrLeaseNotFound):
				log.Warn("etcd lease expired: this replica owns nothing until it has a new one")
				return
			case r.err != nil:
				if s.ctx.Err() == nil {
					log.Warn("Renewing the etcd lease failed", zap.Error(r.err))
				}
			default:
				deadline.Reset(time.Until(r.sent.Add(time.Duration(r.ttl)*time.Second)) - margin)
			}
		}
	}
}

// close ends the session and revokes the lease, so that what it owned is free at once rather
// than after the TTL. If etcd cannot be reached the lease simply expires.
func (s *session) close(timeout time.Duration) {
	s.cancel()
	<-s.done
	s.Session.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, _ = s.Client().Revoke(ctx, s.Lease())
}
