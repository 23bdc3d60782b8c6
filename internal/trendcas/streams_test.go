package trendcas

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configretry"
	"go.uber.org/zap/zaptest"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/engine"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestWindowEndsQueryDelayBeforeNowAndStartsNoFurtherBackThanTheHorizon(t *testing.T) {
	s := &stream{delay: time.Minute, now: func() time.Time { return testNow }}
	since := testNow.Add(-2 * time.Hour).Add(123456 * time.Nanosecond)

	w, ok := s.window(since)
	require.True(t, ok)
	assert.Equal(t, since.Truncate(time.Millisecond), w.start, "start to the millisecond, rounded down")
	assert.Equal(t, testNow.Add(-time.Minute), w.end)
	assert.False(t, w.clipped)

	w, ok = s.window(testNow.Add(-7 * 24 * time.Hour))
	require.True(t, ok)
	assert.Equal(t, testNow.Add(-Horizon+horizonMargin), w.start, "a start beyond the API's horizon is refused: start there")
	assert.LessOrEqual(t, w.end.Sub(w.start), MaxWindow)

	_, ok = s.window(testNow.Add(-30 * time.Second))
	assert.False(t, ok, "nothing to ask while the window behind query_delay is empty")
}

// skipSink records the spans the engine reports as skipped.
type skipSink struct {
	sink
	mu      sync.Mutex
	skipped []engine.Span
}

func (s *skipSink) Skipped(_ engine.Stream, span engine.Span, _ engine.SkipReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipped = append(s.skipped, span)
}

// TestEngineStartsAWeekOldBacklogAtTheHorizon runs the engine over a week's backlog: the API
// keeps three days, so the walk starts there, and the four days before are reported skipped.
func TestEngineStartsAWeekOldBacklogAtTheHorizon(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, eventsPage(""))
	})
	c, _ := newTestClient(t, api)
	st := c.Streams(Config{Services: []string{"onedrive"}, Events: []string{"dlp"}, Limit: 200, QueryDelay: time.Minute})
	out := &skipSink{}
	e := engine.New(engine.Settings{
		PollInterval: time.Hour, InitialLookback: 7 * 24 * time.Hour, MaxSeen: 100,
		Retry: configretry.NewDefaultBackOffConfig(), Logger: zaptest.NewLogger(t),
	}, engine.NewMemoryStore(), out, st)
	started := time.Now()
	e.Start()
	require.Eventually(t, func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.skipped) > 0 // reported once the walk's page is behind the checkpoint
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.Shutdown(context.Background()))

	q := api.seen()[0].Query()
	start, err := time.Parse(timeFormat, q.Get("start"))
	require.NoError(t, err)
	end, err := time.Parse(timeFormat, q.Get("end"))
	require.NoError(t, err)
	assert.WithinDuration(t, started.Add(-Horizon+horizonMargin), start, 10*time.Second)
	assert.WithinDuration(t, started.Add(-time.Minute), end, 10*time.Second)
	assert.Equal(t, "onedrive", q.Get("service"))
	assert.Equal(t, "200", q.Get("limit"))
	out.mu.Lock()
	defer out.mu.Unlock()
	require.Len(t, out.skipped, 1)
	assert.WithinDuration(t, started.Add(-7*24*time.Hour), out.skipped[0].From, 10*time.Second)
	assert.True(t, start.Equal(out.skipped[0].To), "the skipped span ends where the walk starts")
}

func TestNextLinkIsFollowedWithinTheWindow(t *testing.T) {
	var api *fakeAPI
	api = newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeBody(w, http.StatusOK, eventsPage("", event("b", "2026-03-10T11:00:00Z")))
			return
		}
		writeBody(w, http.StatusOK, eventsPage(api.URL+Path+"?page=2", event("a", "2026-03-10T10:00:00.000Z")))
	})
	c, _ := newTestClient(t, api)
	s := testStream(c, "onedrive", "securityrisk", testNow)

	p1, err := s.Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour * 5)})
	require.NoError(t, err)
	require.Len(t, p1.Records, 1)
	assert.Equal(t, "a", p1.Records[0].ID)
	assert.NotEmpty(t, p1.Next)
	assert.True(t, p1.Through.IsZero(), "the window is not read through until its last page")

	p2, err := s.Fetch(context.Background(), engine.Query{PageToken: p1.Next})
	require.NoError(t, err)
	require.Len(t, p2.Records, 1)
	assert.Equal(t, "b", p2.Records[0].ID)
	assert.Empty(t, p2.Next)
	assert.Equal(t, testNow.Add(-time.Minute), p2.Through)
	assert.False(t, p2.Backlog)
	assert.Equal(t, "2", api.seen()[1].Query().Get("page"))
}

