package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults are the misbehaviours switched on for the record-serving endpoints; token endpoints and
// /_sim/* never misbehave. The zero value switches all of them off.
type Faults struct {
	// Rate429 is the probability of answering 429 with "Retry-After: RetryAfterSeconds" (0 is
	// sent as 0: retry at once).
	Rate429           float64
	RetryAfterSeconds int
	// Rate500 is the probability of answering 500.
	Rate500 float64
	// TruncateBody is the probability of sending a 200 whose JSON body is cut in half.
	TruncateBody float64
	// ForeignNextHost, e.g. "127.0.0.2:9", is put in next-page links instead of our host.
	ForeignNextHost string
	// ResetRate is the probability of dropping the connection without an answer (a TCP reset).
	ResetRate float64
	// StallRate is the probability of holding the response back for StallFor before answering,
	// long enough for a client's timeout to give up first.
	StallRate float64
	StallFor  time.Duration
	// Delay is added before every response.
	Delay time.Duration
	// RevokeEvery revokes all tokens periodically.
	RevokeEvery time.Duration
	// CiscoRepeatCursor is the probability that a Cisco collection page continuing after a
	// cursor answers no items, hasNextPage true and, as endCursor, the very cursor it was asked
	// with: a client that follows it blindly asks the same page for ever.
	CiscoRepeatCursor float64
}

// Validate refuses probabilities outside [0, 1] and negative durations.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name  string
		value float64
	}{{"rate_429", f.Rate429}, {"rate_500", f.Rate500}, {"truncate_body", f.TruncateBody}, {"reset_rate", f.ResetRate}, {"stall_rate", f.StallRate}, {"cisco_repeat_cursor", f.CiscoRepeatCursor}} {
		if p.value < 0 || p.value > 1 {
			return fmt.Errorf("%s: probability %v is outside [0, 1]", p.name, p.value)
		}
	}
	if f.Rate429+f.Rate500 > 1 {
		return errors.New("rate_429 + rate_500 exceed 1")
	}
	if f.RetryAfterSeconds < 0 || f.Delay < 0 || f.RevokeEvery < 0 || f.StallFor < 0 {
		return errors.New("retry_after_seconds, delay, stall_for and revoke_every must not be negative")
	}
	return nil
}

// faultsJSON is the wire form of Faults: durations as Go duration strings ("250ms").
type faultsJSON struct {
	Rate429           float64 `json:"rate_429"`
	RetryAfterSeconds int     `json:"retry_after_seconds"`
	Rate500           float64 `json:"rate_500"`
	TruncateBody      float64 `json:"truncate_body"`
	ResetRate         float64 `json:"reset_rate"`
	StallRate         float64 `json:"stall_rate"`
	StallFor          string  `json:"stall_for"`
	ForeignNextHost   string  `json:"foreign_next_host"`
	Delay             string  `json:"delay"`
	RevokeEvery       string  `json:"revoke_every"`
	CiscoRepeatCursor float64 `json:"cisco_repeat_cursor"`
}

// MarshalJSON writes snake_case fields and durations such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Rate429: f.Rate429, RetryAfterSeconds: f.RetryAfterSeconds, Rate500: f.Rate500,
		TruncateBody: f.TruncateBody, ResetRate: f.ResetRate, StallRate: f.StallRate, StallFor: f.StallFor.String(),
		ForeignNextHost: f.ForeignNextHost, Delay: f.Delay.String(), RevokeEvery: f.RevokeEvery.String(),
		CiscoRepeatCursor: f.CiscoRepeatCursor,
	})
}

// UnmarshalJSON reads what MarshalJSON writes; absent fields are off.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var w faultsJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt fault must not pass as "off"
	if err := dec.Decode(&w); err != nil {
		return err
	}
	delay, err := parseDuration("delay", w.Delay)
	if err != nil {
		return err
	}
	revokeEvery, err := parseDuration("revoke_every", w.RevokeEvery)
	if err != nil {
		return err
	}
	stallFor, err := parseDuration("stall_for", w.StallFor)
	if err != nil {
		return err
	}
	*f = Faults{
		Rate429: w.Rate429, RetryAfterSeconds: w.RetryAfterSeconds, Rate500: w.Rate500,
		TruncateBody: w.TruncateBody, ResetRate: w.ResetRate, StallRate: w.StallRate, StallFor: stallFor,
		ForeignNextHost: w.ForeignNextHost, Delay: delay, RevokeEvery: revokeEvery,
		CiscoRepeatCursor: w.CiscoRepeatCursor,
	}
	return nil
}

func parseDuration(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

type faultKind int

const (
	noFault faultKind = iota
	fault429
	fault500
	faultTruncate
	faultReset
	faultStall
)

// faultInjector holds the faults in force and the seeded dice that decide which request gets one.
type faultInjector struct {
	// changed is signalled (without blocking) on every set, for the RevokeEvery schedule.
	changed chan struct{}

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
}

func newFaultInjector(seed uint64) *faultInjector {
	// A stream of its own: fault decisions must not shift the records a seed generates.
	return &faultInjector{changed: make(chan struct{}, 1), rng: rand.New(rand.NewPCG(seed, 0xfa017))}
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.faults = f
	fi.mu.Unlock()
	select {
	case fi.changed <- struct{}{}:
	default: // a notice is already pending; the reader will see the latest faults
	}
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.faults
}

// pick decides which of f's per-request faults, if any, hits this request. 429 and 500 share one
// roll so that their rates are exactly what was asked.
func (fi *faultInjector) pick(f Faults) faultKind {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	roll, cut, reset, stall := fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64(), fi.rng.Float64()
	switch {
	case roll < f.Rate429:
		return fault429
	case roll < f.Rate429+f.Rate500:
		return fault500
	case cut < f.TruncateBody:
		return faultTruncate
	case reset < f.ResetRate:
		return faultReset
	case stall < f.StallRate:
		return faultStall
	}
	return noFault
}

// roll reports whether a fault of probability p hits. It draws nothing while p is 0, so that a
// fault switched off leaves the dice of the others as they were.
func (fi *faultInjector) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rng.Float64() < p
}

// bufferedResponse holds a response back, so that it can be sent cut short.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func buffer(next http.HandlerFunc, r *http.Request) *bufferedResponse {
	b := &bufferedResponse{header: make(http.Header), status: http.StatusOK}
	next(b, r)
	return b
}

// truncate keeps the first half of the body, with a matching Content-Length: a well-formed HTTP
// response carrying broken JSON, as when a proxy cuts an upstream response short.
func (b *bufferedResponse) truncate() {
	b.body.Truncate(b.body.Len() / 2)
	b.header.Set("Content-Length", strconv.Itoa(b.body.Len()))
}

func (b *bufferedResponse) send(w http.ResponseWriter) {
	maps.Copy(w.Header(), b.header)
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}

// resetConnection drops the client's connection without an answer: SO_LINGER 0 makes the close
// a TCP reset, as a crashing load balancer sends.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // cannot hijack (HTTP/2): abort the stream instead
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
