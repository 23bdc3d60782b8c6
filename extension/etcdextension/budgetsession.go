package etcdextension

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// budgetSession is what one session knows of the budgets; only serve's goroutine touches it.
type budgetSession struct {
	*budgets
	s     *session
	me    string
	since time.Time // nothing given up before is known: no raise for a window after it
	rev   int64     // the view is complete up to this revision
	views map[string]*budgetView
	mine  map[*participant]*standing
	retry time.Time // after a failed write
}

// budgetView is one budget's shares in etcd, and the room given up lately, still held back.
type budgetView struct {
	claims map[string]claim // etcd key → claim
	holds  []hold
}

type hold struct {
	amount float64
	until  time.Time
}

// standing is one local participant's state in this session.
type standing struct {
	key       string
	applied   float64 // what apply was last told: what the limiter lets through
	published *claim  // what etcd holds for it (its share at least applied); nil: nothing yet
}

// claimed is the share etcd holds for the participant.
func (sd *standing) claimed() float64 {
	if sd.published == nil {
		return 0
	}
	return sd.published.Share
}

func (b *budgets) serve(ctx context.Context, s *session) {
	st := &budgetSession{budgets: b, s: s, me: member(s), since: time.Now(), views: map[string]*budgetView{}, mine: map[*participant]*standing{}}
	defer st.stopAll()
	var wch clientv3.WatchChan
	for {
		if wch == nil {
			var err error
			if wch, err = st.list(ctx); err != nil {
				if ctx.Err() == nil {
					b.log.Warn("Listing the shared request budgets failed; retrying", zap.Error(err))
				}
				st.retry = time.Now().Add(time.Second)
			}
		}
		wake := st.step(ctx)
		timer := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-b.changed:
		case <-timer.C:
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				wch = nil // listed again; what was given up meanwhile is unknown
				break
			}
			for _, ev := range wr.Events {
				st.apply(ev.Kv, ev.Type == mvccpb.DELETE)
			}
		}
		timer.Stop()
	}
}

// list reads every share and watches from there on. Room given up before is unknown, so no
// share is raised for a window from now.
func (st *budgetSession) list(ctx context.Context) (clientv3.WatchChan, error) {
	st.views = map[string]*budgetView{}
	rev, wch, err := listAndWatch(ctx, st.s.Client(), st.prefix, st.timeout, func(kv *mvccpb.KeyValue) { st.apply(kv, false) })
	if err != nil {
		return nil, err
	}
	st.since, st.rev = time.Now(), rev
	return wch, nil
}

// apply records a change of one share; the room another participant gave up is held back for
// its window.
func (st *budgetSession) apply(kv *mvccpb.KeyValue, deleted bool) {
	st.rev = max(st.rev, kv.ModRevision)
	budget, ok := st.budgetOf(string(kv.Key))
	if !ok {
		return
	}
	v := st.view(budget)
	key := string(kv.Key)
	old, had := v.claims[key]
	var now claim
	if !deleted {
		if err := json.Unmarshal(kv.Value, &now); err != nil {
			st.log.Warn("Ignoring a malformed request budget share", zap.String("key", key), zap.Error(err))
			return
		}
		v.claims[key] = now
	} else {
		delete(v.claims, key)
	}
	// Held for this replica's own participants too: two receivers with one credential in one
	// process have limiters of their own.
	if had && now.Share < old.Share {
		window := max(old.Window, now.Window)
		v.holds = append(v.holds, hold{amount: old.Share - now.Share, until: time.Now().Add(time.Duration(window * float64(time.Second)))})
	}
}

// budgetOf reads "<budget>/share/<participant>" below the prefix.
func (st *budgetSession) budgetOf(key string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(key, st.prefix), "/")
	if len(parts) != 3 || parts[1] != "share" {
		return "", false
	}
	return parts[0], true
}

func (st *budgetSession) view(budget string) *budgetView {
	v := st.views[budget]
	if v == nil {
		v = &budgetView{claims: map[string]claim{}}
		st.views[budget] = v
	}
	return v
}

// held is the room given up lately, still held back; expired holds are dropped.
func (v *budgetView) held(now time.Time) float64 {
	total := 0.0
	kept := v.holds[:0]
	for _, h := range v.holds {
		if h.until.After(now) {
			kept = append(kept, h)
			total += h.amount
		}
	}
	v.holds = kept
	return total
}

