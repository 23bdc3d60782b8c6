package usm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/apiclient"
)

func TestHALPage(t *testing.T) {
	var p HALPage
	require.NoError(t, apiclient.DecodeJSON("https://h.test/x", []byte(`{
		"_links": {"next": {"href": "/api/2.0/events?page=1"}},
		"_embedded": {"eventResources": [{"id": "a"}, "junk", {"id": "b"}, 3]},
		"page": {"number": 0, "size": 2, "totalElements": 9}
	}`), &p))
	assert.Equal(t, "/api/2.0/events?page=1", p.NextHref())
	assert.EqualValues(t, 9, p.Page.TotalElements)
	assert.Nil(t, p.Items("alarms"))
	items := p.Items("events", "eventResources")
	require.Len(t, items, 4)

	var empty HALPage
	require.NoError(t, apiclient.DecodeJSON("https://h.test/x", []byte(`{"_links":{"next":null}}`), &empty))
	assert.Empty(t, empty.NextHref())
	assert.Nil(t, empty.Items("alarms"))
}
