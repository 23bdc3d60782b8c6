package etcdextension

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// elector stands for the keys registered with it, through one etcd session at a time. Under
// its prefix, etcd holds for every key:
//
//	cand/<key>/<member>  this member stands for the key (a replica whose receiver has the stream)
//	lead/<key>/<member>  its place in the key's election (concurrency.Election): the oldest leads
//
// where <member> is the session's lease id. Both hang on the lease, so a replica that dies
// leaves no trace once its lease expires. Every replica watches the prefix, computes the same
// assignment (assign) and campaigns only for the keys assigned to it; the election, not the
// assignment, guarantees a single leader while views differ for a moment.
type elector struct {
	prefix  string
	name    string // this replica's name, the value of its keys (for people reading etcd)
	ttl     time.Duration
	timeout time.Duration
	log     *zap.Logger

	// budgets are shared in the elector's sessions, weighted by the keys each replica leads.
	budgets *budgets

	mu         sync.Mutex
	candidates map[string]*candidate
	changed    chan struct{} // capacity 1: candidates added or withdrawn
}

func newElector(prefix, name string, ttl, timeout time.Duration, budgets *budgets, log *zap.Logger) *elector {
	return &elector{
		prefix: prefix, name: name, ttl: ttl, timeout: timeout, log: log, budgets: budgets,
		candidates: map[string]*candidate{}, changed: make(chan struct{}, 1),
	}
}

// register stands for key with these callbacks until the returned func withdraws them.
func (e *elector) register(key string, onStart func(context.Context), onStop func()) (withdraw func()) {
	sub := &subscription{onStart: onStart, onStop: onStop}
	e.mu.Lock()
	c := e.candidates[key]
	if c == nil {
		c = &candidate{key: key}
		e.candidates[key] = c
	}
	c.add(sub)
	e.mu.Unlock()
	e.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.remove(sub) // outside e.mu: it waits for the subscriber to stop
			e.mu.Lock()
			if e.candidates[key] == c && c.count() == 0 {
				delete(e.candidates, key)
			}
			e.mu.Unlock()
			e.poke()
		})
	}
}

func (e *elector) poke() { signal(e.changed) }

// signal wakes whoever waits on ch, a channel of capacity 1; a wake-up already pending is enough.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run keeps a session open until ctx ends, opening a new one whenever the last was lost.
func (e *elector) run(ctx context.Context, client *clientv3.Client) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(max(2*wait, 500*time.Millisecond), e.ttl)
		s, err := openSession(ctx, client, e.ttl, e.log)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("Cannot open an etcd session; retrying", zap.Duration("in", wait), zap.Error(err))
			}
			continue
		}
		e.log.Info("etcd session open", zap.String("member", member(s)), zap.String("replica", e.name))
		if err := e.serve(s); err != nil && s.ctx.Err() == nil {
			e.log.Warn("etcd session abandoned", zap.Error(err))
		} else {
			wait = 0
		}
		s.close(e.timeout)
	}
}

func member(s *session) string { return fmt.Sprintf("%x", s.Lease()) }

// serve stands for the registered keys while the session lasts. Leaving, it ends every term.
func (e *elector) serve(s *session) error {
	me := member(s)
	running := map[string]*campaign{}
	defer func() {
		for _, k := range running {
			k.end()
		}
	}()
	// Deferred after the terms' end, so run before it: the budgets stop sending first.
	defer e.budgets.start(s)()
	keys, wch, err := e.watch(s, nil)
	if err != nil {
		return err
	}
	for {
		if err := e.syncCandidacies(s, running); err != nil {
			return err
		}
		owners := assign(keys)
		for key, k := range running {
			k.update(owners[escape(key)] == me, keys[escape(key)].queued(me))
		}
		e.budgets.observe(leaders(keys))
		select {
		case <-s.ctx.Done():
			return nil
		case <-e.changed:
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				if keys, wch, err = e.watch(s, wr.Err()); err != nil {
					return err
				}
				continue
			}
			for _, ev := range wr.Events {
				e.apply(keys, ev.Kv, ev.Type == mvccpb.DELETE)
			}
		}
	}
}

// watch lists the prefix and watches it from there on; after a broken watch it starts over.
func (e *elector) watch(s *session, broken error) (map[string]*keyState, clientv3.WatchChan, error) {
	if broken != nil {
		e.log.Info("etcd watch interrupted; listing again", zap.Error(broken))
	}
	keys := map[string]*keyState{}
	_, wch, err := listAndWatch(s.ctx, s.Client(), e.prefix, e.timeout, func(kv *mvccpb.KeyValue) { e.apply(keys, kv, false) })
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", e.prefix, err)
	}
	return keys, wch, nil
}

// listAndWatch hands every key under prefix to apply, then watches the prefix from the
// revision listed on, so that no change between the two is missed. It returns that revision.
func listAndWatch(ctx context.Context, client *clientv3.Client, prefix string, timeout time.Duration, apply func(*mvccpb.KeyValue)) (int64, clientv3.WatchChan, error) {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	resp, err := client.Get(lctx, prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return 0, nil, err
	}
	for _, kv := range resp.Kvs {
		apply(kv)
	}
	return resp.Header.Revision, client.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)), nil
}

// apply records one key of the prefix; keys of another layout are ignored.
func (e *elector) apply(keys map[string]*keyState, kv *mvccpb.KeyValue, deleted bool) {
	parts := strings.Split(strings.TrimPrefix(string(kv.Key), e.prefix), "/")
	if len(parts) != 3 || (parts[0] != "cand" && parts[0] != "lead") {
		return
	}
	k := keys[parts[1]]
	if k == nil {
		k = &keyState{candidates: map[string]bool{}, queue: map[string]int64{}}
		keys[parts[1]] = k
	}
	switch {
	case parts[0] == "cand" && deleted:
		delete(k.candidates, parts[2])
	case parts[0] == "cand":
		k.candidates[parts[2]] = true
	case deleted:
		delete(k.queue, parts[2])
	default:
		k.queue[parts[2]] = kv.CreateRevision
	}
	if len(k.candidates) == 0 && len(k.queue) == 0 {
		delete(keys, parts[1])
	}
}

// syncCandidacies makes this session stand for exactly the registered keys.
func (e *elector) syncCandidacies(s *session, running map[string]*campaign) error {
	e.mu.Lock()
	want := make(map[string]*candidate, len(e.candidates))
	for key, c := range e.candidates {
		want[key] = c
	}
	e.mu.Unlock()
	for key, k := range running {
		if want[key] == k.candidate {
			continue
		}
		k.end()
		delete(running, key)
		if err := do(s.ctx, s.Client(), e.timeout, clientv3.OpDelete(e.candidacy(s, key))); err != nil {
			return err
		}
	}
	for key, c := range want {
		if running[key] != nil {
			continue
		}
		if err := do(s.ctx, s.Client(), e.timeout, clientv3.OpPut(e.candidacy(s, key), e.name, clientv3.WithLease(s.Lease()))); err != nil {
			return err
		}
		running[key] = startCampaign(s, c, e.prefix+"lead/"+escape(key), e.name, e.timeout, e.log)
	}
	return nil
}

func (e *elector) candidacy(s *session, key string) string {
	return e.prefix + "cand/" + escape(key) + "/" + member(s)
}

// do runs one operation within timeout.
func do(ctx context.Context, client *clientv3.Client, timeout time.Duration, op clientv3.Op) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := client.Do(ctx, op)
	return err
}

// escape keeps a key to one path segment, so that no key's prefix is another's.
func escape(key string) string { return url.PathEscape(key) }
