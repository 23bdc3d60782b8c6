package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// pythonScript is Cisco's documented approach as a plain requests client.
const pythonScript = "testdata/cisco_client.py"

// comparison is the receiver and the Python client reading the same simulated Cisco tenant.
type comparison struct {
	mode string // "page": alerts and events; "enrich": events with their parents
	// latency is added to every data response, as a cloud API takes time to answer.
	latency time.Duration
	records int64
	ours    run
	theirs  run
}

// run is one client's reading of the tenant.
type run struct {
	elapsed  time.Duration
	cpu      time.Duration
	peakRSS  int64
	requests int
}

func (r run) perSecond(records int64) float64 { return float64(records) / r.elapsed.Seconds() }

// findPython returns a python3 that has requests (Debian's python3-requests, or a pip one).
func findPython() (string, error) {
	for _, candidate := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(candidate, "-c", "import requests").Run() == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("no python3 with the requests module (make bench installs Debian's python3-requests)")
}

// compareWithPython reads alerts and events of one simulated tenant with the Python client and
// then with the receiver (alerts and events streams, page 1000, 50 requests/s, the most it may
// be configured to): paging only, on loopback and with 100 ms of API latency, then with events
// enriched. The simulator applies no rate limit, as Cisco documents none.
func compareWithPython(ctx context.Context, repo string, alerts, events int) ([]comparison, error) {
	python, err := findPython()
	if err != nil {
		return nil, err
	}
	a, err := serve(simulator.Options{Seed: 3, RateLimit: -1, Backlogs: map[string]int{
		"cisco_gta/alert": alerts, "cisco_gta/threat_detection": alerts, "cisco_gta/event": events, "cisco_gta/flow": 0,
	}})
	if err != nil {
		return nil, err
	}
	defer a.close()
	want := int64(alerts + events)
	var out []comparison
	for _, c := range []comparison{{mode: "page"}, {mode: "page", latency: 100 * time.Millisecond}, {mode: "enrich"}} {
		c.records = want
		a.sim.SetFaults(simulator.Faults{Delay: c.latency})
		if c.theirs, err = a.python(ctx, python, filepath.Join(repo, pythonScript), c.mode, want); err != nil {
			return nil, err
		}
		o, err := a.receive(ctx, scenario{
			name:     "cisco_gta vs python (" + c.mode + ")",
			receiver: func(endpoint string) map[string]any { return ciscoGTA(endpoint, 50, false, c.mode == "enrich") },
			want:     want,
		})
		if err != nil {
			return nil, err
		}
		c.ours = run{elapsed: o.child.Elapsed, cpu: o.cpu, peakRSS: o.child.PeakRSS, requests: o.requests}
		out = append(out, c)
	}
	return out, nil
}

// python runs the Python client against a and checks it read want records.
func (a *api) python(ctx context.Context, python, script, mode string, want int64) (run, error) {
	a.tap.reset()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script, a.url, simulator.CiscoCustomerID, "sim-client", "sim-secret", mode)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("python client: %w", err)
	}
	var py struct {
		Records int64   `json:"records"`
		Seconds float64 `json:"seconds"`
		PeakRSS int64   `json:"peak_rss"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &py); err != nil {
		return run{}, fmt.Errorf("python client said %q: %w", stdout.String(), err)
	}
	if py.Records != want {
		return run{}, fmt.Errorf("python client (%s) read %d records, want %d", mode, py.Records, want)
	}
	return run{
		elapsed: time.Duration(py.Seconds * float64(time.Second)), peakRSS: py.PeakRSS, requests: a.tap.count(time.Hour),
		cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
	}, nil
}
