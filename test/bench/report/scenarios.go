package main

import (
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// latencies are the API answer times the drains are measured at: loopback, where the receiver and
// the simulator compete for the CPU, and 100 ms, as a cloud API takes to answer a page.
var latencies = []time.Duration{0, 100 * time.Millisecond}

// The documented limits the receiver is configured at. Cisco documents none: its drains use the
// receiver's default, which the simulator enforces.
const (
	usmAnywherePerSecond   = 100 // GET/s per API client
	usmCentralPerSecond    = 50  // POST/s per API client: its searches are POSTs
	ciscoPerSecond         = 10  // the receiver's default
	ciscoCourtesyPerSecond = 50  // the receiver warns above it: for drains bound by latency, not rate
	trendPerMinute         = 10
	trendPerDay            = 14_400
)

// receiverConfig is the receiver block: one source, read from the simulator's whole backlog
// (24 h), polled again a second after a walk ends.
func receiverConfig(source string, block map[string]any) map[string]any {
	return map[string]any{"poll_interval": "1s", "initial_lookback": "25h", source: block}
}

// usmBlock is a USM Anywhere or USM Central block reading the simulator with its credentials.
func usmBlock(endpoint string, pageSize, perSecond int, events bool) map[string]any {
	return map[string]any{
		"endpoint": endpoint, "client_id": "sim-client", "client_secret": "sim-secret",
		"alarms": map[string]any{"enabled": true}, "events": map[string]any{"enabled": events},
		"page_size": pageSize, "requests_per_second": perSecond,
	}
}

func usmAnywhere(endpoint string, pageSize int, events bool) map[string]any {
	return receiverConfig("usm_anywhere", usmBlock(endpoint, pageSize, usmAnywherePerSecond, events))
}

func usmCentral(endpoint string, pageSize int) map[string]any {
	return receiverConfig("usm_central", usmBlock(endpoint, pageSize, usmCentralPerSecond, false))
}

// ciscoLists are the Cisco streams a drain reads besides events.
type ciscoLists struct{ alerts, detections, enrich bool }

func ciscoGTA(endpoint string, perSecond int, lists ciscoLists) map[string]any {
	return receiverConfig("cisco_gta", map[string]any{
		"endpoint": endpoint, "token_url": endpoint + "/iroh/oauth2/token",
		"client_id": "sim-client", "client_secret": "sim-secret", "customer_id": simulator.CiscoCustomerID,
		"alerts": map[string]any{"enabled": lists.alerts}, "threat_detections": map[string]any{"enabled": lists.detections},
		"events":    map[string]any{"enabled": true, "enrich": lists.enrich},
		"page_size": 1000, "requests_per_second": perSecond,
	})
}

// rateScenarios drain a backlog larger than the window can read, at each latency, with the
// receiver configured at the API's limit and the simulator enforcing it: what share of the
// allowed request rate the receiver uses, and whether it ever makes the API refuse a request.
// USM's lists are read one at a time, as a single backlogged stream must reach the limit alone.
func rateScenarios() []scenario {
	var out []scenario
	for _, latency := range latencies {
		out = append(out,
			scenario{
				source: "usm_anywhere", name: "alarms, page 100",
				sim:     simulator.Options{Seed: 1, Backlogs: map[string]int{"usm_anywhere/alarm": 240_000}},
				latency: latency, window: 20 * time.Second, allowed: usmAnywherePerSecond,
				receiver: func(endpoint string) map[string]any { return usmAnywhere(endpoint, 100, false) },
			},
			scenario{
				source: "usm_central", name: "alarms, page 100",
				sim:     simulator.Options{Seed: 1, Backlogs: map[string]int{"usm_central/alarm": 150_000}},
				latency: latency, window: 20 * time.Second, allowed: usmCentralPerSecond,
				receiver: func(endpoint string) map[string]any { return usmCentral(endpoint, 100) },
			},
			scenario{
				source: "cisco_gta", name: "alerts+detections+enriched events, page 1000",
				sim: simulator.Options{Seed: 1, RateLimit: ciscoPerSecond, Backlogs: map[string]int{
					"cisco_gta/alert": 60_000, "cisco_gta/threat_detection": 60_000, "cisco_gta/event": 200_000, "cisco_gta/flow": 0,
				}},
				latency: latency, window: 20 * time.Second, allowed: ciscoPerSecond,
				receiver: func(endpoint string) map[string]any {
					return ciscoGTA(endpoint, ciscoPerSecond, ciscoLists{alerts: true, detections: true, enrich: true})
				},
			},
		)
	}
	return out
}

// trendScenarios watch Trend's quota, 10 requests a minute across all 48 service/event pairs, at
// each latency. The receiver spaces requests by a window of 61 seconds (a second of margin, as
// the server counts arrivals), so the window is whole turns of it: a part turn would show a burst
// of 10 as more or less than the long-run rate.
func trendScenarios(full bool) []scenario {
	window := 2 * 61 * time.Second
	if full {
		window = 5 * 61 * time.Second
	}
	var out []scenario
	for _, latency := range latencies {
		out = append(out, scenario{
			source: "trend_cas", name: "48 pairs, limit 200",
			sim:     simulator.Options{Seed: 1, Backlogs: map[string]int{"trend_cas/security_event": 200_000}},
			latency: latency, window: window, allowed: trendPerMinute / 60.0,
			receiver: func(endpoint string) map[string]any {
				return receiverConfig("trend_cas", map[string]any{"endpoint": endpoint, "token": "sim-trend-token"})
			},
		})
	}
	return out
}

// rssScenarios drain a whole USM Anywhere alarm backlog at the API's largest page, at each
// latency: the receiver's peak RSS should not grow with the backlog, and the slices a
// backlogged stream walks at once when the API is slow should cost a few pages, not more. The
// last drains alarms and events together: memory grows with the streams draining at once.
func rssScenarios(sizes []int) []scenario {
	var out []scenario
	for _, latency := range latencies {
		for _, n := range sizes {
			out = append(out, scenario{
				source: "usm_anywhere", name: "alarms",
				sim:     simulator.Options{Seed: 2, Backlogs: map[string]int{"usm_anywhere/alarm": n}},
				latency: latency, want: int64(n), allowed: usmAnywherePerSecond,
				receiver: func(endpoint string) map[string]any { return usmAnywhere(endpoint, 1000, false) },
			})
		}
	}
	return append(out, scenario{
		source: "usm_anywhere", name: "alarms+events",
		sim:  simulator.Options{Seed: 2, Backlogs: map[string]int{"usm_anywhere/alarm": 100_000, "usm_anywhere/event": 100_000}},
		want: 200_000, allowed: usmAnywherePerSecond,
		receiver: func(endpoint string) map[string]any { return usmAnywhere(endpoint, 1000, true) },
	})
}
