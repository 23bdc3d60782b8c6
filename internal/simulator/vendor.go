package simulator

import (
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// A vendor is one simulated API. Each vendor lives in its own file and adds itself to vendors
// from init, so that a new vendor touches nothing else.
type vendor struct {
	// source is the vendor's source key, e.g. "usm_anywhere"; streams are keyed by it and kind.
	source string
	// streams generate the vendor's records, by kind ("alarm", "event", ...).
	streams map[string]stream
	// rateLimit is the documented GET requests per second per API client, applied unless
	// Options.RateLimit overrides it.
	rateLimit float64
	// writeError answers in the vendor's error format; the core uses it for the 429s and 500s
	// it sends on the vendor's behalf.
	writeError func(w http.ResponseWriter, r *http.Request, status int, message string)
	// credential names the API credential a data request is sent with, for the counts per
	// credential (Stats.Credentials): "" when it has none valid. Nil means the OAuth2 client id
	// its bearer token was issued to.
	credential func(s *Simulator, r *http.Request) string
	// routes registers the vendor's endpoints on mux, wrapped in e's data or token.
	routes func(s *Simulator, mux *http.ServeMux, e endpoints)
}

// endpoints wrap a vendor's handlers.
type endpoints struct {
	// data wraps record-serving handlers: it counts them, and applies latency, delays, rate
	// limits and faults.
	data func(http.HandlerFunc) http.Handler
	// token wraps token endpoints: it counts them, and nothing else, as they never misbehave.
	token func(http.HandlerFunc) http.Handler
}

var vendors []vendor

func registerVendor(v vendor) { vendors = append(vendors, v) }

// endpoints returns the wrappers of v's handlers.
func (s *Simulator) endpoints(v vendor) endpoints {
	credential := v.credential
	if credential == nil {
		credential = func(s *Simulator, r *http.Request) string {
			id, _ := s.authorize(r)
			return id
		}
	}
	return endpoints{
		data: s.dataMiddleware(v, credential),
		token: func(next http.HandlerFunc) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, secret, ok := r.BasicAuth()
				if !ok || !s.validClient(id, secret) {
					id = ""
				}
				s.usage.token(v.source, id)
				next(w, r)
			})
		},
	}
}

// dataMiddleware returns what the vendor's record-serving handlers are wrapped in: the count per
// credential at arrival, the injected delay, the per-client rate limit, the vendor's latency,
// then the injected 429s, 500s and truncated bodies.
func (s *Simulator) dataMiddleware(v vendor, credential func(*Simulator, *http.Request) string) func(http.HandlerFunc) http.Handler {
	perSecond := v.rateLimit
	if s.opts.RateLimit != 0 {
		perSecond = s.opts.RateLimit
	}
	limits := newClientLimiter(perSecond)
	latency := s.opts.latencyOf(v.source)
	return func(next http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.usage.data(v.source, credential(s, r))
			f := s.faults.get()
			if f.Delay > 0 {
				s.stats.addFault("delay")
				if !s.wait(w, r, v, f.Delay) {
					return
				}
			}
			if wait, ok := limits.allow(s.clientKey(r)); !ok {
				s.stats.addRateLimited()
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				v.writeError(w, r, http.StatusTooManyRequests, "Rate limit exceeded")
				return
			}
			// The API's own time to answer, after its gateway admitted the request. Each request
			// sleeps in its own goroutine: latency delays answers, not other requests.
			if latency > 0 && !s.wait(w, r, v, latency) {
				return
			}
			switch s.faults.pick(f) {
			case fault429:
				s.stats.addFault("rate_429")
				w.Header().Set("Retry-After", strconv.Itoa(max(f.RetryAfterSeconds, 0)))
				v.writeError(w, r, http.StatusTooManyRequests, "Rate limit exceeded")
			case fault500:
				s.stats.addFault("rate_500")
				v.writeError(w, r, http.StatusInternalServerError, "Internal Server Error")
			case faultReset:
				s.stats.addFault("reset")
				resetConnection(w)
			case faultStall:
				s.stats.addFault("stall")
				select {
				case <-time.After(f.StallFor):
					next(w, r)
				case <-r.Context().Done(): // the client gave up, as intended
				case <-s.done:
				}
			case faultTruncate:
				resp := buffer(next, r)
				if resp.status == http.StatusOK {
					s.stats.addFault("truncate_body")
					resp.truncate()
				}
				resp.send(w)
			default:
				next(w, r)
			}
		})
	}
}

// wait holds a request back for d. It reports false, having answered if anyone still listens,
// when the client left or the simulator closed first.
func (s *Simulator) wait(w http.ResponseWriter, r *http.Request, v vendor, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false // the client is gone
	case <-s.done:
		v.writeError(w, r, http.StatusServiceUnavailable, "Shutting down")
		return false
	}
}

// validClient reports whether id and secret are the configured credentials, and they are not
// revoked: token endpoints answer revoked credentials as they answer unknown ones, as a vendor
// whose API client was deleted does.
func (s *Simulator) validClient(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret))
	return idOK&secretOK == 1 && !s.tokens.revokedCredentials()
}

// authorize returns the client a request's bearer token was issued to, or why it is refused.
func (s *Simulator) authorize(r *http.Request) (clientID string, err error) {
	token, ok := bearerToken(r)
	if !ok {
		return "", errNoToken
	}
	return s.tokens.check(token)
}

// clientKey names who a request counts against for rate limiting: the API client its token was
// issued to, as vendors count per client, or else its address.
func (s *Simulator) clientKey(r *http.Request) string {
	if id, err := s.authorize(r); err == nil {
		return "client:" + id
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	return "addr:" + host
}

// nextHost is the host a next-page link points to: ours, unless the ForeignNextHost fault is on.
func (s *Simulator) nextHost(r *http.Request) string {
	if foreign := s.faults.get().ForeignNextHost; foreign != "" {
		s.stats.addFault("foreign_next_host")
		return foreign
	}
	return r.Host
}

// store returns the records of one of the vendor's streams.
func (s *Simulator) store(source, kind string) *store {
	return s.stores[streamKey{source, kind}]
}
