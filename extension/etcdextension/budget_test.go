package etcdextension

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
)

// shareLog records every share each replica was told, in one process's clock.
type shareLog struct {
	mu     sync.Mutex
	events []shareEvent
	now    map[string]float64
}

type shareEvent struct {
	replica string
	at      time.Time
	share   float64
}

func newShareLog() *shareLog { return &shareLog{now: map[string]float64{}} }

func (l *shareLog) apply(replica string) func(float64) {
	return func(share float64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.events = append(l.events, shareEvent{replica, time.Now(), share})
		l.now[replica] = share
	}
}

func (l *shareLog) current() map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]float64{}
	for r, s := range l.now {
		if s != 0 {
			out[r] = s
		}
	}
	return out
}

// worstWindow is the most the replicas together could send in any window: each at the largest
// share it held at any moment of the window, summed. The sum changes only where a window's start
// or end meets a change, so the windows starting at one, or ending just after one, are all.
func (l *shareLog) worstWindow(window time.Duration) (worst float64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	events := slices.Clone(l.events)
	var starts []time.Time
	for _, e := range events {
		starts = append(starts, e.at, e.at.Add(-window+time.Nanosecond))
	}
	for _, start := range starts {
		end := start.Add(window)
		sum := 0.0
		for _, r := range replicasOf(events) {
			held := 0.0
			for _, e := range events { // in time order
				switch {
				case e.replica != r:
				case !e.at.After(start):
					held = e.share // in force when the window starts
				case e.at.Before(end):
					held = max(held, e.share)
				}
			}
			sum += held
		}
		if sum > worst {
			worst, at = sum, start
		}
	}
	return worst, at
}

func replicasOf(events []shareEvent) []string {
	var out []string
	for _, e := range events {
		if !slices.Contains(out, e.replica) {
			out = append(out, e.replica)
		}
	}
	return out
}

// Three replicas share 30 requests a second over eight streams; a fourth that leads none holds
// nothing. When one replica leaves, the others take its share over, and at no moment could the
// group have sent more than 30 in a second, counting what each sent under the share it held
// before a change within the same window.
func TestBudgetIsSharedByKeysLedAndHeldThroughChanges(t *testing.T) {
	server := etcdtest.Start(t)
	const limit, window = 30.0, time.Second
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = fmt.Sprintf("securityalerts/usm_anywhere/alarms/%d", i)
	}
	l, shares := newLedger(), newShareLog()
	replicas := map[string]*etcdExtension{}
	for _, name := range []string{"r1", "r2", "r3", "idle"} {
		e := startReplica(t, server.Endpoint, name, 2*time.Second)
		replicas[name] = e
		if name != "idle" {
			for _, k := range keys {
				l.register(e, name, k)
			}
		}
		e.ShareBudget("usm_anywhere/credential", limit, window, keys, shares.apply(name))
	}
	waitFor(t, 20*time.Second, "shares by keys led: 11, 11 and 8", func() bool {
		s := l.spread(keys)
		got := shares.current()
		want := apportion(limit, map[string]int{"r1": s["r1"], "r2": s["r2"], "r3": s["r3"]})
		return len(s) == 3 && len(got) == 3 && got["r1"] == want["r1"] && got["r2"] == want["r2"] && got["r3"] == want["r3"]
	})
	assert.ElementsMatch(t, []float64{11, 11, 8}, values(shares.current()))

	require.NoError(t, replicas["r2"].Shutdown(context.Background()))
	waitFor(t, 20*time.Second, "the others share it all: 15 and 15", func() bool {
		got := shares.current()
		return len(got) == 2 && got["r1"] == 15 && got["r3"] == 15
	})
	worst, at := shares.worstWindow(window)
	assert.LessOrEqual(t, worst, limit, "the group could have sent %g in the second from %s", worst, at.Format(time.RFC3339Nano))
	t.Logf("most the group could send in any second: %g of %g", worst, limit)
	l.checkNoViolations(t)
}

func values(m map[string]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The receiver finds the budget interfaces on its leader_elector through interfaces of its own
// (it does not import this package); these are their copies, so that a change of signature here
// fails here.
var (
	_ interface {
		ShareBudget(budget string, limit float64, window time.Duration, keys []string, apply func(share float64)) (withdraw func())
	} = (*etcdExtension)(nil)
	_ interface {
		ReserveGrants(ctx context.Context, budget string, limit int, window time.Duration, n int) (granted int, spendBy time.Time, err error)
		ReturnGrants(ctx context.Context, budget string, n int) error
		GrantsUsed(ctx context.Context, budget string) (int, error)
	} = (*etcdExtension)(nil)
)