func TestForeignNextLinkIsRefused(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, eventsPage("https://elsewhere.example/v1/siem/security_events?page=2", event("a", "2026-03-10T10:00:00Z")))
	})
	c, _ := newTestClient(t, api)
	page, err := testStream(c, "onedrive", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
	var foreign *apiclient.ForeignOriginError
	require.ErrorAs(t, err, &foreign)
	assert.True(t, apiclient.IsPermanent(err))
	assert.Len(t, page.Records, 1, "the page's own records still go out")
	assert.Len(t, api.seen(), 1)
}

func TestCamelCaseAnswerIsRead(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, map[string]any{
			"selfLink": "", "nextLink": "",
			"securityEvents": []any{map[string]any{"logItemId": "x1", "message": map[string]any{"detectionTime": "2026-03-10T10:00:00"}}, "not an event"},
		})
	})
	c, _ := newTestClient(t, api)
	page, err := testStream(c, "exchange", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	assert.Equal(t, "x1", page.Records[0].ID)
	assert.Equal(t, time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), page.Records[0].Time)
	assert.Equal(t, 1, page.Malformed)
}

func TestFallbackPathIsFoundOnceAndRemembered(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != FallbackPath {
			writeBody(w, http.StatusNotFound, map[string]any{"code": -4040001, "msg": "Not Found"})
			return
		}
		writeBody(w, http.StatusOK, eventsPage(""))
	})
	c, logs := newTestClient(t, api)
	for _, svc := range []string{"onedrive", "box"} {
		_, err := testStream(c, svc, "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
		require.NoError(t, err)
	}
	var paths []string
	for _, u := range api.seen() {
		paths = append(paths, u.Path)
	}
	assert.Equal(t, []string{Path, FallbackPath, FallbackPath}, paths, "the second pair goes straight to the path that answered")
	found := logs.FilterMessage("Security events are read from this path").All()
	require.Len(t, found, 1)
	assert.Equal(t, FallbackPath, found[0].ContextMap()["path"])
	assert.Equal(t, true, found[0].ContextMap()["fallback"])
}

func TestNeitherPathExists(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	c, _ := newTestClient(t, api)
	_, err := testStream(c, "onedrive", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err))
	assert.Contains(t, err.Error(), "both answered 404")
}

func TestBadPairIsDisabledAndTheOthersRun(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("service") == "nosuch" {
			writeBody(w, http.StatusBadRequest, map[string]any{"code": -4000001, "traceId": "trace-400", "msg": "Invalid service: nosuch"})
			return
		}
		writeBody(w, http.StatusOK, eventsPage("", event("ok", "2026-03-10T10:00:00Z")))
	})
	c, logs := newTestClient(t, api)
	bad, good := testStream(c, "nosuch", "dlp", testNow), testStream(c, "onedrive", "dlp", testNow)
	q := engine.Query{Since: testNow.Add(-time.Hour)}

	_, err := bad.Fetch(context.Background(), q)
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err))
	for _, want := range []string{`service "nosuch"`, "pair paused for 1h0m0s", "HTTP 400", "-4000001", "trace-400", "Invalid service: nosuch"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, 1, logs.FilterMessageSnippet("tried again in an hour").Len())

	page, err := bad.Fetch(context.Background(), q)
	require.NoError(t, err)
	assert.Empty(t, page.Records)
	assert.Len(t, api.seen(), 1, "a disabled pair sends nothing")

	page, err = good.Fetch(context.Background(), q)
	require.NoError(t, err)
	assert.Len(t, page.Records, 1)
}

func TestUnauthorizedIsPermanentAndSentOnce(t *testing.T) {
	api := newFakeAPI(t, nil)
	hc := api.Client() // no bearer token
	q := NewQuota(100, 1000)
	a, err := apiclient.New(apiclient.Options{Endpoint: api.URL, HTTPClient: hc, Limiter: q})
	require.NoError(t, err)
	c := NewClient(a, q, zaptest.NewLogger(t))
	_, err = testStream(c, "onedrive", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
	require.Error(t, err)
	assert.True(t, apiclient.IsPermanent(err))
	for _, want := range []string{"HTTP 401", "-4010001", "trace-401", "Unauthorized"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Len(t, api.seen(), 1, "a static token is not worth a second try")
}

// TestQuotaRefusalPausesEveryPair covers each way the API says the quota is spent.
func TestQuotaRefusalPausesEveryPair(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header string
		body   map[string]any
		wait   time.Duration
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "7", map[string]any{"code": -4290001, "msg": "Too many"}, 7 * time.Second},
		{"429 without Retry-After", http.StatusTooManyRequests, "", nil, time.Minute},
		{"code on a 400", http.StatusBadRequest, "", map[string]any{"code": -4290001, "traceId": "t", "msg": "quota"}, time.Minute},
		{"message on a 403", http.StatusForbidden, "", map[string]any{"code": -1, "msg": "Maximum allowed requests exceeded in one day"}, time.Minute},
		{"code on a 200", http.StatusOK, "", map[string]any{"code": -4290001, "msg": "Maximum allowed requests exceeded"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				writeBody(w, tc.status, tc.body)
			})
			c, _ := newTestClient(t, api)
			before := time.Now()
			_, err := testStream(c, "onedrive", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
			require.Error(t, err)
			assert.False(t, apiclient.IsPermanent(err), "a quota refusal is retried: %v", err)
			var ra *backoff.RetryAfterError
			require.ErrorAs(t, err, &ra)
			assert.Equal(t, tc.wait, ra.Duration)
			c.quota.mu.Lock()
			paused := c.quota.pausedUntil
			c.quota.mu.Unlock()
			assert.WithinDuration(t, before.Add(tc.wait), paused, 5*time.Second, "every pair waits")
			assert.Equal(t, 0, c.quota.queued())
		})
	}
}

