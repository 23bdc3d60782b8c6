package ciscogta

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
)

// StreamConfig turns one collection on and filters it.
type StreamConfig struct {
	Enabled bool
	// Filters are query parameters of GET collections and the "filter" object of POST searches.
	Filters map[string]any
}

// Config selects what to read.
type Config struct {
	PageSize         int
	Alerts           StreamConfig
	ThreatDetections StreamConfig
	Events           StreamConfig
	Flows            StreamConfig
	// EnrichEvents links every event to its parent threat detections and alerts.
	EnrichEvents bool
}

// ReservedParams are set by the receiver itself (lower case); a filter may not override them.
var ReservedParams = []string{"sort", "size", "after", "before", "modifiedafter", "triggeredafter", "triggeredsince"}

// NewStreams returns the streams cfg asks for.
func NewStreams(c *Client, cfg Config) []engine.Stream {
	var streams []engine.Stream
	if cfg.Alerts.Enabled {
		streams = append(streams, &alertStream{c: c, filters: cfg.Alerts.Filters, pageSize: cfg.PageSize})
	}
	seq := func(sc StreamConfig, s *seqStream) {
		if sc.Enabled {
			s.c, s.filters, s.pageSize = c, sc.Filters, cfg.PageSize
			streams = append(streams, s)
		}
	}
	seq(cfg.ThreatDetections, &seqStream{name: "threat_detections", area: "threat-detection", resource: "threat-detections", convert: convertDetection})
	events := &seqStream{name: "events", area: "event-detection", resource: "events/search", post: true, convert: convertEvent}
	if cfg.EnrichEvents {
		// The enriched resource serves the same events with their threatDetectionIds.
		events.area, events.resource, events.post = "threat-detection", "enriched-events-with-threat-detection-ids", false
		events.enrich = newEnricher(c)
	}
	seq(cfg.Events, events)
	seq(cfg.Flows, &seqStream{name: "flows", area: "event-detection", resource: "flows/search", post: true, convert: convertFlow})
	return streams
}

// alertStream reads alerts: the first sync by triggeredAt:asc from the initial lookback, as
// Cisco documents, then every alert modified since the last sync (modifiedAfter), so that status,
// risk and note changes are emitted again as new versions. Neither walk is ordered by
// modification time, so the engine moves the watermark only when a walk completes.
type alertStream struct {
	c        *Client
	filters  map[string]any
	pageSize int
}

func (s *alertStream) Name() string   { return Source + "/alerts" }
func (s *alertStream) Source() string { return Source }

func (s *alertStream) Fetch(ctx context.Context, q engine.Query) (engine.Page, error) {
	tenant, path, err := s.c.path(ctx, "alert-management", "alerts")
	if err != nil {
		return engine.Page{}, err
	}
	params := queryParams(s.filters)
	params.Set("size", strconv.Itoa(s.pageSize))
	if q.Initial {
		params.Set("sort", "triggeredAt:asc")
		params.Set("triggeredAfter", formatTime(q.Since))
	} else {
		params.Set("modifiedAfter", formatTime(q.Since))
	}
	p, err := s.c.fetch(ctx, request{path: path, params: params}, q.PageToken)
	page := engine.Page{Next: p.next, Unordered: true}
	page.Records, page.Malformed = records(p.items, tenant, convertAlert)
	return page, err
}

// seqStream reads a collection in modification sequence order (sort=modificationSequenceNumber):
// a stable order, so the checkpoint is the last sequence number (endCursor) and nothing is
// missed when many objects share a timestamp. An updated object gets a new number and comes
// again. The first sync reads the collection from its beginning, as Cisco documents.
type seqStream struct {
	c        *Client
	name     string
	area     string
	resource string
	post     bool
	filters  map[string]any
	pageSize int
	convert  func(obj map[string]any, tenant string) record.Record
	enrich   *enricher
}

func (s *seqStream) Name() string   { return Source + "/" + s.name }
func (s *seqStream) Source() string { return Source }

func (s *seqStream) Fetch(ctx context.Context, q engine.Query) (engine.Page, error) {
	tenant, path, err := s.c.path(ctx, s.area, s.resource)
	if err != nil {
		return engine.Page{}, err
	}
	req := request{path: path, params: url.Values{"sort": {"modificationSequenceNumber"}, "size": {strconv.Itoa(s.pageSize)}}}
	if s.post {
		filter := s.filters
		if filter == nil {
			filter = map[string]any{}
		}
		req.body = map[string]any{"filter": filter}
	} else {
		for k, vs := range queryParams(s.filters) {
			req.params[k] = vs
		}
	}
	after := q.PageToken
	if after == "" {
		after = q.Cursor
	}
	p, err := s.c.fetch(ctx, req, after)
	page := engine.Page{Next: p.next, Cursor: p.end}
	if page.Cursor == "" {
		page.Cursor = after // an empty page names no position: stay where we are
	}
	page.Records, page.Malformed = records(p.items, tenant, s.convert)
	if s.enrich != nil && len(page.Records) > 0 {
		// The parents are looked up while the engine fetches the next page.
		events := page.Records
		page.Complete = func(ctx context.Context) error { return s.enrich.events(ctx, events) }
	}
	return page, err
}

// records converts items; those that are not JSON objects are counted, not emitted.
func records(items []any, tenant string, convert func(map[string]any, string) record.Record) (out []record.Record, malformed int) {
	objs, malformed := record.Objects(items)
	out = make([]record.Record, 0, len(objs))
	for _, obj := range objs {
		out = append(out, convert(obj, tenant))
	}
	return out, malformed
}

// queryParams spells filters as query parameters, a list as a repeated parameter.
func queryParams(filters map[string]any) url.Values {
	params := url.Values{}
	for k, v := range filters {
		if list, ok := v.([]any); ok {
			for _, item := range list {
				params.Add(k, fmt.Sprint(item))
			}
			continue
		}
		params.Set(k, fmt.Sprint(v))
	}
	return params
}

// formatTime writes RFC 3339 in UTC with milliseconds, as the API writes its own times.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
