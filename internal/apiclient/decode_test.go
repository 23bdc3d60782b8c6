package apiclient

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeJSONKeepsNumbersExact(t *testing.T) {
	var v map[string]any
	require.NoError(t, DecodeJSON("https://h.test/x", []byte(`{"id":12345678901234567890,"t":1517932134000}`), &v))
	assert.Equal(t, json.Number("12345678901234567890"), v["id"])
	assert.Equal(t, json.Number("1517932134000"), v["t"])
}

func TestDecodeJSONMalformed(t *testing.T) {
	long := `{"_embedded":{"alarms":[` + strings.Repeat(`{"uuid":"x"},`, 20) + `oops`
	for _, tc := range []struct {
		name     string
		body     string
		wantHead string
	}{
		{"html error page", "<html>gateway</html>", "<html>gateway</html>"},
		{"truncated", `{"_embedded":`, `{"_embedded":`},
		{"empty", "", ""},
		{"long body: head is capped", long, long[:64]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			err := DecodeJSON("https://h.test/api/2.0/alarms?page=3&api_key=s3cr3t", []byte(tc.body), &v)
			var me *MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, "https://h.test/api/2.0/alarms", me.URL, "URL named without its query")
			assert.Equal(t, len(tc.body), me.Size)
			assert.Equal(t, tc.wantHead, me.Head)
			assert.NotNil(t, me.Reason)
			assert.Contains(t, err.Error(), "https://h.test/api/2.0/alarms")
			assert.NotContains(t, err.Error(), "s3cr3t")
			assert.False(t, IsPermanent(err), "a malformed page is retried")
		})
	}
}

func TestDecodeJSONUnparsableURLIsKept(t *testing.T) {
	err := DecodeJSON("::not a url", []byte("x"), &struct{}{})
	var me *MalformedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "::not a url", me.URL)
}
