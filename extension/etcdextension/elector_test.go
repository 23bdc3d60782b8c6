package etcdextension

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
)

// ledger is what the replicas' callbacks saw, checked as they run: a key is never led by two
// replicas at once, and a term's context is over by the time onStopLeading is called.
type ledger struct {
	mu         sync.Mutex
	holder     map[string]string
	terms      map[string]context.Context
	starts     map[string]int
	violations []string
}

func newLedger() *ledger {
	return &ledger{holder: map[string]string{}, terms: map[string]context.Context{}, starts: map[string]int{}}
}

func (l *ledger) register(e *etcdExtension, replica, key string) (withdraw func()) {
	return e.SetCallBackFuncsForKey(key, func(term context.Context) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if h := l.holder[key]; h != "" {
			l.violations = append(l.violations, fmt.Sprintf("%s elected for %s while %s leads it", replica, key, h))
		}
		l.holder[key], l.terms[key] = replica, term
		l.starts[key]++
	}, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.holder[key] != replica {
			l.violations = append(l.violations, fmt.Sprintf("%s told to stop %s, led by %q", replica, key, l.holder[key]))
		}
		delete(l.holder, key)
	})
}

// spread counts the keys each replica leads, or nil while some key has no leader.
func (l *ledger) spread(keys []string) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, k := range keys {
		h := l.holder[k]
		if h == "" {
			return nil
		}
		out[h]++
	}
	return out
}

func (l *ledger) term(key string) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.terms[key]
}

func (l *ledger) checkNoViolations(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.Empty(t, l.violations)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, timeout, 20*time.Millisecond, "waiting for: %s", what)
}

func TestKeysSpreadOverReplicasAndMoveWhenOneLeaves(t *testing.T) {
	server := etcdtest.Start(t)
	l := newLedger()
	keys := []string{"securityalerts/usm_anywhere/alarms", "securityalerts/usm_anywhere/events",
		"securityalerts/cisco_gta/alerts", "securityalerts/cisco_gta/events",
		"securityalerts/cisco_gta/threat_detections", "securityalerts/trend_cas/exchange/malware"}
	replicas := map[string]*etcdExtension{}
	for _, name := range []string{"r1", "r2", "r3"} {
		replicas[name] = startReplica(t, server.Endpoint, name, 2*time.Second)
		for _, k := range keys {
			l.register(replicas[name], name, k)
		}
	}
	waitFor(t, 15*time.Second, "two keys on each replica", func() bool {
		s := l.spread(keys)
		return s["r1"] == 2 && s["r2"] == 2 && s["r3"] == 2
	})

	require.NoError(t, replicas["r2"].Shutdown(context.Background()))
	waitFor(t, 15*time.Second, "three keys on each remaining replica", func() bool {
		s := l.spread(keys)
		return s["r1"] == 3 && s["r3"] == 3
	})
	l.checkNoViolations(t)
}

// Withdrawing hands the key over at once, and whatever the former leader writes under its old
// term afterwards is refused.
func TestWithdrawHandsOverAndFencesTheOldTerm(t *testing.T) {
	server := etcdtest.Start(t)
	l := newLedger()
	const key = "securityalerts/usm_anywhere/alarms"
	a := startReplica(t, server.Endpoint, "a", 2*time.Second)
	withdraw := l.register(a, "a", key)
	waitFor(t, 10*time.Second, "a leads", func() bool { return l.spread([]string{key})["a"] == 1 })
	b := startReplica(t, server.Endpoint, "b", 2*time.Second)
	l.register(b, "b", key)

	id := component.MustNewID("securityalerts")
	store := storageClientOf(t, a, id)
	oldTerm := l.term(key)
	require.NoError(t, store.Set(oldTerm, "checkpoint/x", []byte("a")))

	withdraw()
	require.Error(t, oldTerm.Err(), "the term ended when it was withdrawn")
	waitFor(t, 10*time.Second, "b leads", func() bool { return l.spread([]string{key})["b"] == 1 })
	require.NoError(t, storageClientOf(t, b, id).Set(l.term(key), "checkpoint/x", []byte("b")))

	// Only the context's values are kept: the write reaches etcd, which refuses it.
	require.ErrorIs(t, store.Set(context.WithoutCancel(oldTerm), "checkpoint/x", []byte("stale")), ErrFenced)
	got, err := store.Get(context.Background(), "checkpoint/x")
	require.NoError(t, err)
	assert.Equal(t, "b", string(got))
	l.checkNoViolations(t)
}

// With etcd unreachable a leader cannot know whether its lease still runs: it must stop before
// etcd could have expired the lease and let another replica in. Once etcd is back it leads again.
func TestTermEndsBeforeTheLeaseCanExpire(t *testing.T) {
	server := etcdtest.Start(t)
	l := newLedger()
	const key, ttl = "securityalerts/usm_anywhere/alarms", 3 * time.Second
	l.register(startReplica(t, server.Endpoint, "a", ttl), "a", key)
	waitFor(t, 10*time.Second, "a leads", func() bool { return l.spread([]string{key})["a"] == 1 })
	term := l.term(key)

	server.Pause(t)
	paused := time.Now()
	select {
	case <-term.Done():
		// The lease was last renewed before the pause, so etcd expires it by paused+ttl at the
		// earliest... at the latest: the term must be over before then.
		assert.Less(t, time.Since(paused), ttl, "the term outlived the lease")
	case <-time.After(2 * ttl):
		t.Fatal("the term did not end while etcd was unreachable")
	}
	waitFor(t, time.Second, "onStopLeading called", func() bool { return l.spread([]string{key}) == nil })
	server.Resume(t)
	waitFor(t, 20*time.Second, "a leads again", func() bool { return l.spread([]string{key})["a"] == 1 })
	l.checkNoViolations(t)
}

// SetCallBackFuncs is k8s_leader_elector's single lease: one replica leads, for every callback.
func TestSingleLease(t *testing.T) {
	server := etcdtest.Start(t)
	var mu sync.Mutex
	leading := map[string]int{}
	callbacks := func(name string) (func(context.Context), func()) {
		return func(context.Context) { mu.Lock(); leading[name]++; mu.Unlock() },
			func() { mu.Lock(); leading[name]--; mu.Unlock() }
	}
	count := func() (total int, who string) {
		mu.Lock()
		defer mu.Unlock()
		for name, n := range leading {
			total += n
			if n > 0 {
				who = name
			}
		}
		return total, who
	}
	a := startReplica(t, server.Endpoint, "a", 2*time.Second)
	b := startReplica(t, server.Endpoint, "b", 2*time.Second)
	for _, r := range []struct {
		e    *etcdExtension
		name string
	}{{a, "a"}, {a, "a2"}, {b, "b"}, {b, "b2"}} {
		r.e.SetCallBackFuncs(callbacks(r.name))
	}
	waitFor(t, 10*time.Second, "one replica leads", func() bool { n, _ := count(); return n == 2 })
	_, first := count()
	leader, standby := a, "b"
	if first == "b" || first == "b2" {
		leader, standby = b, "a"
	}
	require.NoError(t, leader.Shutdown(context.Background()))
	waitFor(t, 10*time.Second, "the other replica leads", func() bool {
		n, who := count()
		return n == 2 && (who == standby || who == standby+"2")
	})
}
