package securityalertsreceiver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zaptest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
)

// Nothing goes without a share, and a lowered share holds every waiter at once: none had its
// slot booked ahead at the rate that was (as rate.Limiter's Wait would book them).
func TestSharedRateHoldsWaitersAtTheRateInForce(t *testing.T) {
	s := newSharedRate(time.Second)
	var sent atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.Wait(ctx) == nil {
				sent.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	assert.Zero(t, sent.Load(), "sent without a share")

	s.set(4) // one at once (the burst), then one every 250 ms
	require.Eventually(t, func() bool { return sent.Load() >= 1 }, 5*time.Second, time.Millisecond)
	s.set(0)
	before := sent.Load()
	time.Sleep(time.Second)                                                                // at the old rate, all four others would have gone by now
	assert.LessOrEqual(t, sent.Load(), before+1, "waiters went after the share fell to 0") // one may have been taking its token
	s.set(100)
	wg.Wait()
	assert.EqualValues(t, 5, sent.Load())
}

func TestSharedRateWaitEndsWithItsContext(t *testing.T) {
	s := newSharedRate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.Wait(ctx), context.DeadlineExceeded)
	s.set(1)
	require.NoError(t, s.Wait(context.Background()), "the abandoned wait left the turn free")
}

// sharingElector is a per-key elector that also shares budgets and keeps a grants ledger, as the
// etcd extension does; the test plays the group.
type sharingElector struct {
	*fakeElector
	mu      sync.Mutex
	shares  map[string]*sharedBudget
	limit   int // of the ledger
	used    int
	reserve []int // sizes asked for
}

type sharedBudget struct {
	limit  float64
	window time.Duration
	keys   []string
	apply  func(float64)
	gone   bool
}

func newSharingElector() *sharingElector {
	return &sharingElector{fakeElector: newFakeElector(), shares: map[string]*sharedBudget{}}
}

func (s *sharingElector) ShareBudget(budget string, limit float64, window time.Duration, keys []string, apply func(float64)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &sharedBudget{limit: limit, window: window, keys: keys, apply: apply}
	s.shares[budget] = b
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		b.gone = true
	}
}

func (s *sharingElector) ReserveGrants(_ context.Context, _ string, limit int, _ time.Duration, n int) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = limit
	s.reserve = append(s.reserve, n)
	take := min(n, limit-s.used)
	s.used += take
	return take, time.Now().Add(time.Hour), nil
}

func (s *sharingElector) ReturnGrants(_ context.Context, _ string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used -= n
	return nil
}

func (s *sharingElector) GrantsUsed(context.Context, string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, nil
}

func (s *sharingElector) budgets() map[string]*sharedBudget {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*sharedBudget{}
	for k, b := range s.shares {
		out[k] = b
	}
	return out
}

// With a sharing elector, the credential's budget is joined with the keys of its streams and
// probe, named by a hash of the credential; the streams send nothing until a share is granted,
// and the budget is left at shutdown.
func TestRateBudgetIsSharedThroughTheElector(t *testing.T) {
	url := newFakeUSM(t).URL
	cfg := testConfig(url)
	elector, id := newSharingElector(), component.MustNewID("etcd")
	cfg.LeaderElector = &id
	logs := &consumertest.LogsSink{}
	stop := run(t, cfg, electorHost(id, elector), logs, &consumertest.MetricsSink{})
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	key := credentialKey("usm_anywhere", url, "id")
	require.Len(t, elector.budgets(), 1)
	b := elector.budgets()[key]
	require.NotNil(t, b, "the budget is not named by the credential")
	assert.Regexp(t, "^[0-9a-f]{32}$", key, "named by a hash, not by the credential")
	assert.InDelta(t, 50.0, b.limit, 0)
	assert.Equal(t, sharedSecond, b.window)
	assert.ElementsMatch(t, []string{"securityalerts/usm_anywhere/alarms", "securityalerts/usm_anywhere/events", "securityalerts/usm_anywhere/gauges"}, b.keys)

	end := elector.lead("securityalerts/usm_anywhere/alarms")
	defer end()
	time.Sleep(300 * time.Millisecond)
	assert.Zero(t, logs.LogRecordCount(), "polled without a share")
	b.apply(100)
	require.Eventually(t, func() bool { return logs.LogRecordCount() >= 3 }, 10*time.Second, 10*time.Millisecond, "the fixtures' alarms")
	end()
	stop()
	stopped = true
	assert.True(t, elector.budgets()[key].gone, "the budget was not left at shutdown")
}

