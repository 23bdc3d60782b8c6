package securityalertsreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// telemetry accumulates the receiver's cumulative counters between metric emissions.
type telemetry struct {
	mu       sync.Mutex
	tenants  map[string]string // source → tenant, for the metrics of a whole source
	records  map[recordKey]int64
	risk     map[riskKey]int64
	requests map[requestKey]int64
	seconds  map[string]float64 // source → time spent in requests
	drops    map[dropKey]int64
	future   map[streamKey]int64
	skipped  map[skipKey]float64 // seconds

	// durations is the request duration histogram of the collector's own telemetry; nil until
	// the receiver starts.
	durations *metadata.TelemetryBuilder
}

type (
	resourceKey struct{ source, tenant string }
	recordKey   struct {
		resourceKey
		kind     string
		severity record.Severity
	}
	riskKey struct {
		resourceKey
		kind string
	}
	requestKey struct {
		source string
		status int
	}
	dropKey struct {
		source string
		reason engine.DropReason
	}
	streamKey struct{ source, stream string }
	skipKey   struct {
		streamKey
		reason engine.SkipReason
	}
)

func newTelemetry() *telemetry {
	return &telemetry{
		tenants:  map[string]string{},
		records:  map[recordKey]int64{},
		risk:     map[riskKey]int64{},
		requests: map[requestKey]int64{},
		seconds:  map[string]float64{},
		drops:    map[dropKey]int64{},
		future:   map[streamKey]int64{},
		skipped:  map[skipKey]float64{},
	}
}

func (t *telemetry) setTenant(source, tenant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tenants[source] = tenant
}

func (t *telemetry) delivered(source string, records []record.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range records {
		res := resourceKey{source, r.Tenant}
		if _, known := t.risk[riskKey{res, r.Kind}]; !known {
			// Every severity's series starts at zero as soon as its kind is seen: a series born
			// with its first count shows no increase, and an alert on rate() or increase() would
			// miss the first critical record of a tenant.
			for _, severity := range record.Severities {
				t.records[recordKey{res, r.Kind, severity}] += 0
			}
			t.risk[riskKey{res, r.Kind}] += 0
		}
		t.records[recordKey{res, r.Kind, r.Severity}]++
		t.risk[riskKey{res, r.Kind}] += r.Severity.RiskWeight()
	}
}

func (t *telemetry) dropped(source string, reason engine.DropReason, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drops[dropKey{source, reason}] += int64(n)
}

func (t *telemetry) futureDated(s engine.Stream, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.future[streamKey{s.Source(), s.Name()}] += int64(n)
}

func (t *telemetry) skippedSpan(s engine.Stream, span engine.Span, reason engine.SkipReason) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skipped[skipKey{streamKey{s.Source(), s.Name()}, reason}] += span.To.Sub(span.From).Seconds()
}

// observer returns the apiclient callback that counts a source's requests.
func (t *telemetry) observer(source string) func(status int, took time.Duration) {
	attrs := func(status int) metric.MeasurementOption {
		return metric.WithAttributes(attribute.String("source", source), attribute.Int("http.response.status_code", status))
	}
	return func(status int, took time.Duration) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.requests[requestKey{source, status}]++
		t.seconds[source] += took.Seconds()
		if t.durations != nil {
			t.durations.ReceiverSecurityalertsAPIRequestDuration.Record(context.Background(), took.Seconds(), attrs(status))
		}
	}
}

// emitMetricsEvery sends the metrics snapshot once per interval until ctx ends.
func (r *securityReceiver) emitMetricsEvery(ctx context.Context, interval time.Duration) {
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set, metadata.WithStartTime(pcommon.NewTimestampFromTime(time.Now())))
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			r.recordMetrics(ctx, mb, now)
			if err := r.metrics.ConsumeMetrics(ctx, mb.Emit()); err != nil && ctx.Err() == nil {
				// Sums are cumulative: the next emission carries what this one lost.
				r.set.Logger.Warn("Metrics pipeline refused the metrics snapshot", zap.Error(err))
			}
		}
	}
}

// recordMetrics writes one snapshot of every metric into mb, one resource per (source, tenant).
func (r *securityReceiver) recordMetrics(ctx context.Context, mb *metadata.MetricsBuilder, now time.Time) {
	ts := pcommon.NewTimestampFromTime(now)
	byResource := map[resourceKey][]func(){}
	add := func(res resourceKey, record func()) { byResource[res] = append(byResource[res], record) }

	for _, p := range r.probes {
		if !r.polls(p.key()) {
			continue
		}
		if err := p.read(ctx, gauges{source: p.source, ts: ts, mb: mb, add: add}); err != nil {
			r.set.Logger.Warn("Reading a source's gauges failed; they are skipped this time", zap.String("source", p.source), zap.Error(err))
		}
	}

	t := r.telemetry
	t.mu.Lock()
	for k, n := range t.records {
		add(k.resourceKey, func() {
			mb.RecordSecurityalertsRecordsDataPoint(ts, n, metadata.MapAttributeSource[k.source], metadata.MapAttributeKind[k.kind], metadata.MapAttributeSeverity[string(k.severity)])
		})
	}
	for k, n := range t.risk {
		add(k.resourceKey, func() {
			mb.RecordSecurityalertsRiskScoreDataPoint(ts, n, metadata.MapAttributeSource[k.source], metadata.MapAttributeKind[k.kind])
		})
	}
	for k, n := range t.requests {
		add(resourceKey{k.source, t.tenants[k.source]}, func() {
			mb.RecordSecurityalertsAPIRequestsDataPoint(ts, n, metadata.MapAttributeSource[k.source], int64(k.status))
		})
	}
	for source, secs := range t.seconds {
		add(resourceKey{source, t.tenants[source]}, func() {
			mb.RecordSecurityalertsAPIRequestDurationDataPoint(ts, secs, metadata.MapAttributeSource[source])
		})
	}
	for k, n := range t.drops {
		add(resourceKey{k.source, t.tenants[k.source]}, func() {
			mb.RecordSecurityalertsRecordsDroppedDataPoint(ts, n, metadata.MapAttributeSource[k.source], metadata.MapAttributeReason[string(k.reason)])
		})
	}
	for k, n := range t.future {
		add(resourceKey{k.source, t.tenants[k.source]}, func() {
			mb.RecordSecurityalertsRecordsFutureDatedDataPoint(ts, n, metadata.MapAttributeSource[k.source], k.stream)
		})
	}
	for k, secs := range t.skipped {
		add(resourceKey{k.source, t.tenants[k.source]}, func() {
			mb.RecordSecurityalertsSyncSkippedDataPoint(ts, secs, metadata.MapAttributeSource[k.source], k.stream, metadata.MapAttributeSkipReason[string(k.reason)])
		})
	}
	tenants := make(map[string]string, len(t.tenants))
	for s, tn := range t.tenants {
		tenants[s] = tn
	}
	t.mu.Unlock()

	for _, st := range r.engine.Status() {
		if st.Watermark.IsZero() {
			continue
		}
		source, name, lag := st.Stream.Source(), st.Stream.Name(), now.Sub(st.Watermark).Seconds()
		add(resourceKey{source, tenants[source]}, func() {
			mb.RecordSecurityalertsPollLagDataPoint(ts, lag, metadata.MapAttributeSource[source], name)
		})
	}
	for res, records := range byResource {
		for _, rec := range records {
			rec()
		}
		mb.EmitForResource(metadata.WithResource(resource(res.source, res.tenant, r.cfg.ResourceAttributes)))
	}
}
