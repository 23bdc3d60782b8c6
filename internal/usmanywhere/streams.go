// Package usmanywhere reads alarms and events from the LevelBlue (AT&T) USM Anywhere API 2.0.
//
// Both lists are read oldest first (sort=timestamp_occured,asc) within inclusive
// timestamp_occured_gte/_lte bounds: the engine walks them by keyset, each page a fresh query
// from the newest time it delivered, so it never follows the HAL _links.next offsets (which shift
// when an alarm leaves a filtered list mid-walk). Pages are 0-based; page.totalElements counts
// the range, which is how the engine checks the overlap for late arrivals.
package usmanywhere

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
	"github.com/securityalerts/securityalerts/internal/record"
	"github.com/securityalerts/securityalerts/internal/usm"
)

// Source is the source key of the public contract.
const Source = "usm_anywhere"

// TokenPath is where the API issues OAuth2 client-credentials tokens.
const TokenPath = "/api/2.0/oauth/token"

// StreamConfig selects one list and the API query parameters to filter it with.
type StreamConfig struct {
	Enabled bool
	// Filters are passed through as query parameters. A parameter with several values becomes
	// one stream per value: the server does not honour multi-valued filters (priority_label).
	Filters map[string][]string
}

// Config selects what to read.
type Config struct {
	PageSize int
	// RequestsPerSecond is the rate the client's limiter allows: how many requests a backlog
	// can keep in flight is chosen from it.
	RequestsPerSecond float64
	Alarms            StreamConfig
	Events            StreamConfig
	// Source and StreamPrefix, when set, replace the source key and the start of the stream names
	// ("usm_anywhere/"): USM Central polls a deployment's own API under its source and names.
	Source       string
	StreamPrefix string
}

// Connect returns the client of the API and the tenant its records belong to (empty: the
// endpoint's host). Streams call it before every request, so that a client whose endpoint or
// tenant is only known once the network answers is built on first use, not at start.
type Connect func(ctx context.Context) (api *apiclient.Client, tenant string, err error)

// ReservedParams are set by the receiver itself; a filter may not override them.
var ReservedParams = []string{
	"page", "size", "sort",
	"timestamp_occured_gte", "timestamp_occured_lte", "timestamp_occurred_gte", "timestamp_occurred_lte",
}

// NewStreams returns the streams cfg asks for.
func NewStreams(api *apiclient.Client, cfg Config) []engine.Stream {
	return NewConnectedStreams(func(context.Context) (*apiclient.Client, string, error) { return api, "", nil }, cfg)
}

// NewConnectedStreams is NewStreams for a client built on first use.
func NewConnectedStreams(connect Connect, cfg Config) []engine.Stream {
	if cfg.Source == "" {
		cfg.Source = Source
	}
	if cfg.StreamPrefix == "" {
		cfg.StreamPrefix = Source + "/"
	}
	var streams []engine.Stream
	for _, l := range []struct {
		cfg  StreamConfig
		kind list
	}{{cfg.Alarms, alarms}, {cfg.Events, events}} {
		if !l.cfg.Enabled {
			continue
		}
		for _, set := range fanOut(l.cfg.Filters) {
			st := &stream{connect: connect, list: l.kind, filters: set, cfg: cfg}
			if l.kind.kind == alarms.kind {
				sent, local := usm.SplitFilters(set.params, func(key string) string { return key })
				st.filters.params, st.local = url.Values(sent), local
			}
			streams = append(streams, st)
		}
	}
	return streams
}

type list struct {
	kind string
	path string
	// embedded lists the _embedded keys the server may use for this list.
	embedded []string
}

var (
	alarms = list{kind: "alarm", path: "/api/2.0/alarms", embedded: []string{"alarms"}}
	events = list{kind: "event", path: "/api/2.0/events", embedded: []string{"events", "eventResources"}}
)

type stream struct {
	connect Connect
	list    list
	filters filterSet
	// local are the filters on fields an alarm changes, applied to what is read (see
	// usm.ChangingAlarmFields); filters.params are those sent.
	local usm.LocalFilter
	cfg   Config
}