func TestServerErrorIsRetryable(t *testing.T) {
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusInternalServerError, map[string]any{"code": -5000001, "traceId": "t5", "msg": "oops"})
	})
	c, _ := newTestClient(t, api)
	_, err := testStream(c, "onedrive", "dlp", testNow).Fetch(context.Background(), engine.Query{Since: testNow.Add(-time.Hour)})
	require.Error(t, err)
	assert.False(t, apiclient.IsPermanent(err))
	ae, ok := apiErrorOf(err)
	require.True(t, ok)
	assert.Equal(t, "t5", ae.TraceID)
	assert.False(t, strings.Contains(err.Error(), "start="), "no query string in errors")
}

// TestBoundaryEventsAreEmittedOnce: each poll re-reads the overlap behind the checkpoint, so
// the same events come back; their ids (log_item_id, or the hash without one) stop repeats.
func TestBoundaryEventsAreEmittedOnce(t *testing.T) {
	boundary := time.Now().Add(-5 * time.Minute).UTC().Format(timeFormat)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, eventsPage("", event("with-id", boundary), event("", boundary)))
	})
	c, _ := newTestClient(t, api)
	st := c.Streams(Config{Services: []string{"onedrive"}, Events: []string{"dlp"}, Limit: 200})
	out := &sink{}
	e := engine.New(engine.Settings{
		PollInterval: 5 * time.Millisecond, InitialLookback: time.Hour, Overlap: 10 * time.Minute, MaxSeen: 100,
		Retry: configretry.NewDefaultBackOffConfig(), Logger: zaptest.NewLogger(t),
	}, engine.NewMemoryStore(), out, st)
	e.Start()
	require.Eventually(t, func() bool { return len(api.seen()) >= 4 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, e.Shutdown(context.Background()))
	ids := out.ids()
	require.Len(t, ids, 2, "%v", ids)
	assert.Equal(t, "with-id", ids[0])
	assert.True(t, strings.HasPrefix(ids[1], "sha256:"))
}

func TestErrorsWithoutHTTPAnswerPassThrough(t *testing.T) {
	err := classify(context.DeadlineExceeded, NewQuota(1, 1))
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
}

// Only a refusal of the pair itself pauses it, and a paused pair is tried again an hour later:
// a 400 about the time range (a window past the horizon, after downtime) must not silence it.
func TestOnlyAnUnknownPairIsPausedAndOnlyForAnHour(t *testing.T) {
	var refuse atomic.Value
	refuse.Store(`Invalid time range: 2026-03-06T00:00:00.000Z begins more than 72 hours before the request`)
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if msg := refuse.Load().(string); msg != "" {
			writeBody(w, http.StatusBadRequest, map[string]any{"code": -4000001, "msg": msg})
			return
		}
		writeBody(w, http.StatusOK, eventsPage("", event("ok", "2026-03-10T10:00:00Z")))
	})
	c, _ := newTestClient(t, api)
	now := testNow
	s := testStream(c, "onedrive", "dlp", now)
	s.now = func() time.Time { return now }
	q := engine.Query{Since: testNow.Add(-time.Hour)}

	_, err := s.Fetch(context.Background(), q)
	require.Error(t, err)
	refuse.Store("")
	page, err := s.Fetch(context.Background(), q)
	require.NoError(t, err, "a time-range refusal does not pause the pair")
	require.Len(t, page.Records, 1)

	refuse.Store(`Invalid parameter: service "onedrive" is not supported`)
	_, err = s.Fetch(context.Background(), q)
	require.Error(t, err)
	refuse.Store("")
	seen := len(api.seen())
	page, err = s.Fetch(context.Background(), q)
	require.NoError(t, err)
	assert.Empty(t, page.Records)
	assert.Len(t, api.seen(), seen, "a paused pair sends nothing")

	now = now.Add(retryDisabledEvery)
	page, err = s.Fetch(context.Background(), q)
	require.NoError(t, err)
	assert.Len(t, page.Records, 1, "tried again after an hour")
}
