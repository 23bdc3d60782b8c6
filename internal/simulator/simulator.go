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

	// The options below make the APIs as unkind as the real ones can be. Each is off in the zero
	// value, but for TrendCASHorizon: the Trend API documents and enforces it.

	// AlarmsClosedPerSecond is how many open alarms of each USM Anywhere and USM Central alarm
	// stream close per second (status "open" becomes "closed"), picked at random among all the
	// open ones however far back: a client paging by offset through status=open sees later
	// pages shift. Closed tells when each closed.
	AlarmsClosedPerSecond float64
	// FutureFraction of the new records of the lists windowed by occurrence time (USM Anywhere,
	// USM Central, Trend) occur FutureSkew (default 24h) ahead of time, as from a device whose
	// clock is a day ahead: a window ending now leaves them out, an open-ended one returns them.
	// FutureInBacklog skews the backlog's records too.
	FutureFraction  float64
	FutureSkew      time.Duration
	FutureInBacklog bool
	// MissingIDFraction of the records of the streams that have ids (USM Anywhere and USM Central
	// alarms and events: uuid, id; Trend: log_item_id) come without them. Records tells them apart.
	// Cisco's never do: that API addresses every object by its id.
	MissingIDFraction float64
	// CentralTotalCap, when positive, makes USM Central's searches answer total as Elasticsearch
	// does: {"value": N, "relation": "eq"}, or beyond the cap {"value": cap, "relation": "gte"}
	// (Elasticsearch tracks 10,000 hits by default: ElasticsearchDefaultLimit).
	CentralTotalCap int
	// CentralResultWindow, when positive, refuses a USM Central search whose page × size exceeds
	// it, with a 400, as Elasticsearch refuses from + size beyond index.max_result_window
	// (10,000 by default).
	CentralResultWindow int
	// TrendCASShuffledPages serves the pages of a Trend window in no particular order: each
	// window's events, each once across its pages, in an order drawn for the walk and carried in
	// its next_link (a client that builds its own offset links gets a different order per page).
	TrendCASShuffledPages bool
	// TrendCASHorizon is how far before the request a Trend window may begin: the API serves
	// logs of the last 72 hours only and refuses an earlier start with a 400. 0 means those
	// documented 72 hours; negative, no limit (for backlogs pinned in the past).
	TrendCASHorizon time.Duration
	// Latency delays every data request's answer by source ("usm_anywhere", ...); the key "*"
	// sets it for the sources not named. Each request sleeps on its own, so concurrent requests
	// overlap. Token requests are not delayed: a collector asks for one every few minutes, so
	// their latency moves no throughput figure, and token lifetimes stay exact.
	Latency map[string]time.Duration
}

// ElasticsearchDefaultLimit is Elasticsearch's default track_total_hits and max_result_window,
// for CentralTotalCap and CentralResultWindow.
const ElasticsearchDefaultLimit = 10_000

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
	case o.AlarmsClosedPerSecond < 0:
		return errors.New("alarms closed per second must not be negative")
	case o.FutureFraction < 0 || o.FutureFraction > 1:
		return errors.New("future fraction must be within [0, 1]")
	case o.FutureSkew < 0:
		return errors.New("future skew must not be negative")
	case o.MissingIDFraction < 0 || o.MissingIDFraction > 1:
		return errors.New("missing id fraction must be within [0, 1]")
	case o.CentralTotalCap < 0 || o.CentralResultWindow < 0:
		return errors.New("central total cap and central result window must not be negative")
	}
	return errors.Join(o.backlogsErr(), o.latencyErr())
}

func (o Options) latencyErr() error {
	for source, d := range o.Latency {
		if d < 0 {
			return fmt.Errorf("latency of %s must not be negative", source)
		}
		if source != "*" && !slices.Contains(Sources(), source) {
			return fmt.Errorf("latency of %s: no such source (sources: %s, or * for all)", source, strings.Join(Sources(), ", "))
		}
	}
	return nil
}

// latencyOf is the latency of a source's data requests.
func (o Options) latencyOf(source string) time.Duration {
	if d, ok := o.Latency[source]; ok {
		return d
	}
	return o.Latency["*"]
}

// Sources lists the simulated vendors' source keys, sorted.
func Sources() []string {
	var sources []string
	for _, v := range vendors {
		sources = append(sources, v.source)
	}
	slices.Sort(sources)
	return sources
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
	if o.FutureSkew == 0 {
		o.FutureSkew = 24 * time.Hour
	}
	if o.TrendCASHorizon == 0 {
		o.TrendCASHorizon = trendHorizon
	}
	return o
}

func (o Options) misbehaviour() misbehaviour {
	return misbehaviour{
		missingIDFraction: o.MissingIDFraction,
		futureFraction:    o.FutureFraction, futureSkew: o.FutureSkew, futureInBacklog: o.FutureInBacklog,
	}
}

// Simulator serves every registered vendor's API from one HTTP handler. Close must be called:
// New starts a goroutine that adds arrivals and revokes tokens on schedule.
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
