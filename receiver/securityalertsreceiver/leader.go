package securityalertsreceiver

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"

	"github.com/securityalerts/securityalerts/internal/engine"
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

// leaderGate registers the streams with the configured leader elector and returns the gate
// through which the engine polls only what this replica leads, or nil without leader_elector.
func (r *securityReceiver) leaderGate(host component.Host, streams []engine.Stream) (engine.Gate, error) {
	if r.cfg.LeaderElector == nil {
		return nil, nil
	}
	ext, ok := host.GetExtensions()[*r.cfg.LeaderElector]
	if !ok {
		return nil, fmt.Errorf("leader_elector: extension %q not found (is it listed under service.extensions?)", r.cfg.LeaderElector)
	}
	o := newOwnership()
	switch el := ext.(type) {
	case keyedElector:
		for _, s := range streams {
			// The receiver's id keeps two receivers' streams of the same name apart.
			key := r.set.ID.String() + "/" + s.Name()
			r.withdraw = append(r.withdraw, el.SetCallBackFuncsForKey(key, o.started(s.Name()), o.stopped(s.Name())))
		}
	case leaseElector:
		names := make([]string, len(streams))
		for i, s := range streams {
			names[i] = s.Name()
		}
		el.SetCallBackFuncs(o.started(names...), o.stopped(names...))
	default:
		return nil, fmt.Errorf("leader_elector: extension %q %w", r.cfg.LeaderElector, errNotElector)
	}
	return o, nil
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

func (o *ownership) Hold(ctx context.Context, stream string) (context.Context, func(), error) {
	for {
		o.mu.Lock()
		if t := o.terms[stream]; t != nil && t.ctx.Err() == nil {
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
