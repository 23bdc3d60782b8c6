package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// enrichment is a Cisco events drain with and without the lookups of each page's parent threat
// detections and alerts, at one latency.
type enrichment struct {
	latency         time.Duration
	plain, enriched outcome
}

// ratio is the enriched drain's records per second over the plain one's.
func (e enrichment) ratio() float64 {
	return e.enriched.recordsPerSecond() / e.plain.recordsPerSecond()
}

// measureEnrichment drains the same events with and without enrichment, at the receiver's
// courtesy ceiling for Cisco, which documents no limit, so that the API's answer time, not the
// rate, bounds both (a page of events and its two lookups are three requests).
func measureEnrichment(ctx context.Context, events int) ([]enrichment, error) {
	var out []enrichment
	for _, latency := range latencies {
		e := enrichment{latency: latency}
		for _, enrich := range []bool{false, true} {
			s := scenario{
				source: "cisco_gta", name: fmt.Sprintf("events, enrich %v, %s", enrich, latency),
				sim: simulator.Options{Seed: 5, RateLimit: -1, Backlogs: map[string]int{
					"cisco_gta/alert": events / 5, "cisco_gta/threat_detection": events / 5, "cisco_gta/event": events, "cisco_gta/flow": 0,
				}},
				latency: latency, want: int64(events),
				receiver: func(endpoint string) map[string]any {
					return ciscoGTA(endpoint, ciscoCourtesyPerSecond, ciscoLists{enrich: enrich})
				},
			}
			progress("%s, draining %d records", s.name, s.want)
			o, err := s.run(ctx)
			if err != nil {
				return nil, err
			}
			if enrich {
				e.enriched = o
			} else {
				e.plain = o
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func enrichmentTable(to io.Writer, es []enrichment) {
	t := newTable(to, fmt.Sprintf("Cisco events drained with and without enrichment (page 1000, %d req/s, the receiver's courtesy ceiling for an API without a documented limit)", ciscoCourtesyPerSecond),
		"API latency", "records", "plain rec/s", "enriched rec/s", "enriched ÷ plain", "plain req", "enriched req", "plain CPU/rec", "enriched CPU/rec", "enriched RSS")
	for _, e := range es {
		t.row(e.latency.String(), num(float64(e.plain.child.Records)), num(e.plain.recordsPerSecond()), num(e.enriched.recordsPerSecond()),
			fmt.Sprintf("%.2f", e.ratio()), fmt.Sprint(e.plain.requests), fmt.Sprint(e.enriched.requests),
			micros(e.plain.cpuPerRecord()), micros(e.enriched.cpuPerRecord()), mib(e.enriched.child.PeakRSS))
	}
	t.flush()
}
