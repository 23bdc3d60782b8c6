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
)

// benchPackages hold the conversion benchmarks: each vendor's Fetch and Decode, the receiver's
// ToLogs and EndToEnd, all over the same recorded pages (test/bench/payload).
var benchPackages = []string{
	"./internal/usmanywhere", "./internal/usmcentral", "./internal/ciscogta", "./internal/trendcas",
	"./receiver/securityalertsreceiver",
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
	args := append([]string{"test", "-run", "^$", "-bench", "^Benchmark(Decode|Fetch|ToLogs|EndToEnd)$", "-benchmem",
		"-count", strconv.Itoa(count)}, benchPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
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
