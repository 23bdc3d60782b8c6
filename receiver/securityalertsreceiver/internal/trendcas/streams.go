// Package trendcas reads security events from the Trend Micro Cloud App Security SIEM API.
//
// One request covers one service and one event type, so every (service, event) pair is its own
// stream with its own checkpoint. A walk reads one time window of at most three days (the API's
// limit; a longer backlog is walked window after window) and follows next_link within it. Nothing
// says a window's pages come oldest first, so they are read as unordered: the checkpoint moves
// past a window only once all of it was read. The API keeps 72 hours: a window never starts
// further back, and the span skipped is reported. All pairs share the token's quota through Quota.
package trendcas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Source is the source key of the public contract; Kind the kind of every record.
const (
	Source = "trend_cas"
	Kind   = "security_event"
)

// MaxWindow is the longest start–end interval the API accepts, and Horizon how far back it keeps
// events: a start before it is refused (HTTP 400).
const (
	MaxWindow = 72 * time.Hour
	Horizon   = 72 * time.Hour
	// horizonMargin keeps a window's start clear of the horizon while the request travels.
	horizonMargin = time.Minute
	// retryDisabledEvery is how often a pair the API refused as unknown is tried again: a
	// service the tenant adds later (or a name the API learns) starts being read without a
	// restart, at the cost of one refused request an hour.
	retryDisabledEvery = time.Hour
)

// timeFormat is the API's ISO 8601 form, in UTC to the millisecond.
const timeFormat = "2006-01-02T15:04:05.000Z"

// KnownServices and KnownEvents are the names the API documents; they are the defaults. Other
// names are sent as configured: the API's list grows, and it refuses a name it does not know.
var (
	KnownServices = []string{
		"exchange", "sharepoint", "onedrive", "dropbox", "box", "googledrive", "gmail", "teams",
		"exchangeserver", "salesforce_sandbox", "salesforce_production", "teams_chat",
	}
	KnownEvents = []string{"securityrisk", "virtualanalyzer", "ransomware", "dlp"}
)

// Config selects what to read.
type Config struct {
	Services []string
	Events   []string
	// Limit is the page size.
	Limit int
	// QueryDelay is how far behind now a window ends, so that events still being indexed
	// are read by a later window rather than missed.
	QueryDelay time.Duration
}

// Streams returns one stream per (service, event) pair of cfg.
func (c *Client) Streams(cfg Config) []engine.Stream {
	var streams []engine.Stream
	for _, service := range cfg.Services {
		for _, event := range cfg.Events {
			streams = append(streams, &stream{client: c, service: service, event: event, limit: cfg.Limit, delay: cfg.QueryDelay, now: time.Now})
		}
	}
	return streams
}

type stream struct {
	client         *Client
	service, event string
	limit          int
	delay          time.Duration
	now            func() time.Time
	// disabledUntil, in unix ns, is set when the API refused the pair itself as unknown.
	disabledUntil atomic.Int64
}

// Name is "trend_cas/<service>/<event>". It keys the checkpoint: keep it stable.
func (s *stream) Name() string { return Source + "/" + s.service + "/" + s.event }

func (s *stream) Source() string { return Source }

func (s *stream) Fetch(ctx context.Context, q engine.Query) (engine.Page, error) {
	if s.now().UnixNano() < s.disabledUntil.Load() {
		return engine.Page{}, nil
	}
	ctx = withPair(ctx, s.Name())
	var (
		w       walk
		body    []byte
		pageURL string
		err     error
	)
	if q.PageToken != "" {
		if w, err = parseToken(q.PageToken); err != nil {
			return engine.Page{}, err
		}
		pageURL = w.next
		body, err = s.client.get(ctx, pageURL)
	} else {
		var ok bool
		if w, ok = s.window(q.Since); !ok {
			return engine.Page{}, nil // the window behind query_delay is empty yet
		}
		body, pageURL, err = s.client.first(ctx, s.params(w))
		if ae, isAPI := apiErrorOf(err); isAPI && ae.UnknownPair() {
			return engine.Page{}, s.disable(ae)
		}
	}
	if err != nil {
		return engine.Page{}, err
	}
	page, err := s.page(pageURL, body, w)
	if q.PageToken == "" && w.start.After(q.Since) {
		page.Skipped = &engine.Span{From: q.Since, To: w.start}
	}
	return page, err
}

