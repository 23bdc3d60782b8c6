// Package usmcentral reads the alarms and events of every deployment (tenant) of a LevelBlue USM
// Central console through its API 1.1, and the deployments' connection status.
//
// Alarms and events are searched by POSTing a body (find, sort, range, 1-based page) that
// answers {results, total}. Searches sort ascending on timestamp_occured within an inclusive
// range: the engine walks them by keyset, each page a fresh search from the newest time it
// delivered, so no walk goes deep into Elasticsearch's result window and records leaving a
// filtered set never shift a page. A deployment that reconnects is read again from when it was
// last connected (Backfills), as it delivers its buffered records with their original times.
package usmcentral

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
	"github.com/securityalerts/securityalerts/internal/usm"
)

// Source is the source key of the public contract.
const Source = "usm_central"

// TokenPath is where the console issues OAuth2 client-credentials tokens.
const TokenPath = "/api/1.1/oauth/token"

// Default search paths: the public clients take the URL as a parameter, so the paths are
// configurable.
const (
	DefaultAlarmsPath = "/api/1.1/alarms"
	DefaultEventsPath = "/api/1.1/events"
)

// AttrTenantName carries the deployment's display name; the tenant itself is its fqdn.
const AttrTenantName = "securityalerts.tenant.name"

// StreamConfig selects one search.
type StreamConfig struct {
	Enabled bool
	Path    string
	// Find is the search's find object: field → accepted values.
	Find map[string][]string
}

// Config selects what to read.
type Config struct {
	PageSize int
	// RequestsPerSecond is the rate the client's limiter allows: how many requests a backlog
	// can keep in flight is chosen from it.
	RequestsPerSecond float64
	Alarms            StreamConfig
	Events            StreamConfig
	// DirectEvents names deployments whose events are read from their own USM Anywhere API: the
	// console's event search skips them, so that no event is emitted twice.
	DirectEvents []string
}

type list struct {
	kind string
	// embedded lists the _embedded keys a HAL answer may use.
	embedded []string
}

var (
	alarms = list{kind: "alarm", embedded: []string{"alarms"}}
	events = list{kind: "event", embedded: []string{"events", "eventResources"}}
)

// NewStreams returns the streams cfg asks for; they share dir.
func NewStreams(api *apiclient.Client, dir *Directory, cfg Config) []engine.Stream {
	var streams []engine.Stream
	for _, l := range []struct {
		cfg  StreamConfig
		list list
		name string
	}{{cfg.Alarms, alarms, "alarms"}, {cfg.Events, events, "events"}} {
		if !l.cfg.Enabled {
			continue
		}
		s := &stream{api: api, dir: dir, list: l.list, name: Source + "/" + l.name, cfg: l.cfg, pageSize: cfg.PageSize, rate: cfg.RequestsPerSecond}
		if l.list.kind == alarms.kind {
			s.cfg.Find, s.local = usm.SplitFilters(l.cfg.Find, func(key string) string { return strings.TrimPrefix(key, "alarm.") })
		}
		if l.list.kind == events.kind {
			s.skip = cfg.DirectEvents
		}
		dir.Watch(s.name)
		streams = append(streams, s)
	}
	return streams
}

type stream struct {
	api      *apiclient.Client
	dir      *Directory
	list     list
	name     string
	cfg      StreamConfig
	pageSize int
	rate     float64
	skip     []string
	// local are the find values on fields an alarm changes, applied to what is read (see
	// usm.ChangingAlarmFields); cfg.Find holds those sent.
	local usm.LocalFilter

	// relisted is set once a poll listed the deployments for a tenant it did not know, so that
	// a poll lists them once at most; pages of a poll may be fetched concurrently.
	relisted atomic.Bool
}

// Name is "usm_central/alarms" or "usm_central/events"; it keys the checkpoint.
func (s *stream) Name() string   { return s.name }
func (s *stream) Source() string { return Source }
func (s *stream) PageSize() int  { return s.pageSize }

// RequestsPerSecond is the stream's rate limit (engine.Paced).
func (s *stream) RequestsPerSecond() float64 { return s.rate }

