//go:build integration

package e2e

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// otlpSink is the downstream backend: an OTLP/HTTP endpoint on a fixed loopback address that
// records how many times each record version arrived and the names of the metrics it was sent.
// It can be stopped and started again on the same address, as a backend that goes away.
type otlpSink struct {
	addr string

	mu       sync.Mutex
	server   *http.Server
	versions map[string]int  // source/id@modifiedAt → deliveries
	records  map[string]bool // source/id
	contents map[string]bool // source/canonical JSON of the body, for records without a vendor id
	metrics  map[string]bool
}

// recordKey names a record the backend must receive: by its source and vendor id, or by its
// content when it has no id (the receiver then makes one of the content).
type recordKey struct{ source, id, content string }

func (k recordKey) String() string {
	if k.id != "" {
		return k.source + "/" + k.id
	}
	return k.source + " record without id " + k.content
}

// canonicalJSON writes a decoded JSON value with sorted keys and every number as a float64, so
// that the simulator's fields and a log record's body compare equal.
func canonicalJSON(v any) string {
	data, _ := json.Marshal(v)
	var generic any
	_ = json.Unmarshal(data, &generic)
	data, _ = json.Marshal(generic)
	return string(data)
}

func newOTLPSink(t *testing.T) *otlpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &otlpSink{addr: ln.Addr().String(), versions: map[string]int{}, records: map[string]bool{}, contents: map[string]bool{}, metrics: map[string]bool{}}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *otlpSink) url() string { return "http://" + s.addr }

func (s *otlpSink) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", s.logs)
	mux.HandleFunc("/v1/metrics", s.metricsHandler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection: exporters see connection refused.
func (s *otlpSink) stop() {
	s.mu.Lock()
	srv := s.server
	s.server = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// start listens again on the same address.
func (s *otlpSink) start(t *testing.T) {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "listening again on %s", s.addr)
	s.serve(ln)
}

func (s *otlpSink) logs(w http.ResponseWriter, r *http.Request) {
	req := plogotlp.NewExportRequest()
	if !decode(w, r, req.UnmarshalProto) {
		return
	}
	s.mu.Lock()
	forEachLogRecord(req.Logs(), func(source string, lr plog.LogRecord) {
		id, _ := lr.Attributes().Get("securityalerts.id")
		key := source + "/" + id.Str()
		s.records[key] = true
		if lr.Body().Type() == pcommon.ValueTypeMap {
			s.contents[source+"/"+canonicalJSON(lr.Body().Map().AsRaw())] = true
			// An alert re-emitted after a change is a new version, not a duplicate.
			if modified, ok := lr.Body().Map().Get("modifiedAt"); ok {
				key += "@" + modified.AsString()
			}
		}
		s.versions[key]++
	})
	s.mu.Unlock()
	writeProto(w, plogotlp.NewExportResponse().MarshalProto)
}

func forEachLogRecord(ld plog.Logs, fn func(source string, lr plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		source, _ := rl.Resource().Attributes().Get("securityalerts.source")
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				fn(source.Str(), lrs.At(k))
			}
		}
	}
}

func (s *otlpSink) metricsHandler(w http.ResponseWriter, r *http.Request) {
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

// exported is how many distinct records (source/id) arrived.
func (s *otlpSink) exported() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// missing returns the records of want (source → ids) that never arrived.
func (s *otlpSink) missing(want []recordKey) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range want {
		if (k.id != "" && !s.records[k.source+"/"+k.id]) || (k.id == "" && !s.contents[k.source+"/"+k.content]) {
			out = append(out, k.String())
		}
	}
	return out
}

// duplicates counts deliveries beyond the first of each record version, in all and by source,
// and the versions.
func (s *otlpSink) duplicates() (extra int, bySource map[string]int, versions int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bySource = map[string]int{}
	for key, n := range s.versions {
		if n > 1 {
			extra += n - 1
			source, _, _ := strings.Cut(key, "/")
			bySource[source] += n - 1
		}
	}
	return extra, bySource, len(s.versions)
}

func (s *otlpSink) sawMetric(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metrics[name]
}
