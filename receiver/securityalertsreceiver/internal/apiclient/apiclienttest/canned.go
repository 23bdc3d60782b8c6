// Package apiclienttest helps test vendor clients without a server.
package apiclienttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// Endpoint is the origin of the clients this package returns.
const Endpoint = "https://tenant.example.test"

// Answer is one canned response.
type Answer struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	Body   []byte
}

// Canned returns a client of Endpoint that answers every request 200 with body, in process: for
// fuzzing a vendor's response parsing through its real request path.
func Canned(tb testing.TB, body []byte) *apiclient.Client {
	return CannedPaths(tb, map[string]Answer{"": {Body: body}})
}

// CannedPaths returns a client of Endpoint that answers a request with the Answer of its URL
// path, whatever the method, or else with the Answer of "", or else 404: for fuzzing one
// response of a conversation whose other answers must parse.
func CannedPaths(tb testing.TB, answers map[string]Answer) *apiclient.Client {
	tb.Helper()
	c, err := apiclient.New(apiclient.Options{
		Endpoint:   Endpoint,
		HTTPClient: &http.Client{Transport: cannedTransport(answers)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type cannedTransport map[string]Answer

func (t cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	a, ok := t[r.URL.Path]
	if !ok {
		a, ok = t[""]
	}
	if !ok {
		a = Answer{Status: http.StatusNotFound}
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		StatusCode:    status,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(a.Body)),
		ContentLength: int64(len(a.Body)),
		Request:       r,
	}, nil
}

// Items counts the elements of the JSON array at path (object keys from the top) in body, 0
// when body does not start with JSON or holds no array there: the most items a parser may make
// records of. It reads body as apiclient.DecodeJSON does (the first value; numbers of any size)
// and matches keys regardless of case, as decoding into a struct does.
func Items(body []byte, path ...string) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return 0
	}
	return items(v, path)
}

// items is the largest count among the keys matching path: a parser keeps one of them (the
// last of a case-insensitive match into a struct, the exact one into a map).
func items(v any, path []string) int {
	if len(path) == 0 {
		list, _ := v.([]any)
		return len(list)
	}
	obj, _ := v.(map[string]any)
	n := 0
	for key, child := range obj {
		if strings.EqualFold(key, path[0]) {
			n = max(n, items(child, path[1:]))
		}
	}
	return n
}
