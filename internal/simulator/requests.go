package simulator

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ClientHeader is the request header the simulator takes as the client's identity: the
// securityalerts receiver sends its collector's service.instance.id in it, so that a test can
// tell which replica of a scaled-out deployment sent a request.
const ClientHeader = "X-Collector-Instance"

// Request is one API request as the simulator served it.
type Request struct {
	// Client is the ClientHeader value, empty when absent.
	Client string    `json:"client"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query"`
	Start  time.Time `json:"start"`
	// End is when the response had been written.
	End time.Time `json:"end"`
}

// requestLog keeps every API request when Options.RecordRequests is set.
type requestLog struct {
	on      bool
	mu      sync.Mutex
	entries []Request
}

func (l *requestLog) middleware(next http.Handler) http.Handler {
	if !l.on {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			next.ServeHTTP(w, r)
			return
		}
		req := Request{Client: r.Header.Get(ClientHeader), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Start: time.Now()}
		next.ServeHTTP(w, r)
		req.End = time.Now()
		l.mu.Lock()
		l.entries = append(l.entries, req)
		l.mu.Unlock()
	})
}

// Requests returns every API request served so far, in the order they ended; nil unless
// Options.RecordRequests is set.
func (s *Simulator) Requests() []Request {
	s.requests.mu.Lock()
	defer s.requests.mu.Unlock()
	return slices.Clone(s.requests.entries)
}