// PollStarting lists the deployments when they are due (every refresh_every polls).
func (s *stream) PollStarting(ctx context.Context) error {
	s.relisted.Store(false)
	return s.dir.Polled(ctx, s.name)
}

// Backfills are the spans of the deployments that reconnected, from when each was last listed
// as connected (unknown: the engine's initial lookback).
func (s *stream) Backfills() []engine.Backfill {
	var out []engine.Backfill
	for _, rc := range s.dir.Reconnected(s.name) {
		out = append(out, engine.Backfill{Scope: rc.Deployment.ID, From: rc.Since})
	}
	return out
}

// Kept are when the deployments were last listed connected; Restore gives them back after a
// restart (engine.Keeper).
func (s *stream) Kept() map[string]time.Time        { return s.dir.ConnectedAt() }
func (s *stream) Restore(kept map[string]time.Time) { s.dir.RestoreConnectedAt(kept) }

// FetchRange reads one page of the range; with a Scope, only that deployment's records are
// emitted (the others of the span were read before).
func (s *stream) FetchRange(ctx context.Context, r engine.Range) (engine.RangePage, error) {
	size := s.pageSize
	if r.CountOnly {
		size = 1
	}
	if (r.Page+1)*size > ResultWindow {
		return engine.RangePage{}, backoff.Permanent(fmt.Errorf("%s: page %d of %d: %w", s.name, r.Page+1, size, engine.ErrPastResultWindow))
	}
	ans, err := search(ctx, s.api, s.cfg.Path, s.list, rangeRequest(s.list, s.cfg.Find, r.From, r.To, r.Page+1, size))
	if err != nil {
		return engine.RangePage{}, err
	}
	page := s.records(ctx, ans.items, r.Scope)
	page.Total, page.Capped = ans.total, ans.capped
	page.More = len(ans.items) > 0 && (ans.more || ans.capped || int64(r.Page+1)*int64(size) < ans.total)
	return page, nil
}

// records converts a page's items. Those of deployments not watched, or not matching the
// filters applied here, are withheld; those outside scope are set apart: both still move the walk on.
func (s *stream) records(ctx context.Context, items []any, scope string) engine.RangePage {
	var page engine.RangePage
	results, malformed := record.Objects(items)
	page.Malformed = malformed
	if slices.ContainsFunc(results, func(obj map[string]any) bool { return !s.known(obj) }) && s.relisted.CompareAndSwap(false, true) {
		// A deployment joined since the last listing. There was a listing, so Refresh does not
		// fail; the tenant of a deployment still unknown is the fqdn in its tenantId.
		_ = s.dir.Refresh(ctx)
	}
	for _, obj := range results {
		dep := s.deployment(obj)
		rec := convert(obj, s.list.kind, dep)
		switch {
		case scope != "" && dep.ID != scope:
			page.OutOfScope = append(page.OutOfScope, rec)
		case s.dir.Watched(dep) && !slices.ContainsFunc(s.skip, func(n string) bool { return named(dep, n) }) && s.local.Match(inner(obj, s.list.kind)):
			page.Records = append(page.Records, rec)
		default:
			page.Withheld = append(page.Withheld, rec)
		}
	}
	return page
}

func (s *stream) known(obj map[string]any) bool {
	id := tenantID(obj)
	if id == "" {
		return true
	}
	_, ok := s.dir.Lookup(id)
	return ok
}

// deployment is the listed deployment a result belongs to, or one made of its tenantId alone;
// a result without tenantId (a HAL-shaped answer) belongs to the console itself.
func (s *stream) deployment(obj map[string]any) Deployment {
	id := tenantID(obj)
	if id == "" {
		return Deployment{FQDN: s.api.Host(), Authorized: true}
	}
	if dep, ok := s.dir.Lookup(id); ok {
		return dep
	}
	return Deployment{ID: id, FQDN: tenantFromID(id), Authorized: true}
}

func tenantID(obj map[string]any) string { return record.String(obj, "tenantId", "tenant_id") }
