package trendcas

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// A refusal's message carries the start of the vendor's body, never all of it: decodePage
// hands classify the whole of a 200 answer that turned out to be an error.
func TestErrorsCarryTheStartOfTheBodyOnly(t *testing.T) {
	long := strings.Repeat("detail ", 2000)
	for name, body := range map[string]string{
		"trend's format": `{"code": -4000001, "traceId": "t-1", "msg": "` + long + `"}`,
		"another format": `{"error": "` + long + `", "code": 1, "msg": "x"}` + long,
		"not json":       long,
	} {
		t.Run(name, func(t *testing.T) {
			err := classify(&apiclient.HTTPError{Method: http.MethodGet, URL: "https://site.test/v1/siem/security_events", Status: http.StatusOK, Detail: body}, NewQuota(1, 1))
			require.Error(t, err)
			assert.Less(t, len(err.Error()), 1500, "%.200s…", err.Error())
		})
	}
}
