package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// pythonCase is the receiver and a Python client reading the same simulated tenant, the client
// first, at one latency.
type pythonCase struct {
	source, lists, mode string
	latency             time.Duration
	sim                 simulator.Options
	// script and args run the client: args follow the endpoint.
	script string
	args   []string
	// receiver is the receiver block that reads what the client reads.
	receiver func(endpoint string) map[string]any
	records  int64
}

// comparison is what a case measured.
type comparison struct {
	pythonCase
	ours, theirs run
}

// ratio is the receiver's records per second over the client's.
func (c comparison) ratio() float64 {
	return c.ours.perSecond(c.records) / c.theirs.perSecond(c.records)
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

// pythonCases, at each latency:
//   - Cisco, with the client Cisco's documentation describes (testdata/cisco_client.py): alerts
//     and events paged, then events enriched with their parents; the receiver at page 1000 and
//     its courtesy ceiling of 50 requests a second, without a limit in the simulator, as Cisco
//     documents none.
//   - USM Anywhere alarms, with a sequential page=N pager as public integrations have
//     (testdata/usm_anywhere_client.py), page 100 both; the simulator and the receiver at the
//     documented 100 requests a second.
func pythonCases(alerts, events, alarms int) []pythonCase {
	cisco := simulator.Options{Seed: 3, RateLimit: -1, Backlogs: map[string]int{
		"cisco_gta/alert": alerts, "cisco_gta/threat_detection": alerts, "cisco_gta/event": events, "cisco_gta/flow": 0,
	}}
	credentials := []string{"sim-client", "sim-secret"}
	var out []pythonCase
	for _, mode := range []string{"page", "enrich"} {
		for _, latency := range latencies {
			out = append(out, pythonCase{
				source: "cisco_gta", lists: "alerts+events", mode: mode, latency: latency, sim: cisco,
				script: "testdata/cisco_client.py", args: slices.Concat([]string{simulator.CiscoCustomerID}, credentials, []string{mode}),
				receiver: func(endpoint string) map[string]any {
					return ciscoGTA(endpoint, ciscoCourtesyPerSecond, ciscoLists{alerts: true, enrich: mode == "enrich"})
				},
				records: int64(alerts + events),
			})
		}
	}
	for _, latency := range latencies {
		out = append(out, pythonCase{
			source: "usm_anywhere", lists: "alarms", mode: "page", latency: latency,
			sim:    simulator.Options{Seed: 4, Backlogs: map[string]int{"usm_anywhere/alarm": alarms}},
			script: "testdata/usm_anywhere_client.py", args: credentials,
			receiver: func(endpoint string) map[string]any { return usmAnywhere(endpoint, 100, false) },
			records:  int64(alarms),
		})
	}
	return out
}

// compareWithPython runs every case: the Python client, then the receiver, on one simulator.
func compareWithPython(ctx context.Context, repo string, cases []pythonCase) ([]comparison, error) {
	python, err := findPython()
	if err != nil {
		return nil, err
	}
	var out []comparison
	for _, pc := range cases {
		c, err := pc.compare(ctx, python, repo)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (pc pythonCase) compare(ctx context.Context, python, repo string) (comparison, error) {
	s := scenario{source: pc.source, name: fmt.Sprintf("%s %s vs python (%s, %s)", pc.source, pc.lists, pc.mode, pc.latency), sim: pc.sim, latency: pc.latency, receiver: pc.receiver, want: pc.records}
	a, err := serve(s.options())
	if err != nil {
		return comparison{}, err
	}
	defer a.close()
	c := comparison{pythonCase: pc}
	progress("%s: python", s.name)
	if c.theirs, err = a.python(ctx, python, filepath.Join(repo, pc.script), pc.args, pc.records); err != nil {
		return c, err
	}
	progress("%s: receiver", s.name)
	o, err := a.receive(ctx, s)
	if err != nil {
		return c, err
	}
	c.ours = run{elapsed: o.child.Elapsed, cpu: o.cpu, peakRSS: o.child.PeakRSS, requests: o.requests}
	return c, nil
}

// python runs a Python client against a and checks it read want records.
func (a *api) python(ctx context.Context, python, script string, args []string, want int64) (run, error) {
	a.tap.reset()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, python, append([]string{script, a.url}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") // no __pycache__ left in testdata
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("python client %s: %w", script, err)
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
		return run{}, fmt.Errorf("python client %s read %d records, want %d", script, py.Records, want)
	}
	return run{
		elapsed: time.Duration(py.Seconds * float64(time.Second)), peakRSS: py.PeakRSS, requests: a.tap.count(0, time.Hour),
		cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
	}, nil
}
