package simulator

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cisco Global Threat Alerts: OAuth2 client-credentials tokens from /iroh/oauth2/token (600 s),
// cursor-paged collections ({items, pageInfo}) of alerts, threat detections, events and flows
// under /{area}/customer/{customerId}/..., the bulk searches used to enrich events, and
// /auth/api-clients/me. The objects are generated in ciscogta_records.go and kept, numbered and
// changed in ciscogta_world.go; the collections are served in ciscogta_lists.go.

const ciscoSource = "cisco_gta"

// CiscoCustomerID is the customer the simulated API serves (and /auth/api-clients/me names).
const CiscoCustomerID = "CTA123456789"

// ciscoTokenTTL is the documented lifetime of Cisco's access tokens.
const ciscoTokenTTL = 600 * time.Second

func init() {
	registerVendor(vendor{
		source: ciscoSource,
		// Cisco addresses every object by its id (alert cursors, /alerts/{id}, the links between
		// objects): none comes without one. Its lists are not windows on occurrence time either.
		streams: map[string]stream{
			"alert": {generate: ciscoAlert}, "threat_detection": {generate: ciscoDetection},
			"event": {generate: ciscoEvent}, "flow": {generate: ciscoFlow},
		},
		// The docs state no rate limit; Options.RateLimit sets one.
		rateLimit:  0,
		writeError: ciscoWriteError,
		routes: func(s *Simulator, mux *http.ServeMux, e endpoints) {
			w := newCiscoWorld(s)
			mux.Handle("POST /iroh/oauth2/token", e.token(ciscoToken(s)))
			api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, e.data(ciscoAuthorized(s, h))) }
			api("GET /auth/api-clients/me", ciscoMe(s))
			const alerts = "/alert-management/customer/{cid}/alerts"
			api("GET "+alerts, w.listAlerts)
			api("GET "+alerts+"/{id}", w.getAlert)
			api("POST "+alerts+"/search", w.searchAlerts)
			api("POST /alert-management/customer/{cid}/enriched-threat-detections-with-alert-ids/search", w.searchDetections)
			api("GET /threat-detection/customer/{cid}/threat-detections", w.sequence(&w.detections, ""))
			api("GET /threat-detection/customer/{cid}/enriched-events-with-threat-detection-ids", w.sequence(&w.events, "threatDetectionIds"))
			api("GET /event-detection/customer/{cid}/events", w.sequence(&w.events, ""))
			api("POST /event-detection/customer/{cid}/events/search", w.sequence(&w.events, ""))
			api("POST /event-detection/customer/{cid}/flows/search", w.sequence(&w.flows, ""))
		},
	})
}

func ciscoToken(s *Simulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || !s.validClient(id, secret) {
			// The docs' answer to a bad client: 400, not 401.
			writeJSON(w, http.StatusBadRequest, map[string]string{
				"error": "invalid_client", "error_description": "unknown client",
				"error_uri": "https://tools.ietf.org/html/rfc6749#section-5.2",
			})
			return
		}
		if grant := r.FormValue("grant_type"); grant != "client_credentials" {
			writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "grant_type must be client_credentials"})
			return
		}
		ttl := s.tokens.lifetime(ciscoTokenTTL)
		token, _ := s.tokens.issue(id, ttl)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": token, "token_type": "bearer", "expires_in": expiresIn(ttl), "scope": "casebook",
		})
	}
}

// ciscoAuthorized refuses requests without a valid token, sent as "Bearer" capitalised (the docs
// warn that the token response's "bearer" is refused), or for another customer.
func ciscoAuthorized(s *Simulator, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			ciscoWriteError(w, r, http.StatusUnauthorized, "Authorization header must be 'Bearer <access_token>'")
			return
		}
		if _, err := s.tokens.check(token); err != nil {
			ciscoWriteError(w, r, http.StatusUnauthorized, err.Error())
			return
		}
		if cid := r.PathValue("cid"); cid != "" && cid != CiscoCustomerID {
			ciscoWriteError(w, r, http.StatusForbidden, "Access to customer "+cid+" denied")
			return
		}
		next(w, r)
	}
}

func ciscoMe(s *Simulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"clientId": s.opts.ClientID, "name": "simulated API client",
			"identity": map[string]any{"type": "customer", "customerId": CiscoCustomerID},
		})
	}
}

func ciscoWriteError(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeJSON(w, status, map[string]any{"status": status, "error": http.StatusText(status), "message": message, "path": r.URL.Path})
}

// ciscoPageInfo is the pageInfo of every collection. previous and next are relative links, and
// null for POST searches: clients continue with after=<endCursor>.
type ciscoPageInfo struct {
	Previous        *string `json:"previous"`
	Next            *string `json:"next"`
	HasNextPage     bool    `json:"hasNextPage"`
	HasPreviousPage bool    `json:"hasPreviousPage"`
	StartCursor     *string `json:"startCursor"`
	EndCursor       *string `json:"endCursor"`
}

// writeCiscoPage answers a page whose items run from cursor start to end (both empty for an
// empty page). hasPrevious is whether the request continued after a cursor. The
// CiscoRepeatCursor fault replaces the page with an empty one that sends the client back to
// the cursor it asked with.
func (s *Simulator) writeCiscoPage(w http.ResponseWriter, r *http.Request, items []map[string]any, start, end string, hasNext bool) {
	after := r.URL.Query().Get("after")
	if after != "" && s.faults.roll(s.faults.get().CiscoRepeatCursor) {
		s.stats.addFault("cisco_repeat_cursor")
		items, start, end, hasNext = nil, after, after, true
	}
	info := ciscoPageInfo{HasNextPage: hasNext, HasPreviousPage: after != ""}
	if start != "" {
		info.StartCursor, info.EndCursor = &start, &end
	}
	if r.Method == http.MethodGet && hasNext {
		q := r.URL.Query()
		q.Set("after", end)
		next := (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
		if host := s.nextHost(r); host != r.Host {
			next = "http://" + host + next
		}
		info.Next = &next
	}
	if items == nil {
		items = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "pageInfo": info})
}

// ciscoSize reads size: at most 1,000, also when absent.
func ciscoSize(q url.Values) (int, bool) {
	v := q.Get("size")
	if v == "" {
		return maxPageSize, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, maxPageSize), true
}
