package apiclienttest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

func TestCannedPathsAnswersByPathThenFallback(t *testing.T) {
	api := CannedPaths(t, map[string]Answer{
		"/a": {Body: []byte(`"a"`)},
		"/b": {Status: http.StatusTooManyRequests, Body: []byte(`slow down`)},
		"":   {Body: []byte(`"other"`)},
	})
	body, err := api.Do(context.Background(), http.MethodPost, api.URL("/a", nil), "application/json", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, `"a"`, string(body))

	_, err = api.Get(context.Background(), api.URL("/b", nil))
	var he *apiclient.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusTooManyRequests, he.Status)
	assert.Equal(t, "slow down", he.Detail)

	body, err = api.Get(context.Background(), api.URL("/c", nil))
	require.NoError(t, err)
	assert.Equal(t, `"other"`, string(body))

	_, err = CannedPaths(t, nil).Get(context.Background(), Endpoint+"/x")
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusNotFound, he.Status)
}

func TestItems(t *testing.T) {
	for _, tc := range []struct {
		body string
		path []string
		want int
	}{
		{`[1,2,3]`, nil, 3},
		{`{"items":[1,{}]}`, []string{"items"}, 2},
		{`{"a":{"b":[1,2,3]}} trailing`, []string{"a", "b"}, 3},
		{`{"Items":[1,2],"ITEMS":[1]}`, []string{"items"}, 2},
		{`{"items":[1e999]}`, []string{"items"}, 1},
		{`{"items":{}}`, []string{"items"}, 0},
		{`{"items":[`, []string{"items"}, 0},
		{`[[1]]`, []string{"items"}, 0},
	} {
		assert.Equal(t, tc.want, Items([]byte(tc.body), tc.path...), tc.body)
	}
}
