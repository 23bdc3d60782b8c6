package engine

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// BenchmarkWalk walks 20 pages from an API that takes 2 ms to answer into a pipeline that takes
// 2 ms to accept (an exporter without a sending queue): fetching the next page while the
// current one is delivered makes a page cost the longer of the two, not their sum.
func BenchmarkWalk(b *testing.B) {
	const pages, latency = 20, 2 * time.Millisecond
	stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
		time.Sleep(latency)
		n, _ := strconv.Atoi(q.PageToken)
		p := Page{Records: []record.Record{rec(strconv.Itoa(n), t0.Add(time.Duration(n)*time.Second))}}
		if n+1 < pages {
			p.Next = strconv.Itoa(n + 1)
		}
		return p, nil
	})
	sink := &fakeSink{refuse: func([]record.Record) error {
		time.Sleep(latency)
		return nil
	}}
	for b.Loop() {
		e := New(testSettings(), NewMemoryStore(), sink, []Stream{stream})
		if _, err := poll(e, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(pages*b.N)/b.Elapsed().Seconds(), "pages/s")
}
