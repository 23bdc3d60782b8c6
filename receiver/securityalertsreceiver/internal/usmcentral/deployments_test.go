package usmcentral

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/streamtest"
)

type statusLog struct {
	mu      sync.Mutex
	changes []string
	errs    []error
}

func (l *statusLog) onStatus(d Deployment, previous string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, d.Name+":"+previous+"→"+d.Status())
}

func (l *statusLog) onError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func TestDeploymentsListingAndCounts(t *testing.T) {
	srv := newConsole(t, nil)
	var log statusLog
	dir := NewDirectory(newAPI(t, srv.Server), DirectoryConfig{RefreshEvery: 10, OnStatus: log.onStatus})
	counts, err := dir.Counts(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"connected": 1, "disconnected": 1, "unauthorized": 1}, counts)
	assert.Equal(t, []string{"globex:→disconnected", "initech:→unauthorized"}, log.changes,
		"a deployment whose data cannot reach the console is reported at once; a healthy one is not")

	acme, ok := dir.Lookup("cn://acme.alienvault.cloud")
	require.True(t, ok)
	assert.Equal(t, Deployment{
		ID: "cn://acme.alienvault.cloud", Name: "acme", DisplayName: "ACME Corp", FQDN: "acme.alienvault.cloud",
		Type: "USM Anywhere", ConnectionStatus: "connected", Authorized: true,
	}, acme)

	// globex reconnects, acme drops: both changes are told.
	srv.setDeployments(`[
		{"id":"cn://acme.alienvault.cloud","name":"acme","fqdn":"acme.alienvault.cloud","connectionStatus":"Disconnected","authorized":"true"},
		{"id":"cn://globex.alienvault.cloud","name":"globex","fqdn":"globex.alienvault.cloud","connection_status":"connected"},
		{"id":"cn://initech.alienvault.cloud","name":"initech","fqdn":"initech.alienvault.cloud","connectionStatus":"connected","authorized":false}]`, 0)
	require.NoError(t, dir.Refresh(context.Background()))
	assert.Equal(t, []string{"globex:→disconnected", "initech:→unauthorized", "acme:connected→disconnected", "globex:disconnected→connected"}, log.changes)
	counts, err = dir.Counts(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"connected": 1, "disconnected": 1, "unauthorized": 1}, counts)
}

func TestCountsFollowIncludeExclude(t *testing.T) {
	srv := newConsole(t, nil)
	var log statusLog
	dir := NewDirectory(newAPI(t, srv.Server), DirectoryConfig{Exclude: []string{"globex"}, OnStatus: log.onStatus})
	counts, err := dir.Counts(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"connected": 1, "unauthorized": 1}, counts)
	assert.Equal(t, []string{"initech:→unauthorized"}, log.changes, "a deployment left out is not reported")
}

func TestDeploymentFieldFallbacks(t *testing.T) {
	srv := newConsole(t, nil)
	srv.setDeployments(`[{"fqdn":"a.alienvault.cloud"},{"id":"cn://b.alienvault.cloud"},{"name":"no id"},"junk"]`, 0)
	deps, err := ListDeployments(context.Background(), newAPI(t, srv.Server))
	require.NoError(t, err)
	require.Len(t, deps, 2, "a deployment without id or fqdn cannot own records")
	assert.Equal(t, "cn://a.alienvault.cloud", deps[0].ID)
	assert.Equal(t, "b.alienvault.cloud", deps[1].Tenant())
	assert.Equal(t, "unknown", deps[1].Status())
	assert.True(t, deps[1].Authorized, "no authorized field: nothing says it is not")
}

