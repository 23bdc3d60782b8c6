// Command report runs the benchmarks behind docs/performance.md and prints their tables (make
// bench): conversion throughput against plain decoding; the request rate, records per second,
// CPU and memory of every source draining a backlog at 0 and 100 ms of API latency; the
// overlap's cost on caught-up streams; Cisco's enrichment against plain events; the receiver's
// peak RSS by backlog; a comparison with Python clients; whether the targets are met; and where
// the time went. Each drain runs the receiver in a process of its own (this program with
// -child), so that the memory reported is the receiver's alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"
)

func main() {
	child := flag.String("child", "", "run the receiver with this JSON configuration (internal)")
	want := flag.Int64("want", 0, "with -child: stop after this many records")
	cpuProfile := flag.String("cpuprofile", "", "with -child: write the receiver's CPU profile to this file (internal)")
	flag.StringVar(&profileDir, "profiles", "", "write the CPU profile of the receiver process of every drain into this directory")
	full := flag.Bool("full", false, "also drain 1,000,000-record backlogs, run the benchmarks 6 times and watch the Trend quota for 5 minutes")
	only := flag.String("only", "", "run only these sections, comma-separated: "+strings.Join(sections, ", "))
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

// sections are what -only selects, in the order they run.
var sections = []string{"convert", "rate", "overlap", "enrich", "rss", "python"}

func report(ctx context.Context, out io.Writer, full bool, only string, verbose bool) error {
	want := func(section string) bool { return only == "" || strings.Contains(","+only+",", ","+section+",") }
	count, backlogs := 3, []int{10_000, 100_000}
	if full {
		count, backlogs = 6, append(backlogs, 1_000_000)
	}
	var f findings
	var clock stopwatch
	if want("convert") {
		log := io.Discard
		if verbose {
			log = os.Stderr
		}
		progress("conversion benchmarks (go test -bench, -count %d)", count)
		done := clock.start("convert: conversion benchmarks")
		cases, err := runGoBenchmarks(ctx, count, log)
		if err != nil {
			return err
		}
		done()
		conversionTable(out, cases, count)
	}
	// Trend's drains wait on its quota and the overlap's runs count requests of a few records a
	// second: neither is bound by the CPU, so they run together, before the drains that are.
	var trend []result
	if err := clock.concurrently("Trend's quota and the overlap's cost, together", func(g *group) {
		if want("rate") {
			g.Go(func() (err error) { trend, err = runAll(ctx, trendScenarios(full), true); return err })
		}
		if want("overlap") {
			g.Go(func() (err error) { f.overlaps, err = measureOverlap(ctx); return err })
		}
	}); err != nil {
		return err
	}
	if want("overlap") {
		overlapTable(out, f.overlaps)
	}
	if want("rate") {
		done := clock.start("rate: USM Anywhere, USM Central and Cisco drains")
		rates, err := runAll(ctx, rateScenarios(), false)
		if err != nil {
			return err
		}
		done()
		f.rates = append(rates, trend...)
		rateTable(out, f.rates)
	}
	if want("enrich") {
		done := clock.start("enrich: Cisco events with and without enrichment")
		var err error
		if f.enrichment, err = measureEnrichment(ctx, 100_000); err != nil {
			return err
		}
		done()
		enrichmentTable(out, f.enrichment)
	}
	if want("rss") {
		done := clock.start("rss: USM Anywhere drains by backlog")
		var err error
		if f.rss, err = runAll(ctx, rssScenarios(backlogs), false); err != nil {
			return err
		}
		done()
		rssTable(out, f.rss)
	}
	if want("python") {
		done := clock.start("python: the receiver and the Python clients")
		cs, err := compareWithPython(ctx, ".", pythonCases(20_000, 100_000, 20_000))
		if err != nil {
			fmt.Fprintln(out, "\nSKIPPED the comparison with the Python clients:", err)
		} else {
			done()
			f.python = cs
			pythonTable(out, cs)
		}
	}
	targetTable(out, f.targets(full))
	clock.table(out)
	return nil
}

// findings are what the sections measured that the targets are judged on.
type findings struct {
	rates, rss []result
	overlaps   []overlapResult
	enrichment []enrichment
	python     []comparison
}

// runAll runs scenarios one after the other, or all at once when concurrently (for runs that
// wait on a quota, not on the CPU).
func runAll(ctx context.Context, scenarios []scenario, concurrently bool) ([]result, error) {
	results := make([]result, len(scenarios))
	var g group
	for i, s := range scenarios {
		step := func() error {
			if s.window > 0 {
				progress("%s %s at %s latency, for %s", s.source, s.name, s.latency, s.window)
			} else {
				progress("%s %s at %s latency, draining %d records", s.source, s.name, s.latency, s.want)
			}
			o, err := s.run(ctx)
			results[i] = result{s, o}
			return err
		}
		if !concurrently {
			if err := step(); err != nil {
				return nil, err
			}
			continue
		}
		g.Go(step)
	}
	return results, g.Wait()
}

// measureOverlap runs every overlap case at once: they count requests, and take a minute each.
func measureOverlap(ctx context.Context) ([]overlapResult, error) {
	cases := overlapCases()
	progress("the overlap's cost: %d caught-up streams, each read with and without it, for %s", len(cases), overlapWarmup+overlapPeriod)
	results := make([]overlapResult, len(cases))
	var g group
	for i, c := range cases {
		g.Go(func() (err error) { results[i], err = c.run(ctx); return err })
	}
	return results, g.Wait()
}

// group runs functions at once and reports the first error.
type group struct {
	wg      sync.WaitGroup
	once    sync.Once
	err     error
	started int
}

func (g *group) Go(f func() error) {
	g.started++
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// stopwatch notes how long each part of the report took.
type stopwatch struct {
	parts []timed
	began time.Time
}

type timed struct {
	what string
	took time.Duration
}

// start begins timing a part; the returned function ends it.
func (s *stopwatch) start(what string) func() {
	if s.began.IsZero() {
		s.began = time.Now()
	}
	began := time.Now()
	return func() { s.parts = append(s.parts, timed{what, time.Since(began)}) }
}

// concurrently runs what start adds to a group, timed as one part if it added anything.
func (s *stopwatch) concurrently(what string, start func(*group)) error {
	done := s.start(what)
	var g group
	start(&g)
	if err := g.Wait(); err != nil {
		return err
	}
	if g.started > 0 {
		done()
	}
	return nil
}

func (s *stopwatch) table(to io.Writer) {
	t := newTable(to, "Where the time went", "part", "wall time")
	for _, p := range s.parts {
		t.row(p.what, p.took.Round(time.Second).String())
	}
	if !s.began.IsZero() {
		t.row("total", time.Since(s.began).Round(time.Second).String())
	}
	t.flush()
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
