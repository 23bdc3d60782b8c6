package simulator

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Stats count what the simulator did, for tests to check and for /_sim/stats.
type Stats struct {
	// Requests counts API requests by path and status code; /_sim/* requests are not counted.
	Requests map[string]map[int]int64 `json:"requests"`
	// Faults counts injected faults by type: rate_429, rate_500, truncate_body, reset, stall,
	// foreign_next_host (next links pointed away), delay (responses delayed), revoke_every
	// (scheduled revocations) and cisco_repeat_cursor.
	Faults map[string]int64 `json:"faults"`
	// RateLimited counts requests refused by the rate limit (not by the rate_429 fault).
	RateLimited int64 `json:"rate_limited"`
	// TokensIssued counts access tokens handed out.
	TokensIssued int64 `json:"tokens_issued"`
	// Records is how many records each stream ("usm_anywhere/alarm") holds now.
	Records map[string]int `json:"records"`
	// Credentials is what each API credential sent each vendor, by source, then credential: the
	// OAuth2 client id, Trend's token, or "" for requests without a valid one.
	Credentials map[string]map[string]CredentialUsage `json:"credentials"`
	// CredentialsRevoked is whether SetCredentialsRevoked(true) is in force.
	CredentialsRevoked bool `json:"credentials_revoked"`
}

// Stats returns a snapshot of the counters.
func (s *Simulator) Stats() Stats {
	st := s.stats.snapshot()
	st.TokensIssued = s.tokens.issuedCount()
	st.Credentials = s.usage.snapshot()
	st.CredentialsRevoked = s.tokens.revokedCredentials()
	st.Records = make(map[string]int, len(s.stores))
	for key, store := range s.stores {
		st.Records[key.String()] = store.size()
	}
	return st
}

type stats struct {
	mu          sync.Mutex
	requests    map[string]map[int]int64
	faults      map[string]int64
	rateLimited int64
}

func newStats() *stats {
	return &stats{requests: make(map[string]map[int]int64), faults: make(map[string]int64)}
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	requests := make(map[string]map[int]int64, len(s.requests))
	for path, byStatus := range s.requests {
		requests[path] = maps.Clone(byStatus)
	}
	return Stats{Requests: requests, Faults: maps.Clone(s.faults), RateLimited: s.rateLimited}
}

func (s *stats) addFault(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[kind]++
}

func (s *stats) addRateLimited() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited++
}

func (s *stats) addRequest(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests[path] == nil {
		s.requests[path] = make(map[int]int64)
	}
	s.requests[path][status]++
}

// middleware counts every API request by path and the status it was answered with. It counts
// when the status is written, before the client can see the response and then ask for stats.
func (s *stats) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			next.ServeHTTP(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w, count: func(status int) { s.addRequest(r.URL.Path, status) }}
		next.ServeHTTP(cw, r)
		if !cw.counted { // nothing written: net/http answers 200 with an empty body
			cw.count(http.StatusOK)
		}
	})
}

type countingWriter struct {
	http.ResponseWriter
	count   func(status int)
	counted bool
}

func (w *countingWriter) WriteHeader(status int) {
	if !w.counted {
		w.counted = true
		w.count(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if !w.counted {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}