func TestRefreshEveryNPolls(t *testing.T) {
	srv := newConsole(t, func(string, searchRequest) string { return `{"results":[],"total":0}` })
	api := newAPI(t, srv.Server)
	var log statusLog
	dir := NewDirectory(api, DirectoryConfig{RefreshEvery: 3, OnError: log.onError})
	streams := NewStreams(api, dir, Config{PageSize: 10, Alarms: alarmsOnly.Alarms, Events: eventsOnly.Events})
	poll := func(s engine.Stream) {
		_, err := pollFirst(t, s, t0)
		require.NoError(t, err)
	}
	poll(streams[0])
	assert.Equal(t, 1, srv.listCount(), "the first poll lists")
	poll(streams[1])
	poll(streams[0])
	poll(streams[1])
	poll(streams[0])
	assert.Equal(t, 1, srv.listCount())
	poll(streams[0]) // the alarms' third poll since the listing
	assert.Equal(t, 2, srv.listCount())
	_, err := rangeStream(streams[0]).FetchRange(context.Background(), engine.Range{From: t0.Add(time.Second)})
	require.NoError(t, err)
	assert.Equal(t, 2, srv.listCount(), "a page within a walk is not a poll")

	// A failed listing keeps the last one, is reported, does not stop the walk, and is tried
	// again RefreshEvery polls later.
	srv.setDeployments(`oops`, 500)
	for range 3 {
		poll(streams[1])
	}
	assert.Equal(t, 3, srv.listCount())
	require.Len(t, log.errs, 1)
	assert.Contains(t, log.errs[0].Error(), "listing deployments")
	_, ok := dir.Lookup("cn://acme.alienvault.cloud")
	assert.True(t, ok)
}

func TestFind(t *testing.T) {
	srv := newConsole(t, nil)
	dir := NewDirectory(newAPI(t, srv.Server), DirectoryConfig{})
	dep, err := dir.Find(context.Background(), "globex")
	require.NoError(t, err)
	assert.Equal(t, "globex.alienvault.cloud", dep.FQDN)
	_, err = dir.Find(context.Background(), "acme.alienvault.cloud")
	require.NoError(t, err)
	assert.Equal(t, 1, srv.listCount(), "known names need no listing")
	_, err = dir.Find(context.Background(), "nobody")
	require.ErrorContains(t, err, `no deployment called "nobody"`)
	assert.Equal(t, 2, srv.listCount(), "an unknown name lists again")
}

func TestOpenAlarms(t *testing.T) {
	totals := map[string]int{"low": 4, "medium": 2, "high": 1}
	srv := newConsole(t, func(_ string, req searchRequest) string {
		return `{"results":[{"id":"x"}],"total":` + mustJSON(totals[req.Find["alarm.priority_label"][0]]) + `}`
	})
	counts, err := OpenAlarms(context.Background(), newAPI(t, srv.Server), DefaultAlarmsPath)
	require.NoError(t, err)
	assert.Equal(t, map[record.Severity]int64{"low": 4, "medium": 2, "high": 1}, counts)
	for _, c := range srv.calls() {
		assert.Equal(t, DefaultAlarmsPath, c.path)
		assert.Equal(t, 1, c.body.Page)
		assert.Equal(t, 1, c.body.Size)
		assert.Equal(t, []string{"open"}, c.body.Find["alarm.status"])
		assert.Len(t, c.body.Find, 2)
		assert.Nil(t, c.body.Range)
	}
}

// A deployment that comes back delivers what it buffered, with the original times: each stream
// watching is told once, with when it was last seen connected, and reads that deployment again.
func TestReconnectedDeploymentIsReadAgain(t *testing.T) {
	all := []map[string]any{alarmResult("a1", "acme", 0), alarmResult("g1", "globex", 1), alarmResult("a2", "acme", 2)}
	srv := newConsole(t, results(all))
	api := newAPI(t, srv.Server)
	dir := NewDirectory(api, DirectoryConfig{RefreshEvery: 1})
	clock := t0
	dir.now = func() time.Time { return clock }
	streams := NewStreams(api, dir, Config{PageSize: 10, Alarms: alarmsOnly.Alarms, Events: eventsOnly.Events})
	var alarms engine.Backfiller = rangeStream(streams[0])
	require.NoError(t, rangeStream(streams[0]).PollStarting(context.Background()))
	assert.Empty(t, alarms.Backfills(), "globex was never connected: nothing came back")

	acmeDown := `[{"id":"cn://acme.alienvault.cloud","name":"acme","fqdn":"acme.alienvault.cloud","connectionStatus":"disconnected","authorized":true},
		{"id":"cn://globex.alienvault.cloud","name":"globex","fqdn":"globex.alienvault.cloud","connectionStatus":"connected","authorized":true}]`
	acmeUp := strings.Replace(acmeDown, `"disconnected"`, `"connected"`, 1)
	clock = t0.Add(time.Minute)
	srv.setDeployments(acmeDown, 0)
	require.NoError(t, dir.Refresh(context.Background()))
	clock = t0.Add(time.Hour)
	srv.setDeployments(acmeUp, 0)
	require.NoError(t, dir.Refresh(context.Background()))

	got := alarms.Backfills()
	assert.Equal(t, []engine.Backfill{
		{Scope: "cn://globex.alienvault.cloud"}, // never seen connected: from the engine's initial lookback
		{Scope: "cn://acme.alienvault.cloud", From: t0},
	}, got, "from when each was last listed connected")
	assert.Empty(t, alarms.Backfills(), "told once")
	assert.Len(t, rangeStream(streams[1]).Backfills(), 2, "every stream is told")

	page, err := rangeStream(streams[0]).FetchRange(context.Background(), engine.Range{From: t0, Scope: got[1].Scope})
	require.NoError(t, err)
	assert.Equal(t, []string{"a1", "a2"}, streamtest.RecordIDs([]engine.RangePage{page}), "only the deployment that came back")
	assert.Len(t, page.OutOfScope, 1, "the others' records still move the walk on, and are not taken as read")
}

