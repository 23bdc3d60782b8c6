// Package apiclienttest helps test vendor clients without a server.
package apiclienttest

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/securityalerts/securityalerts/internal/apiclient"
)

// Endpoint is the origin of the clients this package returns.
const Endpoint = "https://tenant.example.test"

// Canned returns a client of Endpoint that answers every request 200 with body, in process: for
// fuzzing a vendor's response parsing through its real request path.
func Canned(tb testing.TB, body []byte) *apiclient.Client {
	tb.Helper()
	c, err := apiclient.New(apiclient.Options{
		Endpoint:   Endpoint,
		HTTPClient: &http.Client{Transport: cannedTransport(body)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type cannedTransport []byte

func (b cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       r,
	}, nil
}
