package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// The overlap's cost is measured at the defaults (poll_interval 1m, overlap 10m, page_size 100)
// with time shrunk timeScale-fold: poll_interval 1s, overlap 10s, and every other time and rate
// scaled alike (arrivals ×60 per second, Trend's quota 600 a minute, its query_delay 1s, late
// arrivals up to 2s). A poll then sees as many records, a look spans as many polls and pages, and
// the engine's allowance, counted in requests, not time, earns and spends as at the defaults:
// the ratio of requests is the same, measured in a minute instead of an hour.
const timeScale = 60

const (
	// overlapWarmup is left out of the counts: the first poll, and the first look, which every
	// stream makes soon after it starts.
	overlapWarmup = 5 * time.Second
	// overlapPeriod is what is counted: 60 polls, an hour of the defaults.
	overlapPeriod = 60 * time.Second
)

// overlapCase is one caught-up stream, read from one simulator by two receivers at once, one
// with the overlap and one without: the same records over the same period, counted apart.
type overlapCase struct {
	source, name string
	// perMinute is how many records a poll of the stream finds at the defaults (per minute).
	perMinute float64
	sim       simulator.Options
	// counted is the path of the stream's reads (USM Central's deployment listing, the same in
	// both receivers, is left out); empty counts every data request.
	counted  string
	receiver func(endpoint string, overlap time.Duration) map[string]any
}

// overlapResult is a case's two receivers.
type overlapResult struct {
	overlapCase
	with, without outcome
}

func (r overlapResult) ratio() float64 { return float64(r.with.requests) / float64(r.without.requests) }

// scaledConfig is the receiver block at the defaults, scaled; max_clock_skew is 0 in both
// receivers, as a receiver without overlap allows no skew.
func scaledConfig(source string, overlap time.Duration, block map[string]any) map[string]any {
	return map[string]any{
		"poll_interval": (time.Minute / timeScale).String(), "initial_lookback": "1m",
		"overlap": overlap.String(), "max_clock_skew": "0s", source: block,
	}
}

// overlapCases: USM Anywhere and USM Central alarms at 1 and 2.5 records a second (a page and two
// pages a poll, clear of the page boundary: about 5% more arrive as twins, and a scaled poll
// lasts a few percent longer than its interval), and at 2.5 with 2% of them indexed up to 2
// minutes late; one Trend pair (the simulator spreads its events over the
// 48 pairs, so the tenant gains a few a second and the pair 5 a minute), on time and late. The
// blocks leave page_size and the request rate at their defaults.
func overlapCases() []overlapCase {
	usm := func(source string) func(string, time.Duration) map[string]any {
		return func(endpoint string, overlap time.Duration) map[string]any {
			return scaledConfig(source, overlap, map[string]any{
				"endpoint": endpoint, "client_id": "sim-client", "client_secret": "sim-secret", "alarms": map[string]any{"enabled": true},
			})
		}
	}
	trendPair := func(endpoint string, overlap time.Duration) map[string]any {
		return scaledConfig("trend_cas", overlap, map[string]any{
			"endpoint": endpoint, "token": "sim-trend-token", "services": []string{"exchange"}, "events": []string{"securityrisk"},
			"query_delay":         (time.Minute / timeScale).String(),
			"requests_per_minute": trendPerMinute * timeScale, "requests_per_day": trendPerDay * timeScale,
		})
	}
	streams := []struct {
		source, name, counted string
		receiver              func(string, time.Duration) map[string]any
		// spread is how many streams share the simulator's list, and so its arrivals.
		spread  float64
		perPoll []float64
	}{
		{"usm_anywhere", "alarms", "", usm("usm_anywhere"), 1, []float64{60, 150}},
		{"usm_central", "alarms", "/api/1.1/alarms", usm("usm_central"), 1, []float64{60, 150}},
		{"trend_cas", "exchange/securityrisk", "", trendPair, 48, []float64{5}},
	}
	var out []overlapCase
	for _, s := range streams {
		at := func(perPoll, late float64) overlapCase {
			c := overlapCase{source: s.source, name: s.name + ", on time", perMinute: perPoll, counted: s.counted, receiver: s.receiver, sim: simulator.Options{
				Seed: 6, ArrivalsPerSecond: perPoll * s.spread, TrendCASPerMinute: trendPerMinute * timeScale, TrendCASPerDay: trendPerDay * timeScale,
			}}
			if late > 0 {
				c.name = fmt.Sprintf("%s, %.0f%% late", s.name, late*100)
				c.sim.LateArrivalFraction, c.sim.LateArrivalMax = late, 2*time.Minute/timeScale
			}
			return c
		}
		for _, perPoll := range s.perPoll {
			out = append(out, at(perPoll, 0))
		}
		out = append(out, at(s.perPoll[len(s.perPoll)-1], 0.02))
	}
	return out
}

// run reads the case's simulator with both receivers at once.
func (c overlapCase) run(ctx context.Context) (overlapResult, error) {
	sim := simulator.New(c.sim)
	defer sim.Close()
	res := overlapResult{overlapCase: c}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, arm := range []struct {
		overlap time.Duration
		into    *outcome
	}{{10 * time.Minute / timeScale, &res.with}, {0, &res.without}} {
		a, err := listen(sim)
		if err != nil {
			errs[i] = err
			break
		}
		defer func() { _ = a.srv.Close() }()
		a.tap.only = c.counted
		wg.Go(func() {
			*arm.into, errs[i] = a.receive(ctx, scenario{
				source: c.source, name: fmt.Sprintf("%s, overlap %s", c.name, arm.overlap),
				receiver: func(endpoint string) map[string]any { return c.receiver(endpoint, arm.overlap) },
				window:   overlapWarmup + overlapPeriod,
			})
			arm.into.requests = a.tap.count(overlapWarmup, overlapWarmup+overlapPeriod)
		})
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

func overlapTable(to io.Writer, rs []overlapResult) {
	t := newTable(to, fmt.Sprintf("The overlap's cost: a caught-up stream at the defaults, time scaled %d-fold (poll 1s, overlap 10s, page 100; %s counted = %.0f polls)",
		timeScale, overlapPeriod, overlapPeriod.Seconds()),
		"source", "stream", "records/poll", "requests, overlap 10m", "requests, overlap 0", "ratio")
	for _, r := range rs {
		t.row(r.source, r.name, num(r.perMinute), fmt.Sprint(r.with.requests), fmt.Sprint(r.without.requests), fmt.Sprintf("%.2f", r.ratio()))
	}
	t.flush()
}
