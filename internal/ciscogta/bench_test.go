package ciscogta_test

import (
	"testing"

	"github.com/securityalerts/securityalerts/internal/ciscogta"
	"github.com/securityalerts/securityalerts/test/bench/payload"
)

// BenchmarkFetch turns a recorded full page into records; BenchmarkDecode is the baseline, the
// same bytes decoded into map[string]any and nothing more. make bench compares the two.
func BenchmarkFetch(b *testing.B) {
	for _, c := range payload.Cases(b, ciscogta.Source) {
		b.Run(c.Name, func(b *testing.B) { payload.BenchmarkFetch(b, c) })
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range payload.Cases(b, ciscogta.Source) {
		b.Run(c.Name, func(b *testing.B) { payload.BenchmarkDecode(b, c) })
	}
}
