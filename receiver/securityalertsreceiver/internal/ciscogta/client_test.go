package ciscogta

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

func TestCustomerIDIsDiscoveredOnceAndReported(t *testing.T) {
	f := newFakeAPI(t)
	var fail atomic.Bool
	fail.Store(true)
	f.mux.HandleFunc("GET /auth/api-clients/me", func(w http.ResponseWriter, _ *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"clientId":"client-1","identity":{"customerId":"CTA42","type":"customer"}}`))
	})
	var reported []string
	c := NewClient(f.api(t), "", func(id string) { reported = append(reported, id) })

	_, err := c.CustomerID(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "set customer_id")
	assert.False(t, apiclient.IsPermanent(err), "a 502 is tried again")

	fail.Store(false)
	for range 2 {
		id, err := c.CustomerID(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "CTA42", id)
	}
	assert.Equal(t, []string{"CTA42"}, reported)
	assert.Len(t, f.seen("/auth/api-clients/me"), 2, "one failed request, one answered, none after")
}

func TestCustomerIDMissingFromIdentityIsPermanent(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /auth/api-clients/me", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"identity":{}}`))
	})
	_, err := NewClient(f.api(t), "", nil).CustomerID(context.Background())
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err))
}

func TestConfiguredCustomerIDNeedsNoRequest(t *testing.T) {
	f := newFakeAPI(t)
	id, err := f.client(t).CustomerID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, customer, id)
	assert.Empty(t, f.seen("/auth/api-clients/me"))
}

func TestPagingContinuesFromEndCursor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		end      any
		next     string
		wantNext string
		wantErr  string
	}{
		{name: "endCursor wins over next", end: "High,b2", next: "/alert-management/customer/x/alerts?after=other", wantNext: "High,b2"},
		{name: "numeric endCursor", end: 25717281, wantNext: "25717281"},
		{name: "next link's after when endCursor is missing", end: nil, next: "/alert-management/customer/x/alerts?size=2&after=c9", wantNext: "c9"},
		{name: "no cursor at all", end: nil, wantErr: "no endCursor"},
		{name: "foreign next link", end: nil, next: "https://evil.test/x?after=c9", wantErr: "refusing to follow"},
		{name: "same cursor again: its items were delivered with the page that led there", end: "c0", wantErr: "asked with (c0) again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.mux.HandleFunc("GET /r", func(w http.ResponseWriter, _ *http.Request) {
				writePage(w, []map[string]any{{"id": "a"}}, true, tc.end, tc.next)
			})
			p, err := f.client(t).fetch(context.Background(), request{path: "/r"}, "c0")
			if tc.end == "c0" {
				assert.Empty(t, p.items, "a repeated page is not emitted again")
			} else {
				assert.Len(t, p.items, 1, "items come with any error")
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tc.wantErr)
				assert.True(t, apiclient.IsPermanent(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantNext, p.next)
			assert.Equal(t, "after=c0", f.seen("/r")[0].query)
		})
	}
}

func TestLastPageHasNoNext(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /r", func(w http.ResponseWriter, _ *http.Request) {
		writePage(w, []map[string]any{{"id": "a"}}, false, "7", "")
	})
	p, err := f.client(t).fetch(context.Background(), request{path: "/r"}, "")
	require.NoError(t, err)
	assert.Empty(t, p.next)
	assert.Equal(t, "7", p.end)
}

func TestPageOfTheWrongShapeIsMalformed(t *testing.T) {
	for _, body := range []string{
		`[]`, `{"items":{"id":"a"}}`, `{"items":[],"pageInfo":[]}`, `{"items":[],"pageInfo":{"hasNextPage":"yes"}}`,
		`{"items":[],"pageInfo":{"hasNextPage":true,"next":7}}`, `{"items":[{"id":"a"}`,
	} {
		f := newFakeAPI(t)
		f.mux.HandleFunc("GET /r", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) })
		_, err := f.client(t).fetch(context.Background(), request{path: "/r"}, "")
		var me *apiclient.MalformedError
		assert.ErrorAs(t, err, &me, body)
	}
}