// A slow /deployments answer must not hold up the streams that only look a deployment up.
func TestListingDoesNotHoldTheDirectory(t *testing.T) {
	srv := newConsole(t, nil)
	api := newAPI(t, srv.Server)
	dir := NewDirectory(api, DirectoryConfig{RefreshEvery: 1})
	require.NoError(t, dir.Refresh(context.Background()))

	release := make(chan struct{})
	listing := make(chan struct{})
	handler := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == DeploymentsPath {
			close(listing)
			<-release
		}
		handler.ServeHTTP(w, r)
	})
	refreshed := make(chan error, 1)
	go func() { refreshed <- dir.Refresh(context.Background()) }()
	<-listing

	looked := make(chan bool, 1)
	go func() {
		_, ok := dir.Lookup("cn://acme.alienvault.cloud")
		looked <- ok
	}()
	select {
	case ok := <-looked:
		assert.True(t, ok)
	case <-time.After(5 * time.Second):
		t.Error("a lookup waited for the listing in flight")
	}
	close(release)
	require.NoError(t, <-refreshed)
}

// When a deployment was last listed connected is kept across restarts: one that comes back after
// one is read again from there, not from the initial lookback.
func TestLastConnectedSurvivesARestart(t *testing.T) {
	srv := newConsole(t, nil)
	api := newAPI(t, srv.Server)
	first := NewDirectory(api, DirectoryConfig{})
	first.now = func() time.Time { return t0.Add(90 * time.Second) }
	require.NoError(t, first.Refresh(context.Background()))
	kept := rangeStream(NewStreams(api, first, alarmsOnly)[0]).Kept()
	assert.Equal(t, t0.Add(90*time.Second).Truncate(time.Minute), kept["cn://acme.alienvault.cloud"], "to the minute")

	// The next run starts while acme is away, and sees it come back.
	srv.setDeployments(strings.Replace(deploymentsJSON, `"connectionStatus":"connected","authorized":true,"joinedSince"`, `"connectionStatus":"disconnected","authorized":true,"joinedSince"`, 1), 0)
	second := NewDirectory(api, DirectoryConfig{})
	s := rangeStream(NewStreams(api, second, alarmsOnly)[0])
	s.Restore(kept)
	require.NoError(t, second.Refresh(context.Background()))
	srv.setDeployments(deploymentsJSON, 0)
	require.NoError(t, second.Refresh(context.Background()))
	assert.Equal(t, []engine.Backfill{{Scope: "cn://acme.alienvault.cloud", From: t0.Add(90 * time.Second).Truncate(time.Minute)}}, s.Backfills())
}

// A caller that asked for a listing while another was in flight takes its answer instead of
// listing again (two streams starting at once, two pages naming an unknown tenant at once); one
// that asks after a listing was taken in lists again.
func TestAListingTakenInWhileWaitingAnswersForTheWaiter(t *testing.T) {
	srv := newConsole(t, nil)
	dir := NewDirectory(newAPI(t, srv.Server), DirectoryConfig{RefreshEvery: 1})
	waiter := dir.listings // what a caller saw as it began to wait for the listing in flight
	require.NoError(t, dir.Refresh(context.Background()))
	assert.Equal(t, 1, srv.listCount())
	require.NoError(t, dir.refresh(context.Background(), waiter))
	assert.Equal(t, 1, srv.listCount(), "the waiter lists nothing: the listing it waited for answers")
	require.NoError(t, dir.Refresh(context.Background()))
	assert.Equal(t, 2, srv.listCount(), "a later caller lists")
}
