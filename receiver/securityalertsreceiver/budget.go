package securityalertsreceiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// budgetSharer shares a credential's request budget among the replicas that poll with it (the
// etcd extension): at most limit requests per window for all of them, shared in proportion to
// the elected keys each leads. apply is told this replica's share whenever it changes, 0 until
// one is granted. The receiver finds it on its leader_elector; without it each collector keeps
// the whole configured rate, as a single collector should.
type budgetSharer interface {
	ShareBudget(budget string, limit float64, window time.Duration, keys []string, apply func(share float64)) (withdraw func())
}

// grantLedger counts a rolling window's grants (Trend's day) for all replicas (the etcd
// extension): grants are reserved before they are spent, and given back unspent.
type grantLedger interface {
	ReserveGrants(ctx context.Context, budget string, limit int, window time.Duration, n int) (granted int, spendBy time.Time, err error)
	ReturnGrants(ctx context.Context, budget string, n int) error
	GrantsUsed(ctx context.Context, budget string) (int, error)
}

// requestBudget is one credential's request limit, and what spends it: the streams and gauge
// probes whose requests go through its limiter. Only a shared budget has apply.
type requestBudget struct {
	key      string
	limit    float64
	window   time.Duration
	apply    func(share float64)
	spenders []string // stream names and probe keys, as leaderGate names them to the elector
}

// credentialKey names a budget after the credential the vendor counts requests by, hashed: the
// key is written to etcd, and for Trend the credential is the token itself.
func credentialKey(parts ...string) string {
	sum := sha256.Sum256([]byte("securityalerts request budget\x00" + strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// spentBy records the streams, and the gauge probes of the sources named, as spenders of b.
func (b *requestBudget) spentBy(streams []engine.Stream, probesOf ...string) {
	for _, s := range streams {
		b.spenders = append(b.spenders, s.Name())
	}
	for _, source := range probesOf {
		b.spenders = append(b.spenders, probe{source: source}.key())
	}
}

// sharedSecond is the window of a shared rate: a second, and a tenth. The vendor counts the
// requests as they arrive, and the replicas' requests do not leave at the moment their limiters
// let them: a replica starved of CPU for a moment sends late, next to its following request and
// the other replicas'. A margin of 20 ms let a three-replica group reach 22 in a second of 20 on
// a loaded machine; a tenth of the window absorbs 100 ms of such bunching, for 91 % of the rate.
const sharedSecond = time.Second + 100*time.Millisecond

// rateBudget returns the budget of a credential allowed perSecond requests a second, and the
// limiter its client waits on: alone, a token bucket of that rate (burst 1); shared, this
// replica's share of it, in whole requests per sharedSecond wherever the rate allows.
func (r *securityReceiver) rateBudget(perSecond float64, credential ...string) (*requestBudget, apiclient.Limiter) {
	if r.sharing == nil {
		return &requestBudget{}, rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	limiter := newSharedRate(sharedSecond)
	return r.sharedBudget(perSecond, sharedSecond, limiter.set, credential...), limiter
}

// sharedBudget is a credential's budget of limit requests a window, shared among the replicas
// once the receiver starts (shareBudgets); apply is told this replica's share.
func (r *securityReceiver) sharedBudget(limit float64, window time.Duration, apply func(share float64), credential ...string) *requestBudget {
	b := &requestBudget{key: credentialKey(credential...), limit: limit, window: window, apply: apply}
	r.budgets = append(r.budgets, b)
	return b
}

// shareBudgets takes part in every shared budget, with the keys its spenders are elected by.
func (r *securityReceiver) shareBudgets() {
	for _, b := range r.budgets {
		keys := make([]string, len(b.spenders))
		for i, name := range b.spenders {
			keys[i] = r.electionKey(name)
		}
		r.withdraw = append(r.withdraw, r.sharing.ShareBudget(b.key, b.limit, b.window, keys, b.apply))
	}
}

// sharedRate is a token bucket (burst 1) whose rate is this replica's share of the group's,
// set as shares move. Waiters take turns at the bucket, one at a time, so that every request
// goes at the rate in force when it goes: a rate.Limiter's Wait books each waiter's slot at the
// rate of the moment it arrived, and a lowered share would let booked slots go at the old rate.
type sharedRate struct {
	turn   chan struct{} // capacity 1: held by the waiter at the bucket
	window time.Duration // a share is requests per window

	mu      sync.Mutex
	bucket  *rate.Limiter
	changed chan struct{} // closed, and replaced, when the rate changes
}

func newSharedRate(window time.Duration) *sharedRate {
	return &sharedRate{turn: make(chan struct{}, 1), window: window, bucket: rate.NewLimiter(0, 1), changed: make(chan struct{})}
}

// set makes the rate share requests per window; 0 lets nothing through.
func (s *sharedRate) set(share float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket.SetLimit(rate.Limit(share / s.window.Seconds()))
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *sharedRate) Wait(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}: // blocked senders are served in order: first come, first served
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.turn }()
	for {
		delay, changed := s.reserve()
		if delay == 0 {
			return nil
		}
		if err := sleep(ctx, delay, changed); err != nil {
			return err
		}
	}
}

// sleep waits for d (for ever if negative), or until changed closes or ctx ends.
func sleep(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	var due <-chan time.Time
	if d >= 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		due = timer.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-due:
	}
	return nil
}

// reserve takes a token if one is there; otherwise it says how long until one is (negative: none
// at a rate of 0) and what closes if the rate changes first.
func (s *sharedRate) reserve() (time.Duration, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A limit of 0 would hand out the burst once (rate.Limiter's rule): nothing goes instead.
	if s.bucket.Limit() <= 0 {
		return -1, s.changed
	}
	now := time.Now()
	res := s.bucket.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay > 0 {
		res.CancelAt(now) // the only reservation: its token is given back whole
	}
	return delay, s.changed
}
