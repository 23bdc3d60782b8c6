// Package streamtest drives engine streams in tests the way the engine does, without it.
package streamtest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
)

// maxPages bounds a walk: a stream whose walk does not end fails the test instead of hanging it.
const maxPages = 20

// Walk fetches s's pages from since until one has no next page or an error, as one engine poll
// does, and returns every page fetched (the failed one included).
func Walk(t testing.TB, s engine.Stream, since time.Time) ([]engine.Page, error) {
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

// RecordIDs lists the ids of the pages' records in order.
func RecordIDs(pages []engine.Page) []string {
	var out []string
	for _, p := range pages {
		for _, r := range p.Records {
			out = append(out, r.ID)
		}
	}
	return out
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
