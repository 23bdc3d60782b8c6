package securityalertsreceiver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zaptest"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/collectortest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/metadata"
)

// fakeElector is a leader elector the test drives: per key (SetCallBackFuncsForKey) or, when
// single, one lease for everything (SetCallBackFuncs, k8s_leader_elector's shape).
type fakeElector struct {
	component.StartFunc
	component.ShutdownFunc
	mu        sync.Mutex
	callbacks map[string][2]any // key → onStart, onStop
	withdrawn []string
}

func newFakeElector() *fakeElector {
	return &fakeElector{callbacks: map[string][2]any{}}
}

func (f *fakeElector) SetCallBackFuncsForKey(key string, onStart func(context.Context), onStop func()) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callbacks[key] = [2]any{onStart, onStop}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.withdrawn = append(f.withdrawn, key)
	}
}

func (f *fakeElector) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.callbacks {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// lead starts a term for key; the returned func ends it and returns once the receiver let go.
func (f *fakeElector) lead(key string) (stop func()) {
	f.mu.Lock()
	cb := f.callbacks[key]
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cb[0].(func(context.Context))(ctx)
	return func() {
		cancel()
		cb[1].(func())()
	}
}

// singleLease has only k8s_leader_elector's method.
type singleLease struct {
	component.StartFunc
	component.ShutdownFunc
	keyed *fakeElector
}

func (s singleLease) SetCallBackFuncs(onStart func(context.Context), onStop func()) {
	s.keyed.SetCallBackFuncsForKey("lease", onStart, onStop)
}

func electorHost(id component.ID, ext component.Component) component.Host {
	return collectortest.Host(map[component.ID]component.Component{id: ext})
}

const alarmsPath = "/api/2.0/alarms"

func TestLeaderElectorGatesEachStream(t *testing.T) {
	usm := newFakeUSM(t)
	cfg := testConfig(usm.URL)
	elector, id := newFakeElector(), component.MustNewID("etcd")
	cfg.LeaderElector = &id
	logs := &consumertest.LogsSink{}
	stop := run(t, cfg, electorHost(id, elector), logs, nil)

	assert.Equal(t, []string{"securityalerts/usm_anywhere/alarms", "securityalerts/usm_anywhere/events"}, elector.keys(),
		"one key per stream, prefixed with the receiver's id")
	time.Sleep(50 * time.Millisecond) // an ungated receiver polls at once
	assert.Zero(t, usm.requests(alarmsPath), "polled a stream it does not lead")

	end := elector.lead("securityalerts/usm_anywhere/alarms")
	require.Eventually(t, func() bool { return logs.LogRecordCount() == 3 }, 10*time.Second, 10*time.Millisecond, "the fixtures' alarms")
	end()
	polled := usm.requests(alarmsPath)
	assert.Zero(t, usm.requests("/api/2.0/events"), "polled the stream it does not lead")
	stop()
	assert.Equal(t, polled, usm.requests(alarmsPath), "polled after leadership ended")
	elector.mu.Lock()
	assert.ElementsMatch(t, []string{"securityalerts/usm_anywhere/alarms", "securityalerts/usm_anywhere/events"}, elector.withdrawn)
	elector.mu.Unlock()
}

func TestSingleLeaseGatesAllStreams(t *testing.T) {
	usm := newFakeUSM(t)
	cfg := testConfig(usm.URL)
	elector, id := singleLease{keyed: newFakeElector()}, component.MustNewID("k8s_leader_elector")
	cfg.LeaderElector = &id
	logs := &consumertest.LogsSink{}
	stop := run(t, cfg, electorHost(id, elector), logs, nil)
	defer stop()
	time.Sleep(50 * time.Millisecond) // an ungated receiver polls at once
	assert.Zero(t, usm.requests(alarmsPath), "polled without the lease")

	end := elector.keyed.lead("lease")
	require.Eventually(t, func() bool { return logs.LogRecordCount() == 4 }, 10*time.Second, 10*time.Millisecond, "the fixtures' alarms and event")
	end()
}

func TestLeaderElectorMustBeOne(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	id := component.MustNewID("file_storage")
	cfg.LeaderElector = &id
	f := NewFactory()
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zaptest.NewLogger(t)
	for _, tc := range []struct {
		host component.Host
		want string
	}{
		{componenttest.NewNopHost(), `leader_elector: extension "file_storage" not found`},
		{electorHost(id, struct {
			component.StartFunc
			component.ShutdownFunc
		}{}), `leader_elector: extension "file_storage" is not a leader elector`},
	} {
		r, err := f.CreateLogs(context.Background(), set, cfg, &consumertest.LogsSink{})
		require.NoError(t, err)
		require.ErrorContains(t, r.Start(context.Background(), tc.host), tc.want)
		require.NoError(t, r.Shutdown(context.Background()))
	}
}

func TestLeaderElectorGatesTheGauges(t *testing.T) {
	cfg := testConfig(newFakeUSM(t).URL)
	elector, id := newFakeElector(), component.MustNewID("etcd")
	cfg.LeaderElector = &id
	metrics := &consumertest.MetricsSink{}
	stop := run(t, cfg, electorHost(id, elector), &consumertest.LogsSink{}, metrics)
	defer stop()
	require.Contains(t, elector.keys(), "securityalerts/usm_anywhere/gauges", "the probe is led like a stream")

	emissions := func() int { return len(metrics.AllMetrics()) }
	require.Eventually(t, func() bool { return emissions() >= 2 }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, collectortest.OpenAlerts(metrics), "reported the gauges of a probe it does not lead")

	end := elector.lead("securityalerts/usm_anywhere/gauges")
	require.Eventually(t, func() bool { return len(collectortest.OpenAlerts(metrics)) > 0 }, 10*time.Second, 10*time.Millisecond)
	end()
	after := emissions()
	require.Eventually(t, func() bool { return emissions() >= after+2 }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, collectortest.OpenAlerts(metrics), "reported the gauges after leadership ended")
}