// walk is one window being read; its position travels in the engine's page token.
type walk struct {
	start, end time.Time
	// clipped: the window was cut at MaxWindow, so more data waits after end.
	clipped bool
	next    string
}

// window is the walk starting at since, or at the API's horizon if since is further back: up to
// MaxWindow long, ending query_delay before now.
func (s *stream) window(since time.Time) (walk, bool) {
	now := s.now()
	start := maxTime(since, now.Add(-Horizon+horizonMargin)).UTC().Truncate(time.Millisecond)
	limit := now.Add(-s.delay).UTC().Truncate(time.Millisecond)
	w := walk{start: start, end: start.Add(MaxWindow)}
	if w.clipped = w.end.Before(limit); !w.clipped {
		w.end = limit
	}
	return w, w.end.After(w.start)
}

func (s *stream) params(w walk) url.Values {
	return url.Values{
		"service": {s.service},
		"event":   {s.event},
		"start":   {w.start.Format(timeFormat)},
		"end":     {w.end.Format(timeFormat)},
		"limit":   {strconv.Itoa(s.limit)},
	}
}

// page converts one answer. The last page of a walk says the whole window was read (Through)
// and, when the window was clipped, that another walk is due at once (Backlog).
func (s *stream) page(pageURL string, body []byte, w walk) (engine.Page, error) {
	resp, err := decodePage(pageURL, body, s.client.quota)
	if err != nil {
		return engine.Page{}, err
	}
	page := engine.Page{Unordered: true}
	page.Records, page.Malformed = record.FromItems(resp.events, func(obj map[string]any) record.Record {
		return convert(obj, s.event, s.client.api.Host())
	})
	if resp.next == "" {
		page.Through, page.Backlog = w.end, w.clipped
		return page, nil
	}
	next, err := s.client.api.Resolve(resp.next)
	if err == nil && next == pageURL {
		err = backoff.Permanent(errors.New("next_link repeats the page it came with"))
	}
	if err != nil {
		return page, fmt.Errorf("%s: %w", s.Name(), err)
	}
	w.next = next
	page.Next = w.token()
	return page, nil
}

// disable stops polling a pair the API refused as unknown for retryDisabledEvery: the others
// keep running.
func (s *stream) disable(ae *APIError) error {
	s.disabledUntil.Store(s.now().Add(retryDisabledEvery).UnixNano())
	s.client.log.Error("The API refused this service/event pair as unknown; it is tried again in an hour, the other pairs keep running",
		zap.String("service", s.service), zap.String("event", s.event), zap.Error(ae))
	return backoff.Permanent(fmt.Errorf("service %q, event %q refused (pair paused for %s): %w", s.service, s.event, retryDisabledEvery, ae))
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// token encodes a walk in progress as "<end ms>|<clipped>|<next URL>".
func (w walk) token() string {
	return strconv.FormatInt(w.end.UnixMilli(), 10) + "|" + strconv.FormatBool(w.clipped) + "|" + w.next
}

func parseToken(tok string) (walk, error) {
	parts := strings.SplitN(tok, "|", 3)
	if len(parts) == 3 {
		ms, err1 := strconv.ParseInt(parts[0], 10, 64)
		clipped, err2 := strconv.ParseBool(parts[1])
		if err1 == nil && err2 == nil {
			return walk{end: time.UnixMilli(ms).UTC(), clipped: clipped, next: parts[2]}, nil
		}
	}
	return walk{}, backoff.Permanent(errors.New("unreadable page token"))
}
