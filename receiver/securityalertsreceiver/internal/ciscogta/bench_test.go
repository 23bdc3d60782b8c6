package ciscogta_test

import (
	"testing"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ciscogta"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/payload"
)

// The conversion benchmarks make bench reports: a recorded full page turned into records, and
// the same bytes decoded into map[string]any and nothing more, the baseline.
func BenchmarkFetch(b *testing.B)  { payload.RunFetch(b, ciscogta.Source) }
func BenchmarkDecode(b *testing.B) { payload.RunDecode(b, ciscogta.Source) }
