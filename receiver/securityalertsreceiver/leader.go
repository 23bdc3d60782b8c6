package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// keyedElector elects a leader per key (the etcd extension): each stream is led on its own, so
// that the streams spread over the replicas. withdraw ends the candidacy.
type keyedElector interface {
	SetCallBackFuncsForKey(key string, onStartLeading func(context.Context), onStopLeading func()) (withdraw func())
}

// leaseElector is k8s_leader_elector's interface (the etcd extension has it too): one replica
// leads, and polls every stream.
type leaseElector interface {
	SetCallBackFuncs(onStartLeading func(context.Context), onStopLeading func())
}

var errNotElector = errors.New("is not a leader elector (k8s_leader_elector or etcd)")

// leaderElector returns the configured leader_elector extension, nil without one.
func (r *securityReceiver) leaderElector(host component.Host) (component.Component, error) {
	if r.cfg.LeaderElector == nil {
		return nil, nil
	}
	ext, ok := host.GetExtensions()[*r.cfg.LeaderElector]
	if !ok {
		return nil, fmt.Errorf("leader_elector: extension %q not found (is it listed under service.extensions?)", r.cfg.LeaderElector)
	}
	switch ext.(type) {
	case keyedElector, leaseElector:
		return ext, nil
	}
	return nil, fmt.Errorf("leader_elector: extension %q %w", r.cfg.LeaderElector, errNotElector)
}

// shareBudgetsWith finds, on a per-key elector, the sharing of request budgets among replicas.
// With a single lease, one replica polls at a time and keeps the whole budget.
func (r *securityReceiver) shareBudgetsWith(elector component.Component) {
	if _, keyed := elector.(keyedElector); !keyed {
		return
	}
	sharer, ok := elector.(budgetSharer)
	if !ok {
		r.set.Logger.Warn("leader_elector cannot share request budgets: every replica may send the whole configured rate",
			zap.String("leader_elector", r.cfg.LeaderElector.String()))
		return
	}
	r.sharing = sharer
	r.ledger, _ = elector.(grantLedger)
}

// electionKey is a stream's or probe's key with a per-key elector: the receiver's id keeps two
// receivers' streams of the same name apart.
func (r *securityReceiver) electionKey(name string) string { return r.set.ID.String() + "/" + name }

// leaderGate registers the streams and the gauge probes with the leader elector and returns the
// gate through which the engine polls only what this replica leads, or nil without one. A probe
// is led like a stream, so that one replica reports a source's gauges: replicas' readings of the
// same API state would otherwise add up in a sum over instances.
func (r *securityReceiver) leaderGate(elector component.Component, streams []engine.Stream) engine.Gate {
	if elector == nil {
		return nil
	}
	names := make([]string, 0, len(streams)+len(r.probes))
	for _, s := range streams {
		names = append(names, s.Name())
	}
	for _, p := range r.probes {
		names = append(names, p.key())
	}
	o := newOwnership()
	switch el := elector.(type) {
	case keyedElector:
		for _, name := range names {
			r.withdraw = append(r.withdraw, el.SetCallBackFuncsForKey(r.electionKey(name), o.started(name), o.stopped(name)))
		}
	case leaseElector:
		el.SetCallBackFuncs(o.started(names...), o.stopped(names...))
	}
	r.leading = o
	return o
}

// ownership is the engine's Gate, fed by leader-election callbacks.
type ownership struct {
	mu      sync.Mutex
	terms   map[string]*term
	changed chan struct{} // closed, and replaced, whenever terms change
}

// term is one period during which this replica leads a stream.
type term struct {
	ctx    context.Context
	cancel context.CancelFunc
	users  sync.WaitGroup
}

func newOwnership() *ownership {
	return &ownership{terms: map[string]*term{}, changed: make(chan struct{})}
}

// notify wakes every Hold waiting for a change; o.mu must be held.
func (o *ownership) notify() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// live returns name's current term, nil when it is not led now; o.mu must be held.
func (o *ownership) live(name string) *term {
	if t := o.terms[name]; t != nil && t.ctx.Err() == nil {
		return t
	}
	return nil
}

// owns reports whether name is led now, for what is read in passing rather than held (a probe).
func (o *ownership) owns(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live(name) != nil
}

func (o *ownership) Hold(ctx context.Context, stream string) (context.Context, func(), error) {
	for {
		o.mu.Lock()
		if t := o.live(stream); t != nil {
			t.users.Add(1)
			o.mu.Unlock()
			return t.ctx, t.users.Done, nil
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-changed:
		}
	}
}

// started is the onStartLeading callback of streams: they may be polled until leading stops.
func (o *ownership) started(streams ...string) func(context.Context) {
	return func(ctx context.Context) {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, s := range streams {
			if old := o.terms[s]; old != nil {
				old.cancel()
			}
			tctx, cancel := context.WithCancel(ctx)
			o.terms[s] = &term{ctx: tctx, cancel: cancel}
		}
		o.notify()
	}
}

// stopped is the onStopLeading callback of streams: it returns once none of them is polled any
// more, so that the elector hands them over only then.
func (o *ownership) stopped(streams ...string) func() {
	return func() {
		o.mu.Lock()
		var ended []*term
		for _, s := range streams {
			if t := o.terms[s]; t != nil {
				ended = append(ended, t)
				delete(o.terms, s)
			}
		}
		o.notify()
		o.mu.Unlock()
		for _, t := range ended {
			t.cancel()
		}
		for _, t := range ended {
			t.users.Wait()
		}
	}
}
