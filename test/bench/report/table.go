package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// table writes tab-separated rows aligned, under a title.
type table struct {
	w  *tabwriter.Writer
	to io.Writer
}

func newTable(to io.Writer, title string, header ...string) *table {
	fmt.Fprintf(to, "\n%s\n", title)
	t := &table{w: tabwriter.NewWriter(to, 0, 0, 2, ' ', tabwriter.AlignRight), to: to}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.w, strings.Join(cells, "\t")+"\t") }

func (t *table) flush() { _ = t.w.Flush() }

// num writes n with thousands separators, to a precision that suits its size.
func num(n float64) string {
	switch {
	case n == 0:
		return "-"
	case n < 10:
		return fmt.Sprintf("%.2f", n)
	case n < 100:
		return fmt.Sprintf("%.1f", n)
	}
	s := fmt.Sprintf("%.0f", n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// perTime writes a rate per second, or per minute when it is below one a second.
func perTime(perSecond float64) string {
	if perSecond < 1 {
		return fmt.Sprintf("%.2f/min", perSecond*60)
	}
	return fmt.Sprintf("%.1f/s", perSecond)
}

func mib(bytes int64) string { return fmt.Sprintf("%.0f MiB", float64(bytes)/(1<<20)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func conversionTable(to io.Writer, cases map[string]conversion, count int) {
	t := newTable(to, fmt.Sprintf("Conversion of a full page, records/s (median of %d runs); ratio = bytes→plog ÷ decode only", count),
		"stream", "records/page", "decode only", "bytes→records", "records→plog", "bytes→plog", "allocs/record", "ratio")
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := cases[name]
		decode, e2e := c.median("Decode", "records/s"), c.median("EndToEnd", "records/s")
		t.row(name, num(c.median("EndToEnd", "records/op")), num(decode), num(c.median("Fetch", "records/s")),
			num(c.median("ToLogs", "records/s")), num(e2e), num(c.perRecord("EndToEnd", "allocs/op")), ratio(e2e, decode))
	}
	t.flush()
}

// result is a scenario and what it measured.
type result struct {
	scenario
	outcome
}

// micros writes a duration per record in microseconds.
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

func rateTable(to io.Writer, results []result) {
	t := newTable(to, "Request rate draining a backlog, the receiver configured at the API's limit and the simulator enforcing it (window from the first data request)",
		"source", "lists", "API latency", "window", "requests", "allowed", "achieved", "fraction", "429s", "in flight", "records/s", "records/request", "CPU/record", "peak RSS")
	for _, r := range results {
		t.row(r.source, r.name, r.latency.String(), r.window.String(), fmt.Sprint(r.requests), perTime(r.allowed), perTime(r.rate()),
			fmt.Sprintf("%.3f", r.rate()/r.allowed), fmt.Sprint(r.statuses[429]), fmt.Sprint(r.concurrency), num(r.recordsPerSecond()),
			num(r.recordsPerSecond()/r.rate()), micros(r.cpuPerRecord()), mib(r.child.PeakRSS))
	}
	t.flush()
	fmt.Fprintf(to, "Allowed: USM Anywhere %d GET/s and USM Central %d POST/s per API client, Trend %d a minute, as documented; Cisco documents no limit: %d/s is the receiver's default.\n",
		usmAnywherePerSecond, usmCentralPerSecond, trendPerMinute, ciscoPerSecond)
}

func rssTable(to io.Writer, results []result) {
	t := newTable(to, "Peak RSS of the receiver process draining a USM Anywhere backlog (page 1000, 100 req/s)",
		"lists", "backlog", "API latency", "records/s", "requests/s", "in flight", "receiver CPU", "CPU/record", "simulator CPU", "429s", "peak RSS")
	for _, r := range results {
		t.row(r.name, num(float64(r.want)), r.latency.String(), num(r.recordsPerSecond()), num(r.rate()), fmt.Sprint(r.concurrency), r.cpu.Round(10*time.Millisecond).String(),
			micros(r.cpuPerRecord()), r.simCPU.Round(10*time.Millisecond).String(), fmt.Sprint(r.statuses[429]), mib(r.child.PeakRSS))
	}
	t.flush()
}

func pythonTable(to io.Writer, cs []comparison) {
	t := newTable(to, "The receiver vs Python clients on the same simulator: Cisco's documented approach, and USM Anywhere paged as public integrations do",
		"source", "lists", "mode", "API latency", "records", "ours rec/s", "python rec/s", "ours ÷ python", "ours CPU", "python CPU", "ours req", "python req", "ours RSS", "python RSS")
	for _, c := range cs {
		t.row(c.source, c.lists, c.mode, c.latency.String(), num(float64(c.records)), num(c.ours.perSecond(c.records)), num(c.theirs.perSecond(c.records)),
			fmt.Sprintf("%.2f", c.ratio()), c.ours.cpu.Round(10*time.Millisecond).String(), c.theirs.cpu.Round(10*time.Millisecond).String(),
			fmt.Sprint(c.ours.requests), fmt.Sprint(c.theirs.requests), mib(c.ours.peakRSS), mib(c.theirs.peakRSS))
	}
	t.flush()
}
