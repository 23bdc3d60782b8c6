// Package streamtest drives engine streams in tests the way the engine does, without it.
package streamtest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// maxPages bounds a walk: a stream whose walk does not end fails the test instead of hanging it.
const maxPages = 20

// Walk fetches s's pages from since until one has no next page or an error, as one engine poll
// does, and returns every page fetched (the failed one included).
func Walk(t testing.TB, s engine.LinkStream, since time.Time) ([]engine.Page, error) {
	t.Helper()
	var out []engine.Page
	q := engine.Query{Since: since}
	for range maxPages {
		page, err := s.Fetch(context.Background(), q)
		out = append(out, page)
		if err != nil || page.Next == "" {
			return out, err
		}
		q.PageToken = page.Next
	}
	t.Fatalf("the walk of %s does not end within %d pages", s.Name(), maxPages)
	return nil, nil
}

// WalkRange fetches s's pages by keyset from since until the API has no more, as the engine
// walks a RangeStream, and returns every page fetched (the failed one included) with its query.
func WalkRange(t testing.TB, s engine.RangeStream, since time.Time) ([]engine.RangePage, []engine.Range, error) {
	t.Helper()
	var pages []engine.RangePage
	var queries []engine.Range
	q := engine.Range{From: since}
	for range maxPages {
		page, err := s.FetchRange(context.Background(), q)
		pages, queries = append(pages, page), append(queries, q)
		next, more := engine.NextRange(q, page, time.Now().Add(time.Minute))
		if err != nil || !more {
			return pages, queries, err
		}
		q = next
	}
	t.Fatalf("the walk of %s does not end within %d pages", s.Name(), maxPages)
	return nil, nil, nil
}

// RecordIDs lists the ids of the pages' records in order.
func RecordIDs[P engine.Page | engine.RangePage](pages []P) []string {
	var out []string
	for _, p := range pages {
		for _, r := range records(p) {
			out = append(out, r.ID)
		}
	}
	return out
}

func records[P engine.Page | engine.RangePage](p P) []record.Record {
	switch page := any(p).(type) {
	case engine.Page:
		return page.Records
	case engine.RangePage:
		return page.Records
	}
	return nil
}

// NewAPI returns a client of srv authenticating as the receiver does: OAuth2 client credentials
// ("id", "secret") from srv's tokenPath, renewed a minute early.
func NewAPI(t testing.TB, srv *httptest.Server, tokenPath string) *apiclient.Client {
	t.Helper()
	api, err := apiclient.New(apiclient.Options{
		Endpoint:    srv.URL,
		HTTPClient:  srv.Client(),
		Credentials: apiclient.NewClientCredentials(srv.Client(), srv.URL+tokenPath, "id", "secret", time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// Uncounted gives a test's engine.Sink the methods that count what is not emitted, ignoring
// those counts: embed it.
type Uncounted struct{}

func (Uncounted) Dropped(engine.Stream, engine.DropReason, int)         {}
func (Uncounted) FutureDated(engine.Stream, int)                        {}
func (Uncounted) Skipped(engine.Stream, engine.Span, engine.SkipReason) {}
