// Package simulator stands in for the security vendors' cloud APIs on loopback, for tests and
// demos: OAuth2 tokens that expire, paged lists of records that keep arriving, per-client rate
// limits, and faults (429, 500, truncated bodies, foreign links, delays, token revocation) that
// can be switched at runtime.
//
// The core (record stores, tokens, faults, rate limits, stats, the /_sim control endpoints) knows
// no vendor. Each vendor is one file that registers its record generators and routes from init
// (see vendor.go and usmanywhere.go).
package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Simulator. The zero value is valid: no backlog, no arrivals, the vendors'
// documented token lifetime and rate limit, credentials sim-client / sim-secret.
type Options struct {
	// Seed makes the backlog and every later record's content reproducible, and drives the fault
	// dice.
	Seed uint64
	// Backlog is how many records each stream holds before the first request.
	Backlog int
	// Backlogs overrides Backlog for the streams it names ("usm_anywhere/alarm", "cisco_gta/event",
	// …): a benchmark gives one stream a million records without generating them for every other.
	Backlogs map[string]int
	// Lookback is the time the backlog is spread over, ending at BacklogEnd. Default 24h.
	Lookback time.Duration
	// BacklogEnd is when the backlog ends; default the time New is called. Fix it to make the
	// backlog's timestamps, not only its content, identical between runs.
	BacklogEnd time.Time
	// ArrivalsPerSecond is how many new records each stream gains per second, stamped with the
	// current time. About 5% more arrive as same-millisecond twins.
	ArrivalsPerSecond float64
	// LateArrivalFraction of new records occurred up to LateArrivalMax (default 2m) before they
	// appear, as real APIs index some records late.
	LateArrivalFraction float64
	LateArrivalMax      time.Duration
	// TokenTTL is how long an access token lasts. Default: each vendor's documented lifetime
	// (USM Anywhere 899s, Cisco 600s).
	TokenTTL time.Duration
	// ClientID and ClientSecret are the only accepted credentials. Default sim-client / sim-secret.
	ClientID     string
	ClientSecret string
	// RateLimit is the data requests per second each API client may send to one vendor before
	// getting 429s. 0 means the vendor's documented limit (USM Anywhere: 100; USM Central: 50,
	// its POST limit, as its searches are POSTs); negative, no limit.
	RateLimit float64
	// UpdatesPerSecond is how many existing alerts change per second on APIs that serve changed
	// records again (Cisco: a status or risk change that bumps modifiedAt).
	UpdatesPerSecond float64
	// EventsEmbeddedKey is the _embedded key of USM Anywhere's event lists: "events" (default)
	// or "eventResources", both of which the real API has been seen to use.
	EventsEmbeddedKey string
	// TrendCASToken is the only bearer token the Trend Micro Cloud App Security API accepts.
	// Default sim-trend-token.
	TrendCASToken string
	// TrendCASPerMinute and TrendCASPerDay are that API's request quotas per token, refused
	// as the API refuses them. 0 means the documented 10 a minute and 14,400 a day (tests
	// and demos raise them to run fast); negative, no limit.
	TrendCASPerMinute int
	TrendCASPerDay    int
	// RecordRequests keeps every API request (client identity, path, query, start and end) for
	// Requests and GET /_sim/requests. Off by default: the log grows with every request.
	RecordRequests bool
}

// Validate reports the first option New would refuse.
func (o Options) Validate() error {
	switch {
	case o.Backlog < 0:
		return errors.New("backlog must not be negative")
	case o.Lookback < 0:
		return errors.New("lookback must not be negative")
	case o.ArrivalsPerSecond < 0:
		return errors.New("arrivals per second must not be negative")
	case o.LateArrivalFraction < 0 || o.LateArrivalFraction > 1:
		return errors.New("late arrival fraction must be within [0, 1]")
	case o.LateArrivalMax < 0:
		return errors.New("late arrival max must not be negative")
	case o.TokenTTL < 0:
		return errors.New("token TTL must not be negative")
	case o.UpdatesPerSecond < 0:
		return errors.New("updates per second must not be negative")
	case o.EventsEmbeddedKey != "" && o.EventsEmbeddedKey != "events" && o.EventsEmbeddedKey != "eventResources":
		return fmt.Errorf("events embedded key %q is neither events nor eventResources", o.EventsEmbeddedKey)
	}
	return o.backlogsErr()
}