// Trend's minute is shared, its day counted by the ledger: reservations of the minute's share,
// and the gauge is what the group has left.
func TestTrendQuotaIsSharedThroughTheElector(t *testing.T) {
	elector := newSharingElector()
	r := newReceiver(&Config{}, receivertest.NewNopSettings(metadata.Type))
	r.shareBudgetsWith(elector)
	quota := trendcas.NewQuota(10, 100)
	b, remaining := r.quotaBudget(quota, 10, 100, zaptest.NewLogger(t), "trend_cas", "https://site.test", "token secret-token")
	assert.NotContains(t, b.key, "secret-token")
	require.Len(t, r.budgets, 1)
	assert.Equal(t, trendcas.MinuteWindow, b.window)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, quota.Wait(ctx), context.DeadlineExceeded, "a request went without a share of the minute")
	b.apply(3)
	for range 3 {
		require.NoError(t, quota.Wait(context.Background()))
	}
	left, err := remaining(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 97, left, "the group's day, as the ledger counts it")
	assert.Equal(t, []int{3}, elector.reserve, "one reservation of the minute's share")
	for _, closeDay := range r.withdraw {
		closeDay()
	}
	left, _ = remaining(context.Background())
	assert.EqualValues(t, 97, left, "spent grants stay spent")
}

// Held grants go back once the quota stops asking; a spent day is counted again later.
func TestGroupDayGivesBackWhatItDoesNotSpend(t *testing.T) {
	ledger := newSharingElector()
	d := newGroupDay(ledger, "b", 5, func() int { return 3 }, zaptest.NewLogger(t))
	d.idle, d.recheck = 100*time.Millisecond, 50*time.Millisecond
	defer d.close()
	ready := make(chan struct{}, 10)
	poke := func() { ready <- struct{}{} }
	take := func() bool {
		for {
			if d.Take(poke) {
				return true
			}
			select {
			case <-ready:
			case <-time.After(5 * time.Second):
				return false
			}
		}
	}
	require.True(t, take())
	used, _ := ledger.GrantsUsed(context.Background(), "b")
	assert.Equal(t, 3, used, "a block of three reserved")
	require.Eventually(t, func() bool { used, _ := ledger.GrantsUsed(context.Background(), "b"); return used == 1 }, 5*time.Second, 10*time.Millisecond,
		"the two unspent grants given back")
	for range 4 {
		require.True(t, take())
	}
	used, _ = ledger.GrantsUsed(context.Background(), "b")
	assert.Equal(t, 5, used)
	assert.False(t, d.Take(poke), "the day is spent")
	ledger.mu.Lock()
	ledger.used = 4 // another replica gave one back
	ledger.mu.Unlock()
	require.True(t, take(), "the spent day is counted again")
	assert.True(t, slices.Equal(ledger.reserve[:1], []int{3}))
}

func TestCredentialKeysDiffer(t *testing.T) {
	a := credentialKey("usm_anywhere", "https://acme.alienvault.cloud", "client")
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, credentialKey("usm_anywhere", "https://acme.alienvault.cloud", "other"))
	assert.NotEqual(t, a, credentialKey("usm_anywhere", "https://acme.alienvault.cloudclient"), "parts are separated")
	assert.False(t, strings.Contains(a, "client"))
}
