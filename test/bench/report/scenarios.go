package main

import (
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// receiverConfig is the receiver block: one source, read from the simulator's whole backlog
// (24 h), polled again a second after a walk ends.
func receiverConfig(source string, block map[string]any) map[string]any {
	return map[string]any{"poll_interval": "1s", "initial_lookback": "25h", source: block}
}

func usmAnywhere(endpoint string, pageSize, perSecond int, events bool) map[string]any {
	return receiverConfig("usm_anywhere", map[string]any{
		"endpoint": endpoint, "client_id": "sim-client", "client_secret": "sim-secret",
		"alarms": map[string]any{"enabled": true}, "events": map[string]any{"enabled": events},
		"page_size": pageSize, "requests_per_second": perSecond,
	})
}

func ciscoGTA(endpoint string, perSecond int, detections, enrich bool) map[string]any {
	return receiverConfig("cisco_gta", map[string]any{
		"endpoint": endpoint, "token_url": endpoint + "/iroh/oauth2/token",
		"client_id": "sim-client", "client_secret": "sim-secret", "customer_id": simulator.CiscoCustomerID,
		"alerts": map[string]any{"enabled": true}, "threat_detections": map[string]any{"enabled": detections},
		"events":    map[string]any{"enabled": true, "enrich": enrich},
		"page_size": 1000, "requests_per_second": perSecond,
	})
}

// rateScenarios drain a backlog larger than the window can read, with the limits at the
// documented values: what share of the allowed request rate the receiver uses, and whether it
// ever makes the API refuse a request.
func rateScenarios(full bool) []scenario {
	trendWindow := 2 * 61 * time.Second // whole turns of the quota's 61 s window
	if full {
		trendWindow = 5 * 61 * time.Second
	}
	return []scenario{
		{
			// 100 GET/s per client, shared by the alarms and events streams.
			name: "usm_anywhere (alarms+events, page 100, 100 req/s)",
			sim:  simulator.Options{Seed: 1, Backlogs: map[string]int{"usm_anywhere/alarm": 120_000, "usm_anywhere/event": 120_000}},
			receiver: func(endpoint string) map[string]any {
				return usmAnywhere(endpoint, 100, 100, true)
			},
			window: 20 * time.Second, allowed: 100,
		},
		{
			// Cisco documents no limit: the simulator enforces the receiver's default 10/s.
			name: "cisco_gta (alerts+detections+enriched events, page 1000, 10 req/s)",
			sim: simulator.Options{Seed: 1, RateLimit: 10, Backlogs: map[string]int{
				"cisco_gta/alert": 60_000, "cisco_gta/threat_detection": 60_000, "cisco_gta/event": 200_000, "cisco_gta/flow": 0,
			}},
			receiver: func(endpoint string) map[string]any { return ciscoGTA(endpoint, 10, true, true) },
			window:   20 * time.Second, allowed: 10,
		},
		{
			// 10 a minute across all 48 service/event pairs.
			name: "trend_cas (48 pairs, limit 200, 10 req/min)",
			sim:  simulator.Options{Seed: 1, Backlogs: map[string]int{"trend_cas/security_event": 200_000}},
			receiver: func(endpoint string) map[string]any {
				return receiverConfig("trend_cas", map[string]any{"endpoint": endpoint, "token": "sim-trend-token"})
			},
			window: trendWindow, allowed: 10.0 / 60,
		},
	}
}

// rssScenarios drain a whole USM Anywhere alarm backlog at the API's largest page: the
// receiver's peak RSS should not grow with the backlog. The last drains alarms and events
// together: memory grows with the streams draining at once, a page or two each.
func rssScenarios(sizes []int) []scenario {
	var out []scenario
	for _, n := range sizes {
		out = append(out, scenario{
			name: "alarms",
			sim:  simulator.Options{Seed: 2, Backlogs: map[string]int{"usm_anywhere/alarm": n}},
			receiver: func(endpoint string) map[string]any {
				return usmAnywhere(endpoint, 1000, 100, false)
			},
			want: int64(n), allowed: 100,
		})
	}
	return append(out, scenario{
		name: "alarms+events",
		sim:  simulator.Options{Seed: 2, Backlogs: map[string]int{"usm_anywhere/alarm": 100_000, "usm_anywhere/event": 100_000}},
		receiver: func(endpoint string) map[string]any {
			return usmAnywhere(endpoint, 1000, 100, true)
		},
		want: 200_000, allowed: 100,
	})
}
