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
	session        *session
	electionPrefix string
	name           string
	timeout        time.Duration
	log            *zap.Logger
	cancel         context.CancelFunc
	done           chan struct{}

	mu      sync.Mutex
	desired bool               // the key is assigned to this replica
	queued  bool               // etcd shows this replica in the key's election
	stop    context.CancelFunc // ends the current campaign or term
	poke    chan struct{}
}

func startCampaign(s *session, c *candidate, electionPrefix, name string, timeout time.Duration, log *zap.Logger) *campaign {
	ctx, cancel := context.WithCancel(s.ctx)
	k := &campaign{
		candidate: c, session: s, electionPrefix: electionPrefix, name: name, timeout: timeout,
		log: log.With(zap.String("key", c.key)), cancel: cancel, done: make(chan struct{}), poke: make(chan struct{}, 1),
	}
	go func() {
		defer close(k.done)
		k.run(ctx)
	}()
	return k
}

// update says whether the key is assigned to this replica, and whether etcd shows this replica
// in the key's election. Losing the key ends the term at once.
func (k *campaign) update(desired, queued bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.desired, k.queued = desired, queued
	if !desired && k.stop != nil {
		k.stop()
	}
	if desired || queued {
		signal(k.poke)
	}
}

// end stops the campaign and returns once its term (if any) ended and was resigned.
func (k *campaign) end() {
	k.cancel()
	<-k.done
}

func (k *campaign) run(ctx context.Context) {
	for {
		k.mu.Lock()
		desired, queued := k.desired, k.queued
		var cctx context.Context
		if desired {
			cctx, k.stop = context.WithCancel(ctx)
		}
		k.mu.Unlock()
		var retry <-chan time.Time
		switch {
		case desired:
			if failed := k.lead(cctx); failed {
				retry = time.After(time.Second)
			}
			k.mu.Lock()
			k.stop()
			k.stop = nil
			k.mu.Unlock()
		case queued:
			// A campaign cut short can leave its place in the queue behind, even after this
			// replica deleted it: its first write may reach etcd after the client gave up on it.
			// The replica the key is assigned to would wait behind it until this session ends.
			// Only this goroutine campaigns for the key, so no campaign of ours is under way.
			k.leaveQueue()
		}
		select {
		case <-ctx.Done():
			return
		case <-k.poke:
		case <-retry: // the campaign failed: again, if the key is still assigned here
		}
	}
}

func (k *campaign) leaveQueue() {
	ctx, cancel := context.WithTimeout(k.session.ctx, k.timeout)
	defer cancel()
	if _, err := k.session.Client().Delete(ctx, fmt.Sprintf("%s/%x", k.electionPrefix, k.session.Lease())); err != nil && k.session.ctx.Err() == nil {
		k.log.Warn("Leaving the election queue failed", zap.Error(err))
	}
}

// lead campaigns and, once elected, holds the term until ctx ends; then it tells the
// subscribers, and only once they stopped does it resign, handing the key over. It reports
// whether the campaign failed for another reason than ctx ending.
func (k *campaign) lead(ctx context.Context) (failed bool) {
	election := concurrency.NewElection(k.session.Session, k.electionPrefix)
	if err := election.Campaign(ctx, k.name); err != nil {
		if ctx.Err() == nil {
			k.log.Warn("Campaign failed", zap.Error(err))
		}
		k.leaveQueue()
		return ctx.Err() == nil
	}
	k.log.Info("Elected", zap.Int64("revision", election.Rev()))
	k.started(withFence(ctx, fence{key: election.Key(), rev: election.Rev()}))
	<-ctx.Done()
	k.stopped()
	rctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	if err := election.Resign(rctx); err != nil && k.session.ctx.Err() == nil {
		k.log.Warn("Resigning failed; the key is free once the lease expires", zap.Error(err))
	}
	k.log.Info("Stepped down")
	return false
}
