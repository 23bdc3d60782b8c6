// Package payload gives the conversion benchmarks realistic answers without a network: each
// source's streams, built as the receiver builds them, fetch one full page from the simulator
// through a recording transport, then read the recorded answers again in process. A benchmark
// of such a stream measures decoding and conversion only, not sockets or the simulator.
//
// The simulator runs outside this module (it is the development module's, which a user's build of
// the receiver must not pull): make bench starts one and names it in SimulatorEnv. Without it the
// benchmarks are skipped.
package payload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Each API's largest page: the receiver's drains read pages this size, so the benchmarks do too.
const (
	bigPage   = 1000 // USM Anywhere, USM Central, Cisco
	trendPage = 200  // Trend's documented limit
)

// SimulatorEnv names the environment variable holding the base URL of the simulator the pages are
// recorded from. Its backlog must end at BacklogEnd and give every recorded list a full page:
// test/bench/report starts it so.
const SimulatorEnv = "SECURITYALERTS_BENCH_SIMULATOR"

// BacklogEnd is the last midnight (UTC), where the simulated records end, so that every run of a
// day decodes the same bytes (another day's differ in their dates alone). It cannot be fixed for
// good: Trend's stream reads no further back than the 72 hours its API keeps, so the day of
// backlog before it must lie within them. test/bench/report computes the same.
func BacklogEnd() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

// Case is one stream whose Fetch reads one recorded page.
type Case struct {
	// Name is "<source>/<list>", e.g. "usm_anywhere/alarms".
	Name   string
	Source string
	Stream engine.Stream
	Query  engine.Query
	// Page is the raw answer the page's records come from; Records is how many it holds.
	Page    []byte
	Records int
}

// Cases returns the cases of source ("usm_anywhere", …), or of every source when it is empty.
// Each source is recorded once per process.
func Cases(tb testing.TB, source string) []Case {
	tb.Helper()
	endpoint := os.Getenv(SimulatorEnv)
	if endpoint == "" {
		tb.Skipf("%s is not set: make bench starts the simulator the pages are recorded from", SimulatorEnv)
	}
	var out []Case
	for _, s := range sources {
		if source != "" && s.source != source {
			continue
		}
		r, _ := recordings.LoadOrStore(s.source, &recording{})
		cases, err := r.(*recording).get(s, endpoint)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, cases...)
	}
	if len(out) == 0 {
		tb.Fatalf("payload: no cases for source %q", source)
	}
	return out
}

// Fetch reads the case's page once and fails tb unless it holds every record.
func (c Case) Fetch(tb testing.TB) []record.Record {
	records, malformed, err := fetchFirst(c.Stream, c.Query)
	if err != nil {
		tb.Fatalf("%s: %v", c.Name, err)
	}
	if got := len(records) + malformed; got != c.Records {
		tb.Fatalf("%s: %d records, recorded %d", c.Name, got, c.Records)
	}
	return records
}

// fetchFirst reads the first page of a walk from q, of a RangeStream or a LinkStream.
func fetchFirst(s engine.Stream, q engine.Query) (records []record.Record, malformed int, err error) {
	if rs, ok := s.(engine.RangeStream); ok {
		page, err := rs.FetchRange(context.Background(), engine.Range{From: q.Since})
		return append(page.Records, page.Withheld...), page.Malformed, err
	}
	page, err := s.(engine.LinkStream).Fetch(context.Background(), q)
	return page.Records, page.Malformed, err
}

// Report adds the figures the bench table reads: records per operation and records per second.
func Report(b *testing.B, records int) {
	b.ReportMetric(float64(records), "records/op")
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// RunDecode runs the decode-only baseline of each of source's cases; RunFetch their streams'
// Fetch. Each vendor's package runs them as its BenchmarkDecode and BenchmarkFetch.
func RunDecode(b *testing.B, source string) { run(b, source, benchmarkDecode) }

func RunFetch(b *testing.B, source string) { run(b, source, benchmarkFetch) }

func run(b *testing.B, source string, bench func(*testing.B, Case)) {
	for _, c := range Cases(b, source) {
		b.Run(c.Name, func(b *testing.B) { bench(b, c) })
	}
}

// benchmarkDecode is the baseline every conversion is compared with: encoding/json decoding the
// same page into map[string]any, and nothing else.
func benchmarkDecode(b *testing.B, c Case) {
	b.ReportAllocs()
	b.SetBytes(int64(len(c.Page)))
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(c.Page, &v); err != nil {
			b.Fatal(err)
		}
	}
	Report(b, c.Records)
}

// benchmarkFetch measures the stream turning the page's bytes into records.
func benchmarkFetch(b *testing.B, c Case) {
	b.ReportAllocs()
	b.SetBytes(int64(len(c.Page)))
	c.Fetch(b) // the token and any listing are fetched once, as in a drain
	for b.Loop() {
		c.Fetch(b)
	}
	Report(b, c.Records)
}

var recordings sync.Map // source → *recording

type recording struct {
	once  sync.Once
	cases []Case
	err   error
}

func (r *recording) get(s source, endpoint string) ([]Case, error) {
	r.once.Do(func() { r.cases, r.err = recordSource(s, endpoint) })
	return r.cases, r.err
}

// recordSource builds each of the source's streams on a recording transport, fetches its first page
// from the simulator at endpoint, and rebuilds it on the recording.
func recordSource(s source, endpoint string) ([]Case, error) {
	var out []Case
	for _, name := range s.lists {
		rec := &recorder{next: http.DefaultTransport, answers: map[string][]byte{}}
		c := Case{Name: s.source + "/" + name, Source: s.source, Query: engine.Query{Since: BacklogEnd().Add(-25 * time.Hour), Initial: true}}
		live, err := s.build(endpoint, &http.Client{Transport: rec})
		if err != nil {
			return nil, err
		}
		records, malformed, err := fetchFirst(live[name], c.Query)
		if err != nil {
			return nil, fmt.Errorf("%s: recording: %w", c.Name, err)
		}
		c.Page, c.Records = rec.page, len(records)+malformed
		if c.Records == 0 {
			return nil, fmt.Errorf("%s: the recorded page holds no records", c.Name)
		}
		replayed, err := s.build(endpoint, &http.Client{Transport: replay(rec.answers)})
		if err != nil {
			return nil, err
		}
		c.Stream = replayed[name]
		out = append(out, c)
	}
	return out, nil
}

// recorder keeps every answer by path, and the largest separately: the data page. A full page of
// records outweighs any token or listing, whichever order a stream asks for them in (USM Central
// lists its deployments again after a page that names one it did not know).
type recorder struct {
	next    http.RoundTripper
	answers map[string][]byte
	page    []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		r.answers[req.URL.Path] = body
		if len(body) > len(r.page) {
			r.page = body
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// replay answers every request with what was recorded for its path.
type replay map[string][]byte

func (rp replay) RoundTrip(req *http.Request) (*http.Response, error) {
	body, ok := rp[req.URL.Path]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, []byte(`{"message":"not recorded"}`)
	}
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}