// Name is "usm_anywhere/alarms", plus the fanned-out filter values when there are any, e.g.
// "usm_anywhere/alarms?priority_label=high". It keys the checkpoint: keep it stable.
func (s *stream) Name() string {
	name := s.cfg.StreamPrefix + strings.TrimPrefix(s.list.path, "/api/2.0/")
	if len(s.filters.label) > 0 {
		name += "?" + s.filters.label.Encode()
	}
	return name
}

func (s *stream) Source() string { return s.cfg.Source }

func (s *stream) PageSize() int { return s.cfg.PageSize }

// RequestsPerSecond is the stream's rate limit (engine.Paced).
func (s *stream) RequestsPerSecond() float64 { return s.cfg.RequestsPerSecond }

// FetchRange reads one page of the range, oldest first.
func (s *stream) FetchRange(ctx context.Context, r engine.Range) (engine.RangePage, error) {
	api, tenant, err := s.connect(ctx)
	if err != nil {
		return engine.RangePage{}, err
	}
	pageURL := s.pageURL(api, r)
	body, err := api.Get(ctx, pageURL)
	if err != nil {
		return engine.RangePage{}, err
	}
	var resp usm.HALPage
	if err := apiclient.DecodeDocument(pageURL, body, resp.Read); err != nil {
		return engine.RangePage{}, err
	}
	if tenant == "" {
		tenant = api.Host()
	}
	page := engine.RangePage{Total: -1}
	var read []record.Record
	read, page.Malformed = s.records(&resp, tenant)
	for _, r := range read {
		if s.local.Match(r.Body) {
			page.Records = append(page.Records, r)
		} else {
			page.Withheld = append(page.Withheld, r)
		}
	}
	size := int64(s.size(r))
	if resp.Counted {
		page.Total = resp.Page.TotalElements
	}
	// A next link, or a total beyond this page, says more follow; the link itself is not used.
	page.More = resp.NextHref() != "" || (page.Total >= 0 && int64(r.Page+1)*size < page.Total)
	return page, nil
}

func (s *stream) size(r engine.Range) int {
	if r.CountOnly {
		return 1 // the smallest page: only page.totalElements is wanted
	}
	return s.cfg.PageSize
}

func (s *stream) pageURL(api *apiclient.Client, r engine.Range) string {
	params := clone(s.filters.params)
	params.Set("page", strconv.Itoa(r.Page))
	params.Set("size", strconv.Itoa(s.size(r)))
	params.Set("sort", "timestamp_occured,asc")
	params.Set("timestamp_occured_gte", strconv.FormatInt(r.From.UnixMilli(), 10))
	if !r.To.IsZero() {
		params.Set("timestamp_occured_lte", strconv.FormatInt(r.To.UnixMilli(), 10))
	}
	return api.URL(s.list.path, params)
}

// records converts the embedded list; items that are not JSON objects are counted, not emitted.
func (s *stream) records(resp *usm.HALPage, tenant string) (records []record.Record, malformed int) {
	return record.FromItems(resp.Items(s.list.embedded...), func(obj map[string]any) record.Record {
		return usm.Convert(obj, s.list.kind, tenant)
	})
}

// filterSet is one combination of filter values; label names the fanned-out values.
type filterSet struct {
	params url.Values
	label  url.Values
}

// fanOut expands multi-valued filters into one single-valued filter set per combination.
func fanOut(filters map[string][]string) []filterSet {
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sets := []filterSet{{params: url.Values{}, label: url.Values{}}}
	for _, k := range keys {
		values := distinct(filters[k])
		var next []filterSet
		for _, set := range sets {
			for _, v := range values {
				c := filterSet{params: clone(set.params), label: clone(set.label)}
				c.params.Set(k, v)
				if len(values) > 1 {
					c.label.Set(k, v)
				}
				next = append(next, c)
			}
		}
		sets = next
	}
	return sets
}

// distinct drops repeated values, keeping the first occurrence: a repeated value would make two
// streams of one name, polling the same data and sharing (overwriting) one checkpoint.
func distinct(values []string) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func clone(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
