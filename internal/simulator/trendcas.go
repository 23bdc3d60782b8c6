package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Trend Micro Cloud App Security SIEM API: a static bearer token, one security events list per
// (service, event) pair at both paths clients use, start/end windows of at most three days,
// next_link paging, and the per-minute and per-day quotas refused in Trend's error format. The
// events, of every pair, are one stream (kind security_event), generated in trendcas_records.go.

const (
	trendCAS          = "trend_cas"
	trendKind         = "security_event"
	trendPerMinute    = 10
	trendPerDay       = 14_400
	trendMaxWindow    = 72 * time.Hour
	trendHorizon      = 72 * time.Hour  // how far back logs can be retrieved
	trendDefaultSpan  = 5 * time.Minute // what a request without start or end covers
	trendDefaultLimit = 200
	trendMaxLimit     = 500
	trendTimeFormat   = "2006-01-02T15:04:05.000Z"
)

func init() {
	registerVendor(vendor{
		source:     trendCAS,
		streams:    map[string]stream{trendKind: {generate: trendEvent, withoutID: trendWithoutID, clocked: true}},
		writeError: trendWriteError,
		// The credential is the static token itself.
		credential: func(s *Simulator, r *http.Request) string {
			if !s.trendAuthorized(r) {
				return ""
			}
			return s.opts.TrendCASToken
		},
		routes: func(s *Simulator, mux *http.ServeMux, e endpoints) {
			list := trendList(s)
			// Public clients use the first path; the vendor's SIEM document writes the second.
			mux.Handle("GET /v1/siem/security_events", e.data(list))
			mux.Handle("GET /siem/v1/security_events", e.data(list))
		},
	})
}

type trendPage struct {
	CurrentLink string           `json:"current_link"`
	NextLink    string           `json:"next_link"`
	LastTime    string           `json:"last_log_item_generation_time,omitempty"`
	Events      []map[string]any `json:"security_events"`
}

func trendList(s *Simulator) http.HandlerFunc {
	st := s.store(trendCAS, trendKind)
	quota := newTrendQuota(s.opts.TrendCASPerMinute, s.opts.TrendCASPerDay)
	orders := newTrendOrders(s.opts)
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.trendAuthorized(r) {
			trendWriteError(w, r, http.StatusUnauthorized, "Unauthorized: the authentication token is missing or not valid")
			return
		}
		if msg := quota.take(time.Now()); msg != "" {
			trendWriteError(w, r, http.StatusTooManyRequests, msg)
			return
		}
		q := r.URL.Query()
		req, msg := trendParams(q, time.Now(), s.opts.TrendCASHorizon)
		if msg == "" {
			req.shuffle, msg = orders.of(q)
		}
		if msg != "" {
			trendWriteError(w, r, http.StatusBadRequest, msg)
			return
		}
		items, total := st.page(query{from: req.from.UnixMilli(), to: req.to.UnixMilli(), match: req.pair.match, shuffle: req.shuffle, offset: req.offset, limit: req.limit})
		resp := trendPage{Events: make([]map[string]any, len(items))}
		for i, rec := range items {
			resp.Events[i] = rec.fields
			resp.LastTime = time.UnixMilli(rec.occurred).UTC().Format(trendTimeFormat)
		}
		resp.CurrentLink = (&url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}).String()
		if req.offset+len(items) < total {
			q.Set("offset", strconv.Itoa(req.offset+req.limit))
			orders.keep(q, req.shuffle)
			resp.NextLink = (&url.URL{Scheme: "http", Host: s.nextHost(r), Path: r.URL.Path, RawQuery: q.Encode()}).String()
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// trendAuthorized reports whether r carries the accepted token, and the credentials are not
// revoked (SetCredentialsRevoked revokes Trend's static token too).
func (s *Simulator) trendAuthorized(r *http.Request) bool {
	token, ok := bearerToken(r)
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.TrendCASToken)) == 1 && !s.tokens.revokedCredentials()
}