// step brings every local participant towards its target and returns when to look again.
func (st *budgetSession) step(ctx context.Context) (wake time.Time) {
	parts, leaders := st.snapshot()
	now := time.Now()
	wake = now.Add(time.Hour)
	registered := map[*participant]bool{}
	for _, p := range parts {
		registered[p] = true
		if at, waiting := st.stepOne(ctx, p, leaders, now); waiting && at.Before(wake) && !at.IsZero() {
			wake = at
		}
	}
	for p, sd := range st.mine {
		if registered[p] {
			continue
		}
		if err := do(ctx, st.s.Client(), st.timeout, clientv3.OpDelete(sd.key)); err != nil && ctx.Err() == nil {
			st.log.Warn("Withdrawing a request budget share failed; it ends with the session", zap.Error(err))
		}
		delete(st.mine, p)
	}
	if st.retry.After(now) && st.retry.Before(wake) {
		wake = st.retry
	}
	return wake
}

// stepOne lowers p's sending at once when its target fell, then records it; when the target
// rose, it takes what room there is. It reports whether p waits for more, and when to look again.
func (st *budgetSession) stepOne(ctx context.Context, p *participant, leaders map[string]string, now time.Time) (time.Time, bool) {
	sd := st.mine[p]
	if sd == nil {
		sd = &standing{key: fmt.Sprintf("%s%s/share/%s.%d", st.prefix, p.budget, st.me, p.id)}
		st.mine[p] = sd
	}
	v := st.view(p.budget)
	weight := 0
	for _, k := range p.keys {
		if leaders[k] == st.me {
			weight++
		}
	}
	limit, others := p.limit, 0.0
	weights := map[string]int{sd.key: weight}
	for key, c := range v.claims {
		if key != sd.key {
			weights[key] = c.Weight
			limit = min(limit, c.Limit)
			others += c.Share
		}
	}
	target := apportion(limit, weights)[sd.key]
	grant := func(share float64) {
		if share != sd.applied {
			st.log.Info("This replica's share of a request budget changed", zap.String("budget", p.budget), zap.Float64("share", share), zap.Float64("was", sd.applied),
				zap.Int("weight", weight), zap.Float64("target", target))
			sd.applied = share
			p.apply(share)
		}
	}
	// Lower first (what etcd holds stays the larger until written), grant what etcd holds.
	grant(min(target, sd.claimed()))
	if st.retry.After(now) {
		return st.retry, true
	}
	want := claim{Share: sd.applied, Weight: weight, Limit: p.limit, Window: p.window.Seconds()}
	var wake time.Time
	if target > sd.applied {
		room := limit - others - v.held(now)
		if settled := st.since.Add(p.window); now.Before(settled) {
			room, wake = sd.claimed(), settled
		}
		if raised := min(target, room); raised > sd.claimed()+1e-9 {
			want.Share = raised
			if ok, err := st.raise(ctx, p.budget, sd.key, want); err != nil {
				st.failed(err)
				return st.retry, true
			} else if !ok {
				return now.Add(time.Hour), true // a share changed meanwhile: the watch brings it
			}
			sd.published = &want
			grant(min(target, sd.claimed()))
		}
	}
	// A lowered share, or a new weight (the others' targets depend on it), is recorded as is.
	if sd.published == nil || *sd.published != want {
		if err := do(ctx, st.s.Client(), st.timeout, clientv3.OpPut(sd.key, encode(want), clientv3.WithLease(st.s.Lease()))); err != nil {
			st.failed(err)
			return st.retry, true
		}
		sd.published = &want
	}
	if target <= sd.applied {
		return time.Time{}, false
	}
	return st.nextRelease(v, wake, now), true
}

// raise records a larger share at key, unless a share of the budget changed since st read them
// (a key written or created after st.rev): then the sum it checked may be stale.
func (st *budgetSession) raise(ctx context.Context, budget, key string, want claim) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	unchanged := clientv3.Compare(clientv3.ModRevision(st.prefix+budget+"/share/"), "<", st.rev+1).WithPrefix()
	resp, err := st.s.Client().Txn(cctx).If(unchanged).Then(clientv3.OpPut(key, encode(want), clientv3.WithLease(st.s.Lease()))).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// nextRelease is when room held back in v is next released, if before at (zero: none yet).
func (st *budgetSession) nextRelease(v *budgetView, at, now time.Time) time.Time {
	for _, h := range v.holds {
		if h.until.After(now) && (at.IsZero() || h.until.Before(at)) {
			at = h.until
		}
	}
	if at.IsZero() {
		return now.Add(time.Hour) // the watch wakes it when room is given up
	}
	return at
}

func (st *budgetSession) failed(err error) {
	if st.s.ctx.Err() == nil {
		st.log.Warn("Writing a request budget share failed; retrying", zap.Error(err))
	}
	st.retry = time.Now().Add(time.Second)
}

// stopAll tells every participant it may send nothing: the session, and its shares, are over.
func (st *budgetSession) stopAll() {
	for p, sd := range st.mine {
		if sd.applied != 0 {
			p.apply(0)
		}
	}
}

func encode(c claim) string {
	data, _ := json.Marshal(c)
	return string(data)
}
