package simulator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Options configure a Simulator. The zero value is valid: no backlog, no arrivals, the vendors'
// documented token lifetime and rate limit, credentials sim-client / sim-secret.
type Options struct {
	// Seed makes the backlog and every later record's content reproducible, and drives the fault
	// dice.
	Seed uint64
	// Backlog is how many records each stream holds before the first request.
	Backlog int
	// Backlogs overrides Backlog for the streams it names ("usm_anywhere/alarm", "cisco_gta/event",
	// …): a benchmark gives one stream a million records without generating them for every other.
	Backlogs map[string]int
	// Lookback is the time the backlog is spread over, ending at BacklogEnd. Default 24h.
	Lookback time.Duration
	// BacklogEnd is when the backlog ends; default the time New is called. Fix it to make the
	// backlog's timestamps, not only its content, identical between runs.
	BacklogEnd time.Time
	// ArrivalsPerSecond is how many new records each stream gains per second, stamped with the
	// current time. About 5% more arrive as same-millisecond twins.
	ArrivalsPerSecond float64
	// LateArrivalFraction of new records occurred up to LateArrivalMax (default 2m) before they
	// appear, as real APIs index some records late.
	LateArrivalFraction float64
	LateArrivalMax      time.Duration
	// TokenTTL is how long an access token lasts. Default: each vendor's documented lifetime
	// (USM Anywhere 899s, Cisco 600s).
	TokenTTL time.Duration
	// ClientID and ClientSecret are the only accepted credentials. Default sim-client / sim-secret.
	ClientID     string
	ClientSecret string
	// RateLimit is the data requests per second each API client may send to one vendor before
	// getting 429s. 0 means the vendor's documented limit (USM Anywhere: 100; USM Central: 50,
	// its POST limit, as its searches are POSTs); negative, no limit.
	RateLimit float64
	// UpdatesPerSecond is how many existing alerts change per second on APIs that serve changed
	// records again (Cisco: a status or risk change that bumps modifiedAt).
	UpdatesPerSecond float64
	// EventsEmbeddedKey is the _embedded key of USM Anywhere's event lists: "events" (default)
	// or "eventResources", both of which the real API has been seen to use.
	EventsEmbeddedKey string
	// TrendCASToken is the only bearer token the Trend Micro Cloud App Security API accepts.
	// Default sim-trend-token.
	TrendCASToken string
	// TrendCASPerMinute and TrendCASPerDay are that API's request quotas per token, refused
	// as the API refuses them. 0 means the documented 10 a minute and 14,400 a day (tests
	// and demos raise them to run fast); negative, no limit.
	TrendCASPerMinute int
	TrendCASPerDay    int
	// RecordRequests keeps every API request (client identity, path, query, start and end) for
	// Requests and GET /_sim/requests. Off by default: the log grows with every request.
	RecordRequests bool

	// The options below make the APIs as unkind as the real ones can be. Each is off in the zero
	// value, but for TrendCASHorizon: the Trend API documents and enforces it.

	// AlarmsClosedPerSecond is how many open alarms of each USM Anywhere and USM Central alarm
	// stream close per second (status "open" becomes "closed"), picked at random among all the
	// open ones however far back: a client paging by offset through status=open sees later
	// pages shift. Closed tells when each closed.
	AlarmsClosedPerSecond float64
	// FutureFraction of the new records of the lists windowed by occurrence time (USM Anywhere,
	// USM Central, Trend) occur FutureSkew (default 24h) ahead of time, as from a device whose
	// clock is a day ahead: a window ending now leaves them out, an open-ended one returns them.
	// FutureInBacklog skews the backlog's records too.
	FutureFraction  float64
	FutureSkew      time.Duration
	FutureInBacklog bool
	// MissingIDFraction of the records of the streams that have ids (USM Anywhere and USM Central
	// alarms and events: uuid, id; Trend: log_item_id) come without them. Records tells them apart.
	// Cisco's never do: that API addresses every object by its id.
	MissingIDFraction float64
	// CentralTotalCap, when positive, makes USM Central's searches answer total as Elasticsearch
	// does: {"value": N, "relation": "eq"}, or beyond the cap {"value": cap, "relation": "gte"}
	// (Elasticsearch tracks 10,000 hits by default: ElasticsearchDefaultLimit).
	CentralTotalCap int
	// CentralResultWindow, when positive, refuses a USM Central search whose page × size exceeds
	// it, with a 400, as Elasticsearch refuses from + size beyond index.max_result_window
	// (10,000 by default).
	CentralResultWindow int
	// TrendCASShuffledPages serves the pages of a Trend window in no particular order: each
	// window's events, each once across its pages, in an order drawn for the walk and carried in
	// its next_link (a client that builds its own offset links gets a different order per page).
	TrendCASShuffledPages bool
	// TrendCASHorizon is how far before the request a Trend window may begin: the API serves
	// logs of the last 72 hours only and refuses an earlier start with a 400. 0 means those
	// documented 72 hours; negative, no limit (for backlogs pinned in the past).
	TrendCASHorizon time.Duration
	// Latency delays every data request's answer by source ("usm_anywhere", ...); the key "*"
	// sets it for the sources not named. Each request sleeps on its own, so concurrent requests
	// overlap. Token requests are not delayed: a collector asks for one every few minutes, so
	// their latency moves no throughput figure, and token lifetimes stay exact.
	Latency map[string]time.Duration
}

