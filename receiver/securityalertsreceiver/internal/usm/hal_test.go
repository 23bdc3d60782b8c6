package usm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

func TestHALPage(t *testing.T) {
	var p HALPage
	require.NoError(t, apiclient.DecodeDocument("https://h.test/x", []byte(`{
		"_links": {"next": {"href": "/api/2.0/events?page=1"}, "self": {"href": "x"}},
		"_embedded": {"eventResources": [{"id": "a"}, "junk", {"id": "b"}, 3]},
		"page": {"number": 2, "size": 4, "totalElements": 9}
	}`), p.Read))
	assert.Equal(t, "/api/2.0/events?page=1", p.NextHref())
	assert.EqualValues(t, 9, p.Page.TotalElements)
	assert.Equal(t, 2, p.Page.Number)
	assert.Equal(t, 4, p.Page.Size)
	assert.Nil(t, p.Items("alarms"))
	items := p.Items("events", "eventResources")
	require.Len(t, items, 4)
	for _, body := range []string{`{"_links":{"next":null}}`, `{"_embedded":null,"page":null}`, `null`} {
		var empty HALPage
		require.NoError(t, apiclient.DecodeDocument("https://h.test/x", []byte(body), empty.Read), body)
		assert.Empty(t, empty.NextHref())
		assert.Nil(t, empty.Items("alarms"))
	}
}

func TestHALPageOfTheWrongShapeIsMalformed(t *testing.T) {
	for _, body := range []string{
		`[]`, `{"_embedded":{"alarms":{"uuid":"a"}}}`, `{"_embedded":[]}`, `{"_links":{"next":"p2"}}`,
		`{"_links":{"next":{"href":2}}}`, `{"page":{"totalElements":"9"}}`, `{"page":{"number":1.5}}`,
	} {
		var p HALPage
		var me *apiclient.MalformedError
		assert.ErrorAs(t, apiclient.DecodeDocument("https://h.test/x", []byte(body), p.Read), &me, body)
	}
}
