package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securityalerts/securityalerts/internal/simulator"
)

// benchPackages hold the conversion benchmarks: each vendor's Fetch and Decode, the receiver's
// ToLogs and EndToEnd, all over the same recorded pages (the receiver's internal/payload). They
// are in the receiver's module, which does not hold the simulator: the report serves one and
// names it in payloadEnv.
const receiverModule = "receiver/securityalertsreceiver"

var benchPackages = []string{
	"./internal/usmanywhere", "./internal/usmcentral", "./internal/ciscogta", "./internal/trendcas", ".",
}

// payloadEnv is the receiver's internal/payload.SimulatorEnv.
const payloadEnv = "SECURITYALERTS_BENCH_SIMULATOR"

// Each API's largest page, as internal/payload records them.
const (
	bigPage   = 1000 // USM Anywhere, USM Central, Cisco
	trendPage = 200  // Trend's documented limit
)

// payloadSimulator serves the pages the benchmarks record: every list a full page at least (48
// service/event pairs share Trend's one list: enough for a full page of one pair), ending at the
// last midnight as internal/payload.BacklogEnd says, and no rate limit to wait for.
func payloadSimulator() (url string, stop func(), err error) {
	sim := simulator.New(simulator.Options{
		Seed: 8, BacklogEnd: time.Now().UTC().Truncate(24 * time.Hour), RateLimit: -1, TrendCASPerMinute: -1,
		Backlogs: map[string]int{
			"usm_anywhere/alarm": bigPage, "usm_anywhere/event": bigPage,
			"usm_central/alarm": bigPage, "usm_central/event": bigPage,
			"cisco_gta/alert": bigPage, "cisco_gta/threat_detection": bigPage, "cisco_gta/event": bigPage,
			"trend_cas/security_event": 60 * trendPage,
		},
	})
	url, err = sim.Start("127.0.0.1:0")
	if err != nil {
		sim.Close()
		return "", nil, err
	}
	return url, sim.Close, nil
}

// benchLine is "BenchmarkFetch/usm_anywhere/alarms-2  81  19101073 ns/op  54.37 MB/s  1000 records/op ...".
var benchLine = regexp.MustCompile(`^Benchmark(\w+)/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// samples are a benchmark's measurements, by unit, one per -count run.
type samples map[string][]float64

// conversion is one case's row: samples by benchmark (Decode, Fetch, ToLogs, EndToEnd).
type conversion map[string]samples

// runGoBenchmarks runs the conversion benchmarks count times and returns their samples by case
// name ("usm_anywhere/alarms"), echoing go test's output to log.
func runGoBenchmarks(ctx context.Context, count int, log io.Writer) (map[string]conversion, error) {
	url, stop, err := payloadSimulator()
	if err != nil {
		return nil, err
	}
	defer stop()
	args := append([]string{"test", "-run", "^$", "-bench", "^Benchmark(Decode|Fetch|ToLogs|EndToEnd)$", "-benchmem",
		"-count", strconv.Itoa(count)}, benchPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = receiverModule
	cmd.Env = append(os.Environ(), payloadEnv+"="+url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench: %w", err)
	}
	return parseBenchmarks(&out), nil
}

func parseBenchmarks(r io.Reader) map[string]conversion {
	cases := map[string]conversion{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		bench, name, fields := m[1], m[2], strings.Fields(m[3])
		if cases[name] == nil {
			cases[name] = conversion{}
		}
		if cases[name][bench] == nil {
			cases[name][bench] = samples{}
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				cases[name][bench][fields[i+1]] = append(cases[name][bench][fields[i+1]], v)
			}
		}
	}
	return cases
}

// median of a benchmark's unit, 0 when it was not measured.
func (c conversion) median(bench, unit string) float64 {
	v := slices.Clone(c[bench][unit])
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// perRecord is a benchmark's median allocations per record.
func (c conversion) perRecord(bench, unit string) float64 {
	records := c.median(bench, "records/op")
	if records == 0 {
		return 0
	}
	return c.median(bench, unit) / records
}