// ElasticsearchDefaultLimit is Elasticsearch's default track_total_hits and max_result_window,
// for CentralTotalCap and CentralResultWindow.
const ElasticsearchDefaultLimit = 10_000

// Validate reports the options New would refuse.
func (o Options) Validate() error {
	for _, f := range []struct {
		name  string
		value float64
	}{{"late arrival fraction", o.LateArrivalFraction}, {"future fraction", o.FutureFraction}, {"missing id fraction", o.MissingIDFraction}} {
		if f.value < 0 || f.value > 1 {
			return fmt.Errorf("%s must be within [0, 1]", f.name)
		}
	}
	for _, n := range []struct {
		name     string
		negative bool
	}{
		{"backlog", o.Backlog < 0}, {"lookback", o.Lookback < 0}, {"arrivals per second", o.ArrivalsPerSecond < 0},
		{"late arrival max", o.LateArrivalMax < 0}, {"token TTL", o.TokenTTL < 0}, {"updates per second", o.UpdatesPerSecond < 0},
		{"alarms closed per second", o.AlarmsClosedPerSecond < 0}, {"future skew", o.FutureSkew < 0},
		{"central total cap", o.CentralTotalCap < 0}, {"central result window", o.CentralResultWindow < 0},
	} {
		if n.negative {
			return fmt.Errorf("%s must not be negative", n.name)
		}
	}
	if o.EventsEmbeddedKey != "" && o.EventsEmbeddedKey != "events" && o.EventsEmbeddedKey != "eventResources" {
		return fmt.Errorf("events embedded key %q is neither events nor eventResources", o.EventsEmbeddedKey)
	}
	return errors.Join(o.backlogsErr(), o.latencyErr())
}

func (o Options) latencyErr() error {
	for source, d := range o.Latency {
		if d < 0 {
			return fmt.Errorf("latency of %s must not be negative", source)
		}
		if source != "*" && !slices.Contains(Sources(), source) {
			return fmt.Errorf("latency of %s: no such source (sources: %s, or * for all)", source, strings.Join(Sources(), ", "))
		}
	}
	return nil
}

// latencyOf is the latency of a source's data requests.
func (o Options) latencyOf(source string) time.Duration {
	if d, ok := o.Latency[source]; ok {
		return d
	}
	return o.Latency["*"]
}

// Sources lists the simulated vendors' source keys, sorted.
func Sources() []string {
	var sources []string
	for _, v := range vendors {
		sources = append(sources, v.source)
	}
	slices.Sort(sources)
	return sources
}

func (o Options) backlogsErr() error {
	for name, n := range o.Backlogs {
		if n < 0 {
			return fmt.Errorf("backlog of %s must not be negative", name)
		}
		if !slices.Contains(StreamNames(), name) {
			return fmt.Errorf("backlog of %s: no such stream (streams: %s)", name, strings.Join(StreamNames(), ", "))
		}
	}
	return nil
}

// StreamNames lists every simulated stream as Backlogs names them, sorted.
func StreamNames() []string {
	var names []string
	for _, v := range vendors {
		for kind := range v.streams {
			names = append(names, streamKey{v.source, kind}.String())
		}
	}
	slices.Sort(names)
	return names
}

func (o Options) withDefaults() Options {
	if o.Lookback == 0 {
		o.Lookback = 24 * time.Hour
	}
	if o.BacklogEnd.IsZero() {
		o.BacklogEnd = time.Now()
	}
	if o.LateArrivalMax == 0 {
		o.LateArrivalMax = 2 * time.Minute
	}
	if o.ClientID == "" {
		o.ClientID = "sim-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sim-secret"
	}
	if o.EventsEmbeddedKey == "" {
		o.EventsEmbeddedKey = "events"
	}
	if o.TrendCASToken == "" {
		o.TrendCASToken = "sim-trend-token"
	}
	if o.FutureSkew == 0 {
		o.FutureSkew = 24 * time.Hour
	}
	if o.TrendCASHorizon == 0 {
		o.TrendCASHorizon = trendHorizon
	}
	return o
}

func (o Options) misbehaviour() misbehaviour {
	return misbehaviour{
		missingIDFraction: o.MissingIDFraction,
		futureFraction:    o.FutureFraction, futureSkew: o.FutureSkew, futureInBacklog: o.FutureInBacklog,
	}
}
