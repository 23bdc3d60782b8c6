// Package simulator stands in for the security vendors' cloud APIs on loopback, for tests and
// demos: OAuth2 tokens that expire, paged lists of records that keep arriving, per-client rate
// limits, and faults (429, 500, truncated bodies, foreign links, delays, token revocation) that
// can be switched at runtime.
//
// It can be as unkind as the real APIs: behaviours fixed for a run are Options (alarms closing
// mid-walk, device clocks ahead, records without ids, Elasticsearch's totals and result window,
// shuffled Trend pages, latency), those switched while it runs are Faults (a Cisco cursor
// repeated) or methods (DisconnectDeployment, SetCredentialsRevoked). Records and Closed tell a
// test what a client is owed; Stats counts what each credential sent.
//
// The core (record stores, tokens, faults, rate limits, stats, the /_sim control endpoints) knows
// no vendor. Each vendor is one file that registers its record generators and routes from init
// (see vendor.go and usmanywhere.go).
package simulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Simulator serves every registered vendor's API from one HTTP handler. Close must be called:
// New starts a goroutine that adds arrivals, closes alarms and revokes tokens on schedule.
type Simulator struct {
	opts     Options
	stores   map[streamKey]*store
	tokens   *tokenIssuer
	faults   *faultInjector
	stats    *stats
	usage    *usage
	requests *requestLog
	handler  http.Handler
	// central is USM Central's console: which deployments are disconnected.
	central *centralConsole

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu     sync.Mutex // guards srv and closed
	srv    *http.Server
	closed bool
}