// trendRequest is one page of one pair's window.
type trendRequest struct {
	pair          trendPair
	from, to      time.Time
	limit, offset int
	shuffle       *shuffle
}

// trendParams reads a request as the API does. A refusal returns its message: an unknown service
// or event says "Invalid parameter: service|event %q is not supported", and a window reaching
// back beyond the horizon (if positive) "Invalid time range: ...", so that a client can tell a
// pair the API does not serve from a request it can mend.
func trendParams(q url.Values, now time.Time, horizon time.Duration) (req trendRequest, msg string) {
	if req.pair, msg = trendPairOf(q.Get("service"), q.Get("event")); msg != "" {
		return req, msg
	}
	req.limit = trendDefaultLimit
	var err error
	if v := q.Get("limit"); v != "" {
		if req.limit, err = strconv.Atoi(v); err != nil || req.limit < 1 || req.limit > trendMaxLimit {
			return req, fmt.Sprintf("Invalid parameter: limit must be between 1 and %d", trendMaxLimit)
		}
	}
	if v := q.Get("offset"); v != "" {
		if req.offset, err = strconv.Atoi(v); err != nil || req.offset < 0 {
			return req, "Invalid parameter: offset"
		}
	}
	start, hasStart, err1 := trendTime(q.Get("start"))
	end, hasEnd, err2 := trendTime(q.Get("end"))
	switch {
	case err1 != nil || err2 != nil:
		return req, "Invalid parameter: start and end must be ISO 8601 timestamps in UTC, yyyy-mm-ddThh:mm:ss[.mmm]Z"
	case hasStart && hasEnd:
		req.from, req.to = start, end
	case hasStart:
		req.from, req.to = start, start.Add(trendDefaultSpan)
	case hasEnd:
		req.from, req.to = end.Add(-trendDefaultSpan), end
	default:
		req.from, req.to = now.Add(-trendDefaultSpan), now
	}
	switch {
	case req.to.Before(req.from):
		return req, "Invalid parameter: end must be no earlier than start"
	case req.to.Sub(req.from) > trendMaxWindow:
		return req, "Invalid parameter: the interval between start and end must not exceed three days"
	case horizon > 0 && req.from.Before(now.Add(-horizon)):
		return req, fmt.Sprintf("Invalid time range: %s to %s begins more than %g hours before the request (%s); only the last %g hours of logs can be retrieved",
			req.from.UTC().Format(trendTimeFormat), req.to.UTC().Format(trendTimeFormat), horizon.Hours(), now.UTC().Format(trendTimeFormat), horizon.Hours())
	}
	return req, ""
}

func trendTime(v string) (time.Time, bool, error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, true, err
}

// trendQuota refuses requests beyond the per-minute and per-day quotas, as the API does: 429
// with code -4290001 and no Retry-After. Refused requests do not count.
type trendQuota struct {
	mu          sync.Mutex
	minute, day *windowLimiter
}

func newTrendQuota(perMinute, perDay int) *trendQuota {
	if perMinute == 0 {
		perMinute = trendPerMinute
	}
	if perDay == 0 {
		perDay = trendPerDay
	}
	return &trendQuota{minute: newWindowLimiter(perMinute, time.Minute), day: newWindowLimiter(perDay, 24*time.Hour)}
}

// take counts a request at now, or returns the refusal's message.
func (q *trendQuota) take(now time.Time) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.minute.full(now) {
		return "Maximum allowed requests exceeded: the quota per minute is spent"
	}
	if q.day.full(now) {
		return "Maximum allowed requests exceeded: the quota per day is spent"
	}
	q.minute.add(now)
	q.day.add(now)
	return ""
}

// trendWriteError answers in Trend's error format: a negative code derived from the status
// (400 → -4000001, 429 → -4290001), a trace id and a message.
func trendWriteError(w http.ResponseWriter, _ *http.Request, status int, message string) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, per its documentation
	writeJSON(w, status, struct {
		Code    int    `json:"code"`
		TraceID string `json:"traceId"`
		Msg     string `json:"msg"`
	}{-(status*10_000 + 1), formatUUID(b), message})
}
