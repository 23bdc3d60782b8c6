package securityalertsreceiver

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
)

// health turns the latest poll outcome of every stream into the receiver's component status,
// which the health_check extension (v2) serves to probes:
//   - StatusOK while every stream's latest poll passed (or has not finished yet);
//   - a recoverable error naming each failing source while some of its polls keep failing past
//     retry_on_failure (429, 5xx, timeouts, unreachable);
//   - an error naming the source, and saying "credentials refused" with the vendor's answer,
//     once a credential is refused after a fresh token (HTTP 401 or 403 on the API, or the
//     token endpoint refusing the client credentials).
//
// The status is the worst over every source, so it turns OK only when the last failing source
// passes again; while one of two still fails, the error names that one alone.
//
// A refused credential is reported as a recoverable error, not a permanent one: the collector's
// status machine takes a permanent error as final (nothing but Stopping may follow it), while the
// streams go on polling each poll_interval and a credential restored at the vendor works again at
// once. Reported permanent, a probe would keep a working collector unhealthy until a restart.
type health struct {
	owns func(stream string) bool

	mu      sync.Mutex
	streams map[string][]string    // stream names by source, sorted
	latest  map[string]pollOutcome // by stream name; a stream without one has not finished a poll
	hosts   []*statusHostState
	wake    chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
}

// statusHostState is a host to report to, and the status (statusKey) last reported to it. Hosts
// are kept in a slice: a host need not be hashable.
type statusHostState struct {
	host component.Host
	sent string
}

// pollOutcome is a stream's latest poll: err nil when it read to the end of the available data.
type pollOutcome struct {
	err     error
	refused bool
}

// newHealth watches streams. owns tells whether this replica polls a stream now (with a leader
// elector): another replica's streams count for that replica's status, not this one's.
func newHealth(streams []engine.Stream, owns func(string) bool) *health {
	h := &health{
		owns: owns, streams: map[string][]string{}, latest: map[string]pollOutcome{},
		wake: make(chan struct{}, 1),
	}
	for _, s := range streams {
		h.streams[s.Source()] = append(h.streams[s.Source()], s.Name())
	}
	for _, names := range h.streams {
		slices.Sort(names)
	}
	return h
}

// addHost adds a host to report to: the receiver is shared by its pipelines, and each pipeline's
// instance of it has its own host and status.
func (h *health) addHost(host component.Host) {
	h.mu.Lock()
	h.hosts = append(h.hosts, &statusHostState{host: host})
	h.mu.Unlock()
	h.signal()
}

// polled is the engine's Polled hook. It does not block: reports go out from start's goroutine,
// as a status watcher may take its time.
func (h *health) polled(s engine.Stream, err error) {
	h.mu.Lock()
	h.latest[s.Name()] = pollOutcome{err: err, refused: credentialsRefused(err)}
	h.mu.Unlock()
	h.signal()
}

func (h *health) signal() {
	select {
	case h.wake <- struct{}{}:
	default: // a report is due already, and it will read the latest outcomes
	}
}

// start reports every change of status until stopAndWait.
func (h *health) start() {
	h.stop = make(chan struct{})
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		for {
			select {
			case <-h.stop:
				return
			case <-h.wake:
				h.report()
			}
		}
	}()
}

func (h *health) stopAndWait() {
	if h.stop != nil {
		close(h.stop)
		h.done.Wait()
		h.stop = nil
	}
}

// report sends the current status to every host that has not had it yet.
func (h *health) report() {
	h.mu.Lock()
	ev := h.statusLocked()
	key := statusKey(ev)
	var due []component.Host
	for _, hs := range h.hosts {
		if hs.sent != key {
			due = append(due, hs.host)
			hs.sent = key
		}
	}
	h.mu.Unlock()
	for _, host := range due {
		componentstatus.ReportStatus(host, ev)
	}
}

func statusKey(ev *componentstatus.Event) string {
	if ev.Err() == nil {
		return ev.Status().String()
	}
	return ev.Status().String() + ": " + ev.Err().Error()
}

// statusLocked is the status over the sources: an error naming the refused credentials first,
// then the failing polls, or OK. h.mu must be held.
func (h *health) statusLocked() *componentstatus.Event {
	var refused, failing []string
	for _, source := range slices.Sorted(maps.Keys(h.streams)) {
		var bad, refusedStreams []string
		var firstBad, firstRefused error
		for _, name := range h.streams[source] {
			if !h.owns(name) {
				// Led by another replica now: its outcome here is stale, and the next term's
				// first poll tells afresh.
				delete(h.latest, name)
				continue
			}
			o, ok := h.latest[name]
			if !ok || o.err == nil {
				continue
			}
			// The first failing stream of each kind is named; the error is built only for it.
			switch {
			case o.refused:
				refusedStreams = append(refusedStreams, name)
				if firstRefused == nil {
					firstRefused = fmt.Errorf("%s: %w", name, o.err)
				}
			default:
				bad = append(bad, name)
				if firstBad == nil {
					firstBad = fmt.Errorf("%s: %w", name, o.err)
				}
			}
		}
		total := len(h.streams[source])
		if len(refusedStreams) > 0 {
			refused = append(refused, fmt.Sprintf("%s: credentials refused on %d of %d streams; %v", source, len(refusedStreams), total, firstRefused))
		}
		if len(bad) > 0 {
			failing = append(failing, fmt.Sprintf("%s: polls failing on %d of %d streams; %v", source, len(bad), total, firstBad))
		}
	}
	if bad := append(refused, failing...); len(bad) > 0 {
		return componentstatus.NewRecoverableErrorEvent(errors.New(strings.Join(bad, " | ")))
	}
	return componentstatus.NewEvent(componentstatus.StatusOK)
}

// credentialsRefused tells a poll that failed because the vendor refused the credential after
// a fresh token: the API's 401 survived one token refresh (apiclient retries it once), a 403
// refuses the credential's rights, and a token endpoint's refusal is the client's secret.
func credentialsRefused(err error) bool {
	var token *apiclient.TokenError
	if errors.As(err, &token) {
		return token.Refused()
	}
	var he *apiclient.HTTPError
	return errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden)
}