// New generates every stream's backlog and starts the background generator. It panics if
// opts.Validate fails, as a regexp.MustCompile does on a bad pattern.
func New(opts Options) *Simulator {
	if err := opts.Validate(); err != nil {
		panic("simulator: " + err.Error())
	}
	opts = opts.withDefaults()
	s := &Simulator{
		opts:     opts,
		stores:   make(map[streamKey]*store),
		tokens:   newTokenIssuer(opts.TokenTTL),
		faults:   newFaultInjector(opts.Seed),
		stats:    newStats(),
		usage:    newUsage(),
		requests: &requestLog{on: opts.RecordRequests},
		done:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	registerControl(mux, s)
	for _, v := range vendors {
		for kind, stream := range v.streams {
			st := newStore(opts.Seed, streamKey{v.source, kind}, stream, opts.misbehaviour())
			n, named := opts.Backlogs[streamKey{v.source, kind}.String()]
			if !named {
				n = opts.Backlog
			}
			st.fillBacklog(n, opts.BacklogEnd, opts.Lookback)
			s.stores[streamKey{v.source, kind}] = st
		}
		v.routes(s, mux, s.endpoints(v))
	}
	s.handler = s.requests.middleware(s.stats.middleware(mux))
	s.wg.Add(1)
	go s.run()
	return s
}

// Handler serves the simulated APIs and the /_sim control endpoints, for use with httptest.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Start listens on addr (e.g. "127.0.0.1:0") and returns the base URL, e.g. http://127.0.0.1:41234.
func (s *Simulator) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("simulator: closed")
	}
	if s.srv != nil {
		return "", errors.New("simulator: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed once Close runs
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the background generator and the server, letting requests in flight finish for a
// few seconds. It returns once every goroutine the simulator started has ended.
func (s *Simulator) Close() {
	s.closeOnce.Do(func() {
		close(s.done) // also cuts injected delays short
		s.mu.Lock()
		s.closed = true
		srv := s.srv
		s.mu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if srv.Shutdown(ctx) != nil {
				_ = srv.Close()
			}
			cancel()
		}
		s.wg.Wait()
	})
}

// IDs returns the id of every record ever generated for the stream, in generation order (the
// backlog oldest first, then arrivals), or nil for an unknown stream. A record served without
// its id (Options.MissingIDFraction) is listed by the id it would have had; Records says which
// those are, and what they hold instead.
func (s *Simulator) IDs(source, kind string) []string {
	st, ok := s.stores[streamKey{source, kind}]
	if !ok {
		return nil
	}
	return st.ids()
}

// SetFaults replaces the faults in force; it is safe to call while requests are served.
func (s *Simulator) SetFaults(f Faults) {
	s.faults.set(f)
}

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults { return s.faults.get() }

// RevokeTokens makes every token issued so far invalid at once.
func (s *Simulator) RevokeTokens() { s.tokens.revokeAll() }

// SetCredentialsRevoked revokes the API credentials (true) or restores them (false), as when an
// administrator deletes the API client or Trend token and later issues it again. While revoked,
// every token endpoint refuses the configured client id and secret as it refuses unknown ones
// (USM Anywhere and USM Central: 401 "unauthorized"; Cisco, as its docs show for any bad client:
// 400 "invalid_client"), every token issued before is refused on data requests with a 401, and
// so is Trend's bearer token, in Trend's format. Once restored, token requests succeed again and
// Trend's token is accepted; tokens issued before the revocation stay revoked.
func (s *Simulator) SetCredentialsRevoked(revoked bool) { s.tokens.setCredentialsRevoked(revoked) }

// CredentialsRevoked reports whether SetCredentialsRevoked(true) is in force.
func (s *Simulator) CredentialsRevoked() bool { return s.tokens.revokedCredentials() }

// run adds arrivals, closes alarms and revokes tokens on the RevokeEvery schedule until Close.
func (s *Simulator) run() {
	defer s.wg.Done()
	arrivals, stopArrivals := newPace(s.opts.ArrivalsPerSecond)
	defer stopArrivals()
	closures, stopClosures := newPace(s.opts.AlarmsClosedPerSecond)
	defer stopClosures()
	// revoke is stopped, and revocations nil, while the RevokeEvery fault is off.
	revoke := time.NewTicker(time.Hour)
	revoke.Stop()
	defer revoke.Stop()
	var revocations <-chan time.Time
	var revokeEvery time.Duration
	for {
		select {
		case <-s.done:
			return
		case now := <-arrivals.ticks:
			due := arrivals.due(now)
			for _, st := range s.stores {
				st.arrive(due, now, s.opts.LateArrivalFraction, s.opts.LateArrivalMax)
			}
		case now := <-closures.ticks:
			due := closures.due(now)
			for _, st := range s.stores {
				st.closeRandom(due, now)
			}
		case <-s.faults.changed:
			every := s.faults.get().RevokeEvery
			if every == revokeEvery {
				continue // other faults changed: keep the schedule's phase
			}
			revokeEvery, revocations = every, nil
			revoke.Stop()
			if every > 0 {
				revoke.Reset(every)
				revocations = revoke.C
			}
		case <-revocations:
			s.stats.addFault("revoke_every") // counted first, so whoever sees a 401 sees the count
			s.tokens.revokeAll()
		}
	}
}

// pace says how many things (arrivals, closures) are due at a rate per second. Its ticks are nil
// when the rate is 0.
type pace struct {
	ticks   <-chan time.Time
	rate    float64
	start   time.Time
	counted int
}

func newPace(perSecond float64) (p *pace, stop func()) {
	p = &pace{rate: perSecond, start: time.Now()}
	if perSecond <= 0 {
		return p, func() {}
	}
	t := time.NewTicker(arrivalTick(perSecond))
	p.ticks = t.C
	return p, t.Stop
}

// due counts against the start rather than per tick, which keeps the rate exact at any tick.
func (p *pace) due(now time.Time) int {
	n := int(now.Sub(p.start).Seconds()*p.rate) - p.counted
	p.counted += max(n, 0)
	return n
}

// arrivalTick spaces ticks one record apart, within [10ms, 1s] so that high rates do not spin
// and low rates still add records promptly once due.
func arrivalTick(perSecond float64) time.Duration {
	return min(max(time.Duration(float64(time.Second)/perSecond), 10*time.Millisecond), time.Second)
}
