// Package usmcentral reads the alarms and events of every deployment (tenant) of a LevelBlue USM
// Central console through its API 1.1, and the deployments' connection status.
//
// Alarms and events are searched by POSTing a body (find, sort, range, 1-based page) that
// answers {results, total}. Each walk sorts ascending on timestamp_occured from an inclusive
// lower bound, so that records arriving during a walk append to its end, and pages until
// page × size reaches the total.
package usmcentral

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/cenkalti/backoff/v5"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
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
	Alarms   StreamConfig
	Events   StreamConfig
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
		s := &stream{api: api, dir: dir, list: l.list, name: Source + "/" + l.name, cfg: l.cfg, pageSize: cfg.PageSize}
		if l.list.kind == events.kind {
			s.skip = cfg.DirectEvents
		}
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
	skip     []string

	// relisted is set once a walk listed the deployments for a tenant it did not know; the engine
	// runs one walk of a stream at a time.
	relisted bool
}

// Name is "usm_central/alarms" or "usm_central/events"; it keys the checkpoint.
func (s *stream) Name() string   { return s.name }
func (s *stream) Source() string { return Source }

// Fetch reads one page. The page token is the next 1-based page number.
func (s *stream) Fetch(ctx context.Context, q engine.Query) (engine.Page, error) {
	pageNo := 1
	if q.PageToken != "" {
		n, err := strconv.Atoi(q.PageToken)
		if err != nil || n < 1 {
			return engine.Page{}, backoff.Permanent(fmt.Errorf("%s: page token %q is not a page number", s.name, q.PageToken))
		}
		pageNo = n
	} else {
		s.relisted = false
		if err := s.dir.Polled(ctx, s.name); err != nil {
			return engine.Page{}, err
		}
	}
	ans, err := search(ctx, s.api, s.cfg.Path, s.list, walkRequest(s.list, s.cfg.Find, q.Since, pageNo, s.pageSize))
	if err != nil {
		return engine.Page{}, err
	}
	page := s.records(ctx, ans.items)
	if len(ans.items) > 0 && (int64(pageNo)*int64(s.pageSize) < ans.total || ans.more) {
		page.Next = strconv.Itoa(pageNo + 1)
	}
	return page, nil
}

// records converts a page's items, dropping those of deployments not watched. Page.Through is
// the newest time of all items, dropped ones included, so that a walk over a tenant left out
// still moves the checkpoint forward.
func (s *stream) records(ctx context.Context, items []any) engine.Page {
	var page engine.Page
	results, malformed := record.Objects(items)
	page.Malformed = malformed
	if !s.relisted && slices.ContainsFunc(results, func(obj map[string]any) bool { return !s.known(obj) }) {
		// A deployment joined since the last listing. There was a listing, so Refresh does not
		// fail; the tenant of a deployment still unknown is the fqdn in its tenantId.
		s.relisted = true
		_ = s.dir.Refresh(ctx)
	}
	for _, obj := range results {
		dep := s.deployment(obj)
		rec := convert(obj, s.list.kind, dep)
		if rec.Time.After(page.Through) {
			page.Through = rec.Time
		}
		if s.dir.Watched(dep) && !slices.ContainsFunc(s.skip, func(n string) bool { return named(dep, n) }) {
			page.Records = append(page.Records, rec)
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