func (o Options) backlogsErr() error {
	for name, n := range o.Backlogs {
		if n < 0 {
			return fmt.Errorf("backlog of %s must not be negative", name)
		}
		if !slices.Contains(StreamNames(), name) {
			return fmt.Errorf("backlog of %s: no such stream (streams: %s)", name, strings.Join(StreamNames(), ", "))
		}
	}
	return nil
}

// StreamNames lists every simulated stream as Backlogs names them, sorted.
func StreamNames() []string {
	var names []string
	for _, v := range vendors {
		for kind := range v.streams {
			names = append(names, streamKey{v.source, kind}.String())
		}
	}
	slices.Sort(names)
	return names
}

func (o Options) withDefaults() Options {
	if o.Lookback == 0 {
		o.Lookback = 24 * time.Hour
	}
	if o.BacklogEnd.IsZero() {
		o.BacklogEnd = time.Now()
	}
	if o.LateArrivalMax == 0 {
		o.LateArrivalMax = 2 * time.Minute
	}
	if o.ClientID == "" {
		o.ClientID = "sim-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sim-secret"
	}
	if o.EventsEmbeddedKey == "" {
		o.EventsEmbeddedKey = "events"
	}
	if o.TrendCASToken == "" {
		o.TrendCASToken = "sim-trend-token"
	}
	return o
}

// Simulator serves every registered vendor's API from one HTTP handler. Close must be called:
// New starts a goroutine that adds arrivals and revokes tokens on schedule.
type Simulator struct {
	opts     Options
	stores   map[streamKey]*store
	tokens   *tokenIssuer
	faults   *faultInjector
	stats    *stats
	requests *requestLog
	handler  http.Handler

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
		requests: &requestLog{on: opts.RecordRequests},
		done:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	registerControl(mux, s)
	for _, v := range vendors {
		for kind, gen := range v.streams {
			st := newStore(opts.Seed, streamKey{v.source, kind}, gen)
			n, named := opts.Backlogs[streamKey{v.source, kind}.String()]
			if !named {
				n = opts.Backlog
			}
			st.fillBacklog(n, opts.BacklogEnd, opts.Lookback)
			s.stores[streamKey{v.source, kind}] = st
		}
		v.routes(s, mux, s.dataMiddleware(v))
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
// backlog oldest first, then arrivals), or nil for an unknown stream.
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

// run adds arrivals and revokes tokens on the RevokeEvery schedule until Close.
func (s *Simulator) run() {
	defer s.wg.Done()
	var arrivals <-chan time.Time
	if rate := s.opts.ArrivalsPerSecond; rate > 0 {
		t := time.NewTicker(arrivalTick(rate))
		defer t.Stop()
		arrivals = t.C
	}
	// revoke is stopped, and revocations nil, while the RevokeEvery fault is off.
	revoke := time.NewTicker(time.Hour)
	revoke.Stop()
	defer revoke.Stop()
	var revocations <-chan time.Time
	var revokeEvery time.Duration
	start, added := time.Now(), 0
	for {
		select {
		case <-s.done:
			return
		case now := <-arrivals:
			// Counting against the start rather than per tick keeps the rate exact at any tick.
			due := int(now.Sub(start).Seconds()*s.opts.ArrivalsPerSecond) - added
			for _, st := range s.stores {
				st.arrive(due, now, s.opts.LateArrivalFraction, s.opts.LateArrivalMax)
			}
			added += due
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

// arrivalTick spaces ticks one record apart, within [10ms, 1s] so that high rates do not spin
// and low rates still add records promptly once due.
func arrivalTick(perSecond float64) time.Duration {
	return min(max(time.Duration(float64(time.Second)/perSecond), 10*time.Millisecond), time.Second)
}
