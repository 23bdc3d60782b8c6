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
	trendDefaultSpan  = 5 * time.Minute // what a request without start or end covers
	trendDefaultLimit = 200
	trendMaxLimit     = 500
	trendTimeFormat   = "2006-01-02T15:04:05.000Z"
)

func init() {
	registerVendor(vendor{
		source:     trendCAS,
		streams:    map[string]generator{trendKind: trendEvent},
		writeError: trendWriteError,
		routes: func(s *Simulator, mux *http.ServeMux, data func(http.HandlerFunc) http.Handler) {
			list := trendList(s)
			// Public clients use the first path; the vendor's SIEM document writes the second.
			mux.Handle("GET /v1/siem/security_events", data(list))
			mux.Handle("GET /siem/v1/security_events", data(list))
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
		pair, from, to, limit, offset, msg := trendParams(q, time.Now())
		if msg != "" {
			trendWriteError(w, r, http.StatusBadRequest, msg)
			return
		}
		items, total := st.page(query{from: from.UnixMilli(), to: to.UnixMilli(), match: pair.match, offset: offset, limit: limit})
		resp := trendPage{Events: make([]map[string]any, len(items))}
		for i, rec := range items {
			resp.Events[i] = rec.fields
			resp.LastTime = time.UnixMilli(rec.occurred).UTC().Format(trendTimeFormat)
		}
		resp.CurrentLink = (&url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}).String()
		if offset+len(items) < total {
			q.Set("offset", strconv.Itoa(offset+limit))
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

// trendParams reads a request as the API does. A refusal returns its message.
func trendParams(q url.Values, now time.Time) (pair trendPair, from, to time.Time, limit, offset int, msg string) {
	var ok bool
	if pair, ok = trendPairOf(q.Get("service"), q.Get("event")); !ok {
		return pair, from, to, 0, 0, fmt.Sprintf("Invalid parameter: service %q with event %q is not supported", q.Get("service"), q.Get("event"))
	}
	limit, offset = trendDefaultLimit, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > trendMaxLimit {
			return pair, from, to, 0, 0, fmt.Sprintf("Invalid parameter: limit must be between 1 and %d", trendMaxLimit)
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return pair, from, to, 0, 0, "Invalid parameter: offset"
		}
	}
	start, hasStart, err1 := trendTime(q.Get("start"))
	end, hasEnd, err2 := trendTime(q.Get("end"))
	switch {
	case err1 != nil || err2 != nil:
		return pair, from, to, 0, 0, "Invalid parameter: start and end must be ISO 8601 timestamps in UTC, yyyy-mm-ddThh:mm:ss[.mmm]Z"
	case hasStart && hasEnd:
		from, to = start, end
	case hasStart:
		from, to = start, start.Add(trendDefaultSpan)
	case hasEnd:
		from, to = end.Add(-trendDefaultSpan), end
	default:
		from, to = now.Add(-trendDefaultSpan), now
	}
	switch {
	case to.Before(from):
		return pair, from, to, 0, 0, "Invalid parameter: end must be no earlier than start"
	case to.Sub(from) > trendMaxWindow:
		return pair, from, to, 0, 0, "Invalid parameter: the interval between start and end must not exceed three days"
	}
	return pair, from, to, limit, offset, ""
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
