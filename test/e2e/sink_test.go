//go:build integration

package e2e

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// otlpSink is the downstream backend: an OTLP/HTTP endpoint recording, per record id, how many
// times it arrived, and the names of the metrics it was sent.
type otlpSink struct {
	server *httptest.Server

	mu      sync.Mutex
	counts  map[string]int // securityalerts.id → deliveries
	kinds   map[string]string
	metrics map[string]bool
}

func newOTLPSink(t *testing.T) *otlpSink {
	s := &otlpSink{counts: map[string]int{}, kinds: map[string]string{}, metrics: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", func(w http.ResponseWriter, r *http.Request) {
		req := plogotlp.NewExportRequest()
		if !decode(w, r, req.UnmarshalProto) {
			return
		}
		s.mu.Lock()
		rls := req.Logs().ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					attrs := lrs.At(k).Attributes()
					id, _ := attrs.Get("securityalerts.id")
					kind, _ := attrs.Get("securityalerts.kind")
					s.counts[id.Str()]++
					s.kinds[id.Str()] = kind.Str()
				}
			}
		}
		s.mu.Unlock()
		writeProto(w, plogotlp.NewExportResponse().MarshalProto)
	})
	mux.HandleFunc("/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		req := pmetricotlp.NewExportRequest()
		if !decode(w, r, req.UnmarshalProto) {
			return
		}
		s.mu.Lock()
		rms := req.Metrics().ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					s.metrics[ms.At(k).Name()] = true
				}
			}
		}
		s.mu.Unlock()
		writeProto(w, pmetricotlp.NewExportResponse().MarshalProto)
	})
	s.server = httptest.NewServer(mux)
	t.Cleanup(s.server.Close)
	return s
}

func decode(w http.ResponseWriter, r *http.Request, unmarshal func([]byte) error) bool {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = gz
	}
	data, err := io.ReadAll(body)
	if err == nil {
		err = unmarshal(data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeProto(w http.ResponseWriter, marshal func() ([]byte, error)) {
	data, _ := marshal()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(data)
}

// snapshot returns how often each id arrived.
func (s *otlpSink) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for id, n := range s.counts {
		out[id] = n
	}
	return out
}

func (s *otlpSink) sawMetric(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metrics[name]
}
