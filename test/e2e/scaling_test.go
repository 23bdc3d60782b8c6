//go:build integration

package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/securityalerts/securityalerts/extension/etcdextension/etcdtest"
	"github.com/securityalerts/securityalerts/internal/simulator"
)

const (
	replicas   = 3
	sessionTTL = 3 * time.Second
	// failoverBound is docs/scaling.md's bound: the dead replica's lease runs out at most
	// session_ttl after its last renewal, etcd notices within 500 ms, and the new owner polls
	// at once; the rest is slack for a loaded machine.
	failoverBound = sessionTTL + 2*time.Second
	// scalingPageSize bounds the duplicates a hand-over may cause: the page in flight.
	scalingPageSize = 50
)

// The streams: USM Anywhere alarms per priority label and events per plugin, eight in all,
// each identified in the simulator's request log by its path and filter value.
var (
	alarmLabels  = []string{"low", "medium", "high", "critical"}
	eventPlugins = []string{"Amazon AWS CloudTrail", "Windows Security", "Office 365", "Cisco ASA"}
)

// TestScalingOverReplicasWithEtcd runs three collectors on one etcd (Debian's etcd-server) and
// the simulator: the streams spread over the replicas, SIGKILL of one hands its streams to the
// others within the failover bound, from the shared checkpoints; every record is exported and no
// stream is ever polled by two replicas at the same time.
func TestScalingOverReplicasWithEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	sim := simulator.New(simulator.Options{
		Seed:              11,
		Backlog:           1500,
		Lookback:          24 * time.Hour,
		ArrivalsPerSecond: 4,
		RecordRequests:    true,
	})
	simURL, err := sim.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	sinkURL, exported := newIDSink(t)

	collectors := map[string]*collector{}
	for i := 1; i <= replicas; i++ {
		name := "replica-" + strconv.Itoa(i)
		collectors[name] = startCollector(t, writeScalingConfig(t, name, etcd.Endpoint, simURL, sinkURL))
	}

	// Spread: every stream polled, by its settled owner, and every replica owns some.
	var owners map[string]string
	waitFor(t, 30*time.Second, "every stream polled and every replica owning some", func() bool {
		owners = currentOwners(sim.Requests())
		return len(owners) == len(alarmLabels)+len(eventPlugins) && len(ownedBy(owners)) == replicas
	})
	// Every stream through its backlog (the replicas share one client's 30 a second), so that the
	// checkpoints a new owner must resume from are recent ones.
	waitFor(t, 60*time.Second, "every stream caught up", func() bool { return caughtUp(t, sim.Requests(), time.Now().Add(-time.Hour)) })
	time.Sleep(time.Second) // a few polls by the settled owners
	owners = currentOwners(sim.Requests())
	t.Logf("owners before the kill: %v", ownedBy(owners))
	require.Len(t, ownedBy(owners), replicas, "streams are not spread over the replicas")

	victim := "replica-2"
	victimStreams := ownedBy(owners)[victim]
	killedAt := time.Now()
	collectors[victim].kill(t)

	// Failover: each of the victim's streams is polled by another replica within the bound,
	// starting from the stored checkpoint, not from initial_lookback.
	resumed := map[string]simulator.Request{}
	waitFor(t, failoverBound+5*time.Second, "the killed replica's streams polled by the others", func() bool {
		for _, r := range sim.Requests() {
			s := streamOf(r)
			if slices.Contains(victimStreams, s) && r.Start.After(killedAt) && r.Client != victim {
				if _, seen := resumed[s]; !seen {
					resumed[s] = r
				}
			}
		}
		return len(resumed) == len(victimStreams)
	})
	for s, r := range resumed {
		took := r.Start.Sub(killedAt)
		t.Logf("failover of %s to %s: %s", s, r.Client, took.Round(time.Millisecond))
		assert.LessOrEqual(t, took, failoverBound, "%s taken over after %s", s, took)
		gte, err := strconv.ParseInt(mustQuery(t, r.Query).Get("timestamp_occured_gte"), 10, 64)
		require.NoError(t, err, "%s: first request after the failover: %s", s, r.Query)
		assert.Greater(t, gte, killedAt.Add(-time.Hour).UnixMilli(), "%s resumed at initial_lookback, not from the shared checkpoint", s)
	}

	// Every record generated up to now reaches the backend.
	time.Sleep(time.Second)
	want := append(sim.IDs("usm_anywhere", "alarm"), sim.IDs("usm_anywhere", "event")...)
	var missing int
	waitFor(t, 30*time.Second, "every simulated record exported", func() bool {
		got := exported()
		missing = 0
		for _, id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		return missing == 0
	})
	for name, c := range collectors {
		if name != victim {
			c.stop(t)
		}
	}

	// Never two pollers at once, and only a few hand-overs: replicas joining, then the failover.
	runs := ownershipRuns(sim.Requests())
	handovers := 0
	for s, rs := range runs {
		for i := 1; i < len(rs); i++ {
			assert.False(t, rs[i].start.Before(rs[i-1].end), "%s polled by %s from %s while %s polled it until %s",
				s, rs[i].client, rs[i].start.Format(time.RFC3339Nano), rs[i-1].client, rs[i-1].end.Format(time.RFC3339Nano))
		}
		handovers += len(rs) - 1
		assert.LessOrEqual(t, len(rs), 2*replicas, "%s changed hands %d times: %v", s, len(rs)-1, rs)
	}
	duplicates := 0
	for _, n := range exported() {
		duplicates += n - 1
	}
	t.Logf("records checked: %d, duplicates: %d, hand-overs: %d", len(want), duplicates, handovers)
	// A hand-over repeats at most the page that was delivered but not yet checkpointed.
	assert.LessOrEqual(t, duplicates, handovers*scalingPageSize, "duplicates beyond what the hand-overs explain")
}

