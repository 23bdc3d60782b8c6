package apiclienttest

import (
	"testing"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// Object decodes js as the vendor clients decode an answer's JSON object, failing the test when
// it does not decode.
func Object(tb testing.TB, js string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := apiclient.DecodeJSON("https://h.test/x", []byte(js), &m); err != nil {
		tb.Fatal(err)
	}
	return m
}
