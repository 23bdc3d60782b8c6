package securityalertsreceiver

import (
	"testing"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/payload"
)

// BenchmarkToLogs converts a page of records to the plog.Logs the pipeline receives.
func BenchmarkToLogs(b *testing.B) { benchmarkToLogs(b, BodyFormatVendor) }

// BenchmarkToLogsOCSF is the same with body_format: ocsf, each body an OCSF event.
func BenchmarkToLogsOCSF(b *testing.B) { benchmarkToLogs(b, BodyFormatOCSF) }

func benchmarkToLogs(b *testing.B, body BodyFormat) {
	rac := metadata.DefaultResourceAttributesConfig()
	for _, c := range payload.Cases(b, "") {
		b.Run(c.Name, func(b *testing.B) {
			records := c.Fetch(b)
			b.ReportAllocs()
			for b.Loop() {
				toLogs(c.Source, records, rac, body, time.Now())
			}
			payload.Report(b, c.Records)
		})
	}
}

// BenchmarkEndToEnd is what a page costs from the bytes the API answered to the plog.Logs the
// pipeline receives: the figure make bench sets against decoding alone (BenchmarkDecode in
// each vendor's package).
func BenchmarkEndToEnd(b *testing.B) {
	rac := metadata.DefaultResourceAttributesConfig()
	for _, c := range payload.Cases(b, "") {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.Page)))
			c.Fetch(b)
			for b.Loop() {
				toLogs(c.Source, c.Fetch(b), rac, BodyFormatVendor, time.Now())
			}
			payload.Report(b, c.Records)
		})
	}
}