// newIDSink is an OTLP/HTTP logs backend counting deliveries by securityalerts.id.
func newIDSink(t *testing.T) (url string, exported func() map[string]int) {
	var mu sync.Mutex
	counts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := plogotlp.NewExportRequest()
		if !decode(w, r, req.UnmarshalProto) {
			return
		}
		mu.Lock()
		for _, rl := range req.Logs().ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					id, _ := lr.Attributes().Get("securityalerts.id")
					counts[id.Str()]++
				}
			}
		}
		mu.Unlock()
		writeProto(w, plogotlp.NewExportResponse().MarshalProto)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(counts)
	}
}

// streamOf names the stream a data request belongs to ("" for token requests).
func streamOf(r simulator.Request) string {
	q, err := url.ParseQuery(r.Query)
	if err != nil {
		return ""
	}
	switch r.Path {
	case "/api/2.0/alarms":
		return "alarms/" + q.Get("priority_label")
	case "/api/2.0/events":
		return "events/" + q.Get("plugin")
	}
	return ""
}

// currentOwners is, per stream, the client of its latest request.
func currentOwners(requests []simulator.Request) map[string]string {
	owners := map[string]string{}
	for _, r := range requests {
		if s := streamOf(r); s != "" {
			owners[s] = r.Client
		}
	}
	return owners
}

// caughtUp says whether every stream's latest request reads from after since.
func caughtUp(t *testing.T, requests []simulator.Request, since time.Time) bool {
	latest := map[string]simulator.Request{}
	for _, r := range requests {
		if s := streamOf(r); s != "" {
			latest[s] = r
		}
	}
	for _, r := range latest {
		gte, err := strconv.ParseInt(mustQuery(t, r.Query).Get("timestamp_occured_gte"), 10, 64)
		if err != nil || gte < since.UnixMilli() {
			return false
		}
	}
	return len(latest) == len(alarmLabels)+len(eventPlugins)
}

func ownedBy(owners map[string]string) map[string][]string {
	out := map[string][]string{}
	for s, client := range owners {
		out[client] = append(out[client], s)
	}
	return out
}

// run is a stretch of a stream's requests by one client: from its first start to its last end.
type run struct {
	client     string
	start, end time.Time
}

