package etcdextension

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// subscription is one pair of callbacks registered for a key. Each gets its own context for a
// term, ended just before its onStop is called.
type subscription struct {
	onStart func(context.Context)
	onStop  func()
	end     context.CancelFunc
}

func (sub *subscription) start(term context.Context) {
	ctx, cancel := context.WithCancel(term)
	sub.end = cancel
	sub.onStart(ctx)
}

func (sub *subscription) stop() {
	sub.end()
	sub.onStop()
}

// candidate is a key this replica stands for, with everyone who wants to know when it leads.
// Callbacks run under mu, so that a subscription added or removed during a term is told of it
// exactly once; they must not call back into the extension.
type candidate struct {
	key  string
	mu   sync.Mutex
	subs []*subscription
	term context.Context // set while leading
}

func (c *candidate) add(sub *subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, sub)
	if c.term != nil {
		sub.start(c.term)
	}
}

// remove drops sub, telling it the term ended if one runs.
func (c *candidate) remove(sub *subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.subs, sub); i >= 0 {
		c.subs = slices.Delete(c.subs, i, i+1)
		if c.term != nil {
			sub.stop()
		}
	}
}

func (c *candidate) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

func (c *candidate) started(term context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term = term
	for _, sub := range c.subs {
		sub.start(term)
	}
}

// stopped tells every subscriber the term ended; each returns once it stopped using the term.
func (c *candidate) stopped() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term = nil
	for _, sub := range c.subs {
		sub.stop()
	}
}

// campaign runs one candidate's elections within one session: it campaigns while the key is
// assigned to this replica and, once elected, leads until the key is assigned elsewhere, the
// candidate is withdrawn or the session ends.
type campaign struct {
	*candidate
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	desired bool
	stop    context.CancelFunc // ends the current campaign or term
	poke    chan struct{}
}

func startCampaign(s *session, c *candidate, electionPrefix, name string, timeout time.Duration, log *zap.Logger) *campaign {
	ctx, cancel := context.WithCancel(s.ctx)
	k := &campaign{candidate: c, cancel: cancel, done: make(chan struct{}), poke: make(chan struct{}, 1)}
	go func() {
		defer close(k.done)
		k.run(ctx, s, electionPrefix, name, timeout, log.With(zap.String("key", c.key)))
	}()
	return k
}

// setDesired says whether the key is assigned to this replica; losing it ends the term at once.
func (k *campaign) setDesired(desired bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.desired = desired
	if !desired && k.stop != nil {
		k.stop()
	}
	if desired {
		select {
		case k.poke <- struct{}{}:
		default:
		}
	}
}

// end stops the campaign and returns once its term (if any) ended and was resigned.
func (k *campaign) end() {
	k.cancel()
	<-k.done
}

func (k *campaign) run(ctx context.Context, s *session, electionPrefix, name string, timeout time.Duration, log *zap.Logger) {
	for {
		k.mu.Lock()
		desired := k.desired
		var cctx context.Context
		if desired {
			cctx, k.stop = context.WithCancel(ctx)
		}
		k.mu.Unlock()
		var retry <-chan time.Time
		if desired {
			if !k.lead(cctx, s, electionPrefix, name, timeout, log) {
				retry = time.After(time.Second)
			}
			k.mu.Lock()
			k.stop()
			k.stop = nil
			k.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-k.poke:
		case <-retry: // the campaign failed: again, if the key is still assigned here
		}
	}
}

// lead campaigns and, once elected, holds the term until ctx ends; then it tells the
// subscribers, and only once they stopped does it resign, handing the key over. It reports
// whether the campaign failed for another reason than ctx ending.
func (k *campaign) lead(ctx context.Context, s *session, electionPrefix, name string, timeout time.Duration, log *zap.Logger) (failed bool) {
	election := concurrency.NewElection(s.Session, electionPrefix)
	if err := election.Campaign(ctx, name); err != nil {
		if ctx.Err() == nil {
			log.Warn("Campaign failed", zap.Error(err))
		}
		// A campaign cut short may have left its place in the queue behind (its first write
		// can land after the client gave up on it): the replicas it is assigned to would wait
		// behind it until this session ends.
		rctx, cancel := context.WithTimeout(s.ctx, timeout)
		defer cancel()
		if _, err := s.Client().Delete(rctx, fmt.Sprintf("%s/%x", electionPrefix, s.Lease())); err != nil && s.ctx.Err() == nil {
			log.Warn("Leaving the election queue failed", zap.Error(err))
		}
		return ctx.Err() == nil
	}
	log.Info("Elected", zap.Int64("revision", election.Rev()))
	k.started(withFence(ctx, fence{key: election.Key(), rev: election.Rev()}))
	<-ctx.Done()
	k.stopped()
	rctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := election.Resign(rctx); err != nil && s.ctx.Err() == nil {
		log.Warn("Resigning failed; the key is free once the lease expires", zap.Error(err))
	}
	log.Info("Stepped down")
	return false
}
