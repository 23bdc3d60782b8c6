// Command report runs the benchmarks behind docs/performance.md and prints their tables (make
// bench): conversion throughput against plain decoding, the request rate reached under each
// API's documented limit, the receiver's peak RSS draining a backlog, and a comparison with the
// Python client Cisco's docs describe. Each drain runs the receiver in a process of its own
// (this program with -child), so that the memory reported is the receiver's alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	child := flag.String("child", "", "run the receiver with this JSON configuration (internal)")
	want := flag.Int64("want", 0, "with -child: stop after this many records")
	cpuProfile := flag.String("cpuprofile", "", "with -child: write the receiver's CPU profile to this file (internal)")
	flag.StringVar(&profileDir, "profiles", "", "write the CPU profile of the receiver process of every drain into this directory")
	full := flag.Bool("full", false, "also drain a 1,000,000-record backlog, run the benchmarks 6 times and watch the Trend quota for 5 minutes")
	only := flag.String("only", "", "run only these sections, comma-separated: convert, rate, rss, python")
	verbose := flag.Bool("v", false, "echo go test's output")
	flag.Parse()
	if *child != "" {
		childMain(*child, *want, *cpuProfile)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := report(ctx, os.Stdout, *full, *only, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func report(ctx context.Context, out io.Writer, full bool, only string, verbose bool) error {
	want := func(section string) bool { return only == "" || strings.Contains(","+only+",", ","+section+",") }
	count, backlogs := 3, []int{10_000, 100_000}
	if full {
		count, backlogs = 6, append(backlogs, 1_000_000)
	}
	if want("convert") {
		log := io.Discard
		if verbose {
			log = os.Stderr
		}
		progress("conversion benchmarks (go test -bench, -count %d)", count)
		cases, err := runGoBenchmarks(ctx, count, log)
		if err != nil {
			return err
		}
		conversionTable(out, cases, count)
	}
	if want("rate") {
		results, err := runAll(ctx, rateScenarios(full))
		if err != nil {
			return err
		}
		rateTable(out, results)
	}
	if want("rss") {
		results, err := runAll(ctx, rssScenarios(backlogs))
		if err != nil {
			return err
		}
		rssTable(out, results)
	}
	if want("python") {
		progress("Cisco: the receiver and the Python client")
		cs, err := compareWithPython(ctx, ".", 20_000, 100_000)
		if err != nil {
			fmt.Fprintln(out, "\nSKIPPED the comparison with the Python client:", err)
		} else {
			pythonTable(out, cs)
		}
	}
	return nil
}

func runAll(ctx context.Context, scenarios []scenario) ([]result, error) {
	var results []result
	for _, s := range scenarios {
		if s.window > 0 {
			progress("%s, for %s", s.name, s.window)
		} else {
			progress("%s, draining %d records", s.name, s.want)
		}
		o, err := s.run(ctx)
		if err != nil {
			return nil, err
		}
		results = append(results, result{s, o})
	}
	return results, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