// ownershipRuns cuts each stream's requests, in the order they started, into runs by client.
func ownershipRuns(requests []simulator.Request) map[string][]run {
	byStream := map[string][]simulator.Request{}
	for _, r := range requests {
		if s := streamOf(r); s != "" {
			byStream[s] = append(byStream[s], r)
		}
	}
	out := map[string][]run{}
	for s, rs := range byStream {
		slices.SortFunc(rs, func(a, b simulator.Request) int { return a.Start.Compare(b.Start) })
		var runs []run
		for _, r := range rs {
			if n := len(runs); n > 0 && runs[n-1].client == r.Client {
				if r.End.After(runs[n-1].end) {
					runs[n-1].end = r.End
				}
				continue
			}
			runs = append(runs, run{client: r.Client, start: r.Start, end: r.End})
		}
		out[s] = runs
	}
	return out
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	return q
}

// writeScalingConfig is one replica's configuration: the exporter without a queue, so that a
// checkpoint is stored only once the backend has the records (a killed replica's queue would die
// with it).
func writeScalingConfig(t *testing.T, replica, etcdURL, simURL, sinkURL string) string {
	t.Helper()
	return writeReplicaConfig(t, replica, etcdURL, fmt.Sprintf(`
    usm_anywhere:
      endpoint: %[1]s
      client_id: sim-client
      client_secret: sim-secret
      alarms:
        enabled: true
        filters: {priority_label: [%[2]s]}
      events:
        enabled: true
        filters: {plugin: [%[3]s]}
      page_size: %[4]d
      requests_per_second: 30
exporters:
  otlp_http:
    endpoint: %[5]s
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 1s`, simURL, quoted(alarmLabels), quoted(eventPlugins), scalingPageSize, sinkURL), `
    logs:
      receivers: [securityalerts]
      exporters: [otlp_http]`)
}

// writeReplicaConfig is one replica's configuration around its sources and exporters: the etcd
// extension as both the storage and the leader elector, polls every second, the replica's name
// as its service.instance.id, sent to the simulator (which tells the replicas apart by it).
func writeReplicaConfig(t *testing.T, replica, etcdURL, sourcesAndExporters, pipelines string) string {
	t.Helper()
	config := fmt.Sprintf(`
extensions:
  etcd:
    endpoints: [%[2]s]
    key_prefix: /e2e/
    session_ttl: %[3]s
receivers:
  securityalerts:
    poll_interval: 1s
    initial_lookback: 24h
    storage: etcd
    leader_elector: etcd
    send_instance_id: true
    retry_on_failure:
      enabled: true
      initial_interval: 50ms
      max_interval: 500ms
      max_elapsed_time: 0%[4]s
service:
  extensions: [etcd]
  telemetry:
    resource:
      service.instance.id: %[1]s
    metrics:
      level: none
  pipelines:%[5]s
`, replica, etcdURL, sessionTTL, sourcesAndExporters, pipelines)
	path := filepath.Join(t.TempDir(), replica+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return path
}

func quoted(values []string) string {
	out := ""
	for i, v := range values {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(v)
	}
	return out
}

// TestScalingDocConfigsValidate runs the built collector's `validate` on every complete
// configuration docs/scaling.md shows.
func TestScalingDocConfigsValidate(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "scaling.md"))
	require.NoError(t, err)
	validated := 0
	for _, m := range yamlBlock.FindAllStringSubmatch(string(doc), -1) {
		if !wholeConfig.MatchString(m[1]) {
			continue
		}
		path := filepath.Join(t.TempDir(), "scaling.yaml")
		require.NoError(t, os.WriteFile(path, []byte(m[1]), 0o600))
		cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
		cmd.Env = append(os.Environ(), "USM_ANYWHERE_CLIENT_SECRET=secret", "HOSTNAME=replica")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "docs/scaling.md configuration does not validate:\n%s\n%s", m[1], out)
		validated++
	}
	require.Positive(t, validated, "docs/scaling.md shows no complete configuration")
}
