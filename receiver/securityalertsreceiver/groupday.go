package securityalertsreceiver

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
)

// groupDay is Trend's day for the replicas that share one token: the Quota's Allowance, backed
// by the grants ledger. When the quota has a request to send and holds no grant, it reserves a
// block (this replica's share of the minute: what it can send soon), spends it one request at a
// time, and gives back what it still holds once the quota stopped asking for a minute window
// (its pairs moved to another replica, or caught up) or the receiver stops. Unspent grants count
// as the group's until then, so the group never sends more than the day allows; the quota gauge
// reads the ledger.
type groupDay struct {
	ledger grantLedger
	budget string
	limit  int
	block  func() int
	log    *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	// retry is how soon a failed reservation is tried again; recheck, how soon a spent day is
	// counted again (one read of etcd each time); idle, how long held grants stay unasked for
	// before they are given back.
	retry, recheck, idle time.Duration

	mu        sync.Mutex
	held      int
	spendBy   time.Time
	lastTake  time.Time
	reserving bool
}

// ledgerTimeout bounds a call to the ledger that no poll's context bounds.
const ledgerTimeout = 10 * time.Second

func newGroupDay(ledger grantLedger, budget string, limit int, block func() int, log *zap.Logger) *groupDay {
	ctx, cancel := context.WithCancel(context.Background())
	return &groupDay{
		ledger: ledger, budget: budget, limit: limit, block: block, log: log, ctx: ctx, cancel: cancel,
		retry: 5 * time.Second, recheck: time.Minute, idle: trendcas.MinuteWindow,
	}
}

var _ trendcas.Allowance = (*groupDay)(nil)

// Take spends a held grant, or starts a reservation and has the quota called back.
func (d *groupDay) Take(ready func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.held > 0 && now.Before(d.spendBy) {
		d.held--
		d.lastTake = now
		return true
	}
	if !d.reserving && d.ctx.Err() == nil {
		d.reserving = true
		go d.reserve(ready)
	}
	return false
}

func (d *groupDay) reserve(ready func()) {
	ctx, cancel := context.WithTimeout(d.ctx, ledgerTimeout)
	defer cancel()
	d.mu.Lock()
	expired := d.held // only held here once past spendBy
	d.held = 0
	d.mu.Unlock()
	d.giveBack(ctx, expired)
	n, spendBy, err := d.ledger.ReserveGrants(ctx, d.budget, d.limit, trendcas.DayWindow, d.block())
	d.mu.Lock()
	d.held, d.spendBy, d.lastTake, d.reserving = n, spendBy, time.Now(), false
	closed := d.ctx.Err() != nil
	d.mu.Unlock()
	if closed { // closed while reserving: close gave back nothing of these
		d.close()
		return
	}
	switch {
	case err != nil:
		if d.ctx.Err() == nil {
			d.log.Warn("Reserving requests of the token's day shared with the other replicas failed; retrying", zap.Error(err))
		}
		time.AfterFunc(d.retry, ready)
	case n == 0:
		time.AfterFunc(d.recheck, ready)
	default:
		time.AfterFunc(d.idle, d.returnIfIdle)
		ready()
	}
}

// returnIfIdle gives back the grants held once the quota has not asked for them for d.idle.
func (d *groupDay) returnIfIdle() {
	d.mu.Lock()
	idleFor := time.Since(d.lastTake)
	n := d.held
	if n == 0 || d.reserving {
		d.mu.Unlock()
		return
	}
	if idleFor < d.idle {
		d.mu.Unlock()
		time.AfterFunc(d.idle-idleFor, d.returnIfIdle)
		return
	}
	d.held = 0
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(d.ctx, ledgerTimeout)
	defer cancel()
	d.giveBack(ctx, n)
}

func (d *groupDay) giveBack(ctx context.Context, n int) {
	if n == 0 {
		return
	}
	if err := d.ledger.ReturnGrants(ctx, d.budget, n); err != nil {
		d.log.Info("Giving unused requests back to the token's shared day failed; they count until it ends", zap.Int("requests", n), zap.Error(err))
	}
}

// close stops reserving and gives back what is held.
func (d *groupDay) close() {
	d.cancel()
	d.mu.Lock()
	n := d.held
	d.held = 0
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	d.giveBack(ctx, n)
}
