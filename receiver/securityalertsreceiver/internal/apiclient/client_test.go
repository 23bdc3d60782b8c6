package apiclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

const (
	testClientID     = "client-id"
	testClientSecret = "client-s3cr3t"
	testTokenPath    = "/oauth/token"
	// testQuerySecret travels in a query string; it must never reach an error message.
	testQuerySecret = "query-s3cr3t"
)

// newServer starts an httptest server (bound to 127.0.0.1) closed at the end of the test.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// tokenIssuer answers client-credentials token requests with tok-1, tok-2, … after checking
// that the client id and secret came in an HTTP Basic header. With refuse set it answers that
// status instead.
type tokenIssuer struct {
	t      *testing.T
	refuse int
	issued atomic.Int32
}

func (ti *tokenIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if ti.refuse != 0 {
		w.WriteHeader(ti.refuse)
		_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	id, secret, ok := r.BasicAuth()
	assert.True(ti.t, ok, "token request without HTTP Basic credentials: %q", r.Header.Get("Authorization"))
	assert.Equal(ti.t, testClientID, id)
	assert.Equal(ti.t, testClientSecret, secret)
	assert.Equal(ti.t, http.MethodPost, r.Method)
	assert.NoError(ti.t, r.ParseForm())
	assert.Equal(ti.t, "client_credentials", r.PostForm.Get("grant_type"))
	assert.Empty(ti.t, r.PostForm.Get("client_secret"), "the secret must travel only in the Basic header")
	n := ti.issued.Add(1)
	// Lower-case token_type on purpose: the Authorization header must still say "Bearer".
	_, _ = fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":3600}`, n)
}

// apiServer is an endpoint serving tokens at testTokenPath and handing every other request to
// api, after recording its Authorization header.
type apiServer struct {
	*httptest.Server
	issuer *tokenIssuer
	mu     sync.Mutex
	auths  []string
}

func newAPIServer(t *testing.T, api http.HandlerFunc) *apiServer {
	t.Helper()
	s := &apiServer{issuer: &tokenIssuer{t: t}}
	mux := http.NewServeMux()
	mux.Handle(testTokenPath, s.issuer)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		api(w, r)
	})
	s.Server = newServer(t, mux)
	return s
}

func (s *apiServer) authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// observed records what Options.Observe is told.
type observed struct {
	mu       sync.Mutex
	statuses []int
}

func (o *observed) observe(status int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took < 0 {
		panic("negative duration")
	}
	o.statuses = append(o.statuses, status)
}

func (o *observed) get() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.statuses...)
}

// newClient returns a Client for srv with client-credentials auth at srv's token path.
func newClient(t *testing.T, srv *httptest.Server, mutate ...func(*Options)) *Client {
	t.Helper()
	o := Options{
		Endpoint:    srv.URL,
		HTTPClient:  srv.Client(),
		Credentials: NewClientCredentials(srv.Client(), srv.URL+testTokenPath, testClientID, testClientSecret, time.Minute),
	}
	for _, m := range mutate {
		m(&o)
	}
	c, err := New(o)
	require.NoError(t, err)
	return c
}

func TestNewValidatesEndpoint(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://example.test", true},
		{"http://127.0.0.1:8080/base/", true},
		{"", false},
		{"example.test", false},
		{"ftp://example.test", false},
		{"http://", false},
		{"://bad", false},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			_, err := New(Options{Endpoint: tc.endpoint})
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestURLJoinsPathAndQueryOntoEndpoint(t *testing.T) {
	c, err := New(Options{Endpoint: "https://tenant.example.test/base/"})
	require.NoError(t, err)
	assert.Equal(t, "tenant.example.test", c.Host())
	assert.Equal(t, "https://tenant.example.test/base/api/2.0/alarms?page=0&sort=a%2Cb",
		c.URL("/api/2.0/alarms", url.Values{"sort": {"a,b"}, "page": {"0"}}))
	assert.Equal(t, "https://tenant.example.test/base/x", c.URL("/x", nil))
}

func TestTokenFetchedWithBasicAuthAndSentAsBearer(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) })
	c := newClient(t, srv.Server)

	for range 3 {
		body, err := c.Get(context.Background(), c.URL("/api/things", url.Values{"a": {"1"}}))
		require.NoError(t, err)
		assert.JSONEq(t, `{"ok":true}`, string(body))
	}
	assert.EqualValues(t, 1, srv.issuer.issued.Load(), "the token is cached")
	assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-1"}, srv.authorizations())
}

func TestTokenReusedUntilRefreshWindowThenRefreshed(t *testing.T) {
	issuer := &tokenIssuer{t: t}
	srv := newServer(t, issuer)
	cc := NewClientCredentials(srv.Client(), srv.URL+testTokenPath, testClientID, testClientSecret, time.Minute)
	ctx := context.Background()

	auth := func() string {
		t.Helper()
		a, err := cc.Authorization(ctx)
		require.NoError(t, err)
		return a
	}
	// age pretends the hour-long token was fetched long ago and has only left to live.
	age := func(left time.Duration) {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		cc.token.Expiry = time.Now().Add(left)
		cc.fetched = cc.token.Expiry.Add(-time.Hour)
	}

	assert.Equal(t, "Bearer tok-1", auth())
	assert.Equal(t, "Bearer tok-1", auth())
	age(2 * time.Minute) // outside the one-minute refresh window
	assert.Equal(t, "Bearer tok-1", auth())
	assert.EqualValues(t, 1, issuer.issued.Load())

	age(50 * time.Second) // inside it
	assert.Equal(t, "Bearer tok-2", auth())
	assert.Equal(t, "Bearer tok-2", auth())
	assert.EqualValues(t, 2, issuer.issued.Load())
}

func TestDueForRefresh(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration // zero: the token has no expiry
		left     time.Duration
		early    time.Duration
		want     bool
	}{
		{"no expiry is never refreshed", 0, 0, time.Minute, false},
		{"fresh hour-long token", time.Hour, 59 * time.Minute, time.Minute, false},
		{"just outside the window", time.Hour, 61 * time.Second, time.Minute, false},
		{"inside the window", time.Hour, 59 * time.Second, time.Minute, true},
		{"expired", time.Hour, -time.Second, time.Minute, true},
		{"short token: window capped at half its life (not yet)", 10 * time.Second, 6 * time.Second, time.Minute, false},
		{"short token: window capped at half its life (due)", 10 * time.Second, 4 * time.Second, time.Minute, true},
		{"no early refresh configured", time.Hour, time.Second, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ClientCredentials{refreshEarly: tc.early, token: tokenFor(now, tc.lifetime, tc.left)}
			c.fetched = c.token.Expiry.Add(-tc.lifetime)
			assert.Equal(t, tc.want, c.dueForRefresh(now))
		})
	}
}

func TestUnauthorizedRefreshesCredentialsOnceAndRetries(t *testing.T) {
	for _, tc := range []struct {
		name         string
		unauthorized int32 // API answers 401 to this many requests, then 200
		wantErr      bool
		wantAuths    []string
	}{
		{"one 401 then success", 1, false, []string{"Bearer tok-1", "Bearer tok-2"}},
		{"second 401 is permanent", 1000, true, []string{"Bearer tok-1", "Bearer tok-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if calls.Add(1) <= tc.unauthorized {
					http.Error(w, "token expired", http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, `{}`)
			})
			var obs observed
			c := newClient(t, srv.Server, func(o *Options) { o.Observe = obs.observe })

			_, err := c.Get(context.Background(), c.URL("/api/things", nil))
			assert.Equal(t, tc.wantAuths, srv.authorizations(), "exactly one refresh and one retry")
			assert.EqualValues(t, 2, srv.issuer.issued.Load())
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, []int{401, 200}, obs.get())
				return
			}
			require.Error(t, err)
			assert.True(t, IsPermanent(err), "a 401 surviving a refresh is permanent: %v", err)
			var he *HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusUnauthorized, he.Status)
			assert.Equal(t, "token expired", he.Detail)
			assert.Equal(t, []int{401, 401}, obs.get())
		})
	}
}

func TestUnauthorizedWithoutCredentialsIsPermanent(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	c, err := New(Options{Endpoint: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
	_, err = c.Get(context.Background(), c.URL("/x", nil))
	assert.True(t, IsPermanent(err), "%v", err)
	assert.EqualValues(t, 1, calls.Load())
}

func TestInvalidateOnlyDropsTheRefusedToken(t *testing.T) {
	issuer := &tokenIssuer{t: t}
	srv := newServer(t, issuer)
	cc := NewClientCredentials(srv.Client(), srv.URL+testTokenPath, testClientID, testClientSecret, time.Minute)
	ctx := context.Background()

	first, err := cc.Authorization(ctx)
	require.NoError(t, err)
	cc.Invalidate(first)
	second, err := cc.Authorization(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-2", second)

	// Another stream reporting the old token's 401 late must not throw away the new one.
	cc.Invalidate(first)
	third, err := cc.Authorization(ctx)
	require.NoError(t, err)
	assert.Equal(t, second, third)
	assert.EqualValues(t, 2, issuer.issued.Load())
}

func TestTokenEndpointFailures(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusUnauthorized, true},
		{http.StatusBadRequest, true},
		{http.StatusForbidden, true},
		{http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{}`) })
			srv.issuer.refuse = tc.status
			c := newClient(t, srv.Server)

			_, err := c.Get(context.Background(), c.URL("/api/things", nil))
			require.Error(t, err)
			assert.Equal(t, tc.permanent, IsPermanent(err), "%v", err)
			var te *TokenError
			require.ErrorAs(t, err, &te, "the failure is the token request's")
			assert.Equal(t, tc.status, te.Status)
			assert.Equal(t, tc.permanent, te.Refused())
			assert.Contains(t, err.Error(), "token request refused: HTTP "+strconv.Itoa(tc.status), "the message says the endpoint's answer")
			assert.NotContains(t, err.Error(), testClientSecret)
			assert.Empty(t, srv.authorizations(), "no API request without a token")
		})
	}
}

func TestTokenEndpointRedirects(t *testing.T) {
	foreign := newForeignServer(t)
	issuer := &tokenIssuer{t: t}
	mux := http.NewServeMux()
	mux.Handle("/moved/token", issuer)
	mux.HandleFunc("/same-origin/token", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/token", http.StatusTemporaryRedirect)
	})
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		mux.HandleFunc(fmt.Sprintf("/foreign-%d/token", code), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, foreign.URL+"/token?x="+testQuerySecret, code)
		})
	}
	srv := newServer(t, mux)

	cc := NewClientCredentials(srv.Client(), srv.URL+"/same-origin/token", testClientID, testClientSecret, time.Minute)
	auth, err := cc.Authorization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-1", auth, "a redirect within the token URL's origin is followed")

	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		cc := NewClientCredentials(srv.Client(), fmt.Sprintf("%s/foreign-%d/token", srv.URL, code), testClientID, testClientSecret, time.Minute)
		_, err := cc.Authorization(context.Background())
		var fe *ForeignOriginError
		require.ErrorAs(t, err, &fe, "HTTP %d", code)
		assert.True(t, IsPermanent(err))
		assert.NotContains(t, err.Error(), testQuerySecret)
	}
	assert.Zero(t, foreign.hits.Load(), "the client secret was sent to another origin")
	assert.Nil(t, foreign.auth.Load())
}

func TestClientCredentialsWithoutHTTPClient(t *testing.T) {
	srv := newServer(t, &tokenIssuer{t: t})
	cc := NewClientCredentials(nil, srv.URL+testTokenPath, testClientID, testClientSecret, time.Minute)
	auth, err := cc.Authorization(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-1", auth)
}

func TestStatusClassification(t *testing.T) {
	future := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		permanent  bool
		// wantRetryAfter bounds the Retry-After seen through errors.As (both zero: none).
		minRetryAfter, maxRetryAfter time.Duration
	}{
		{"429 with delay seconds", http.StatusTooManyRequests, "2", false, 2 * time.Second, 2 * time.Second},
		{"429 with HTTP date", http.StatusTooManyRequests, future, false, time.Second, 3 * time.Second},
		{"429 without Retry-After", http.StatusTooManyRequests, "", false, 0, 0},
		{"503 with Retry-After", http.StatusServiceUnavailable, "7", false, 7 * time.Second, 7 * time.Second},
		{"500", http.StatusInternalServerError, "", false, 0, 0},
		{"502", http.StatusBadGateway, "", false, 0, 0},
		{"408", http.StatusRequestTimeout, "", false, 0, 0},
		{"404", http.StatusNotFound, "", true, 0, 0},
		{"400", http.StatusBadRequest, "", true, 0, 0},
		{"403", http.StatusForbidden, "", true, 0, 0},
		{"3xx without Location", http.StatusNotModified, "", true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				if tc.status != http.StatusNotModified {
					_, _ = io.WriteString(w, "  vendor says no \n")
				}
			})
			c := newClient(t, srv.Server)

			_, err := c.Get(context.Background(), c.URL("/api/things", nil))
			require.Error(t, err)
			assert.Equal(t, tc.permanent, IsPermanent(err), "%v", err)

			var he *HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tc.status, he.Status)
			assert.Equal(t, http.MethodGet, he.Method)
			assert.Equal(t, srv.URL+"/api/things", he.URL)
			if tc.status != http.StatusNotModified {
				assert.Equal(t, "vendor says no", he.Detail)
			}

			var ra *backoff.RetryAfterError
			if tc.maxRetryAfter == 0 {
				assert.False(t, errors.As(err, &ra), "no Retry-After expected, got %v", ra)
				return
			}
			require.ErrorAs(t, err, &ra)
			assert.GreaterOrEqual(t, ra.Duration, tc.minRetryAfter)
			assert.LessOrEqual(t, ra.Duration, tc.maxRetryAfter)
			assert.Contains(t, err.Error(), "retry after")
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		assert.Equal(t, tc.want, parseRetryAfter(tc.in, now), "%q", tc.in)
	}
}

func TestHTTPErrorDetailIsCapped(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, strings.Repeat("x", 2000))
	})
	c := newClient(t, srv.Server)
	_, err := c.Get(context.Background(), c.URL("/x", nil))
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, strings.Repeat("x", maxDetail)+"…", he.Detail)
}

func TestResolve(t *testing.T) {
	c, err := New(Options{Endpoint: "https://tenant.example.test/api/2.0"})
	require.NoError(t, err)
	for _, tc := range []struct {
		link    string
		want    string // empty: refused as foreign
		badLink bool
	}{
		{"/api/2.0/alarms?page=1&size=2", "https://tenant.example.test/api/2.0/alarms?page=1&size=2", false},
		{"https://tenant.example.test/api/2.0/alarms?page=1", "https://tenant.example.test/api/2.0/alarms?page=1", false},
		{"https://TENANT.example.test:443/x", "https://TENANT.example.test:443/x", false},
		{"alarms?page=1", "https://tenant.example.test/api/alarms?page=1", false},
		{"https://evil.example.test/api/2.0/alarms?page=1", "", false},
		{"//evil.example.test/api/2.0/alarms", "", false},
		{"http://tenant.example.test/api/2.0/alarms", "", false},
		{"https://tenant.example.test:8443/api/2.0/alarms", "", false},
		{"https://tenant.example.test.evil.example/x", "", false},
		{"https://tenant.example.test/%zz?api_key=" + testQuerySecret, "", true},
	} {
		t.Run(tc.link, func(t *testing.T) {
			got, err := c.Resolve(tc.link)
			switch {
			case tc.badLink:
				require.Error(t, err)
				assert.True(t, IsPermanent(err), "the same page would carry the same link: %v", err)
				assert.NotContains(t, err.Error(), testQuerySecret)
			case tc.want == "":
				var foreign *ForeignOriginError
				require.ErrorAs(t, err, &foreign)
				assert.True(t, IsPermanent(err), "a foreign link is never worth retrying: %v", err)
				assert.NotContains(t, err.Error(), "page=1", "no query string in the message")
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

// foreignServer is another origin (same host, other port) that must never see a request.
type foreignServer struct {
	*httptest.Server
	hits atomic.Int32
	auth atomic.Value
}

func newForeignServer(t *testing.T) *foreignServer {
	f := &foreignServer{}
	f.Server = newServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.auth.Store(r.Header.Get("Authorization"))
	}))
	return f
}

func TestGetOfForeignURLIsRefusedWithoutRequest(t *testing.T) {
	foreign := newForeignServer(t)
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{}`) })
	var obs observed
	c := newClient(t, srv.Server, func(o *Options) { o.Observe = obs.observe })

	for _, target := range []string{
		foreign.URL + "/api/things?api_key=" + testQuerySecret,
		strings.Replace(srv.URL, "http://", "https://", 1) + "/api/things",
		"/api/things",
	} {
		_, err := c.Get(context.Background(), target)
		var fe *ForeignOriginError
		require.ErrorAs(t, err, &fe, target)
		assert.True(t, IsPermanent(err))
		assert.NotContains(t, err.Error(), testQuerySecret)
	}
	assert.Zero(t, foreign.hits.Load(), "the foreign server saw a request")
	assert.Nil(t, foreign.auth.Load())
	assert.Zero(t, srv.issuer.issued.Load(), "no token fetched for a refused request")
	assert.Empty(t, obs.get(), "no request, nothing observed")
}

func TestRedirects(t *testing.T) {
	foreign := newForeignServer(t)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-foreign":
			http.Redirect(w, r, foreign.URL+"/steal?api_key="+testQuerySecret, http.StatusFound)
		case "/to-same-origin":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/final":
			_, _ = io.WriteString(w, `"final"`)
		}
	})
	c := newClient(t, srv.Server)

	body, err := c.Get(context.Background(), c.URL("/to-same-origin", nil))
	require.NoError(t, err)
	assert.Equal(t, `"final"`, string(body))
	assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-1"}, srv.authorizations(), "a same-origin redirect keeps the token")

	_, err = c.Get(context.Background(), c.URL("/to-foreign", nil))
	var fe *ForeignOriginError
	require.ErrorAs(t, err, &fe)
	assert.True(t, IsPermanent(err))
	assert.Equal(t, foreign.URL+"/steal", fe.URL)
	assert.NotContains(t, err.Error(), testQuerySecret)
	assert.Zero(t, foreign.hits.Load(), "the redirect was followed")
	assert.Nil(t, foreign.auth.Load())
}

func TestTooManyRedirectsStop(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop?api_key="+testQuerySecret, http.StatusFound)
	}))
	c, err := New(Options{Endpoint: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
	_, err = c.Get(context.Background(), c.URL("/loop", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirects")
	assert.NotContains(t, err.Error(), testQuerySecret)
}

func TestBodyIsCapped(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", map[string]int{"/ten": 10, "/eleven": 11, "/huge": 1 << 20}[r.URL.Path]))
	})
	c := newClient(t, srv.Server, func(o *Options) { o.MaxBodyBytes = 10 })

	body, err := c.Get(context.Background(), c.URL("/ten", nil))
	require.NoError(t, err)
	assert.Len(t, body, 10)

	for _, path := range []string{"/eleven", "/huge"} {
		_, err = c.Get(context.Background(), c.URL(path, url.Values{"api_key": {testQuerySecret}}))
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), "exceeds 10 bytes")
		assert.True(t, IsPermanent(err))
		assert.NotContains(t, err.Error(), testQuerySecret)
	}
}

func TestDefaultBodyCap(t *testing.T) {
	c, err := New(Options{Endpoint: "https://example.test"})
	require.NoError(t, err)
	assert.EqualValues(t, DefaultMaxBodyBytes, c.maxBody)
}

func TestObserveIsToldEveryRequest(t *testing.T) {
	var calls atomic.Int32
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusUnauthorized)
		case 2:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	var obs observed
	c := newClient(t, srv.Server, func(o *Options) { o.Observe = obs.observe })
	_, err := c.Get(context.Background(), c.URL("/a", nil))
	require.NoError(t, err)
	_, err = c.Get(context.Background(), c.URL("/b", nil))
	require.Error(t, err)
	assert.Equal(t, []int{401, 200, 429}, obs.get())

	// Connection error: nothing listens any more at the endpoint.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	var deadObs observed
	dc, err := New(Options{Endpoint: dead.URL, Observe: deadObs.observe})
	require.NoError(t, err)
	_, err = dc.Get(context.Background(), dc.URL("/api/things", url.Values{"api_key": {testQuerySecret}}))
	require.Error(t, err)
	assert.False(t, IsPermanent(err), "a connection error is retryable: %v", err)
	assert.Equal(t, []int{0}, deadObs.get())
}

func TestErrorMessagesCarryNoQueryStringOrSecret(t *testing.T) {
	foreign := newForeignServer(t)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, "internal trouble", http.StatusInternalServerError)
		case "/404":
			http.Error(w, "no such thing", http.StatusNotFound)
		case "/redirect":
			http.Redirect(w, r, foreign.URL+"/x?api_key="+testQuerySecret, http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		}
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	q := url.Values{"api_key": {testQuerySecret}, "priority_label": {"high"}}

	c := newClient(t, srv.Server)
	timeoutClient := newClient(t, srv.Server, func(o *Options) {
		hc := *srv.Client()
		hc.Timeout = 50 * time.Millisecond
		o.HTTPClient = &hc
	})
	deadClient, err := New(Options{Endpoint: dead.URL})
	require.NoError(t, err)
	refused := newAPIServer(t, func(http.ResponseWriter, *http.Request) {})
	refused.issuer.refuse = http.StatusUnauthorized
	refusedClient := newClient(t, refused.Server)

	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"500", func() error { _, err := c.Get(context.Background(), c.URL("/500", q)); return err }},
		{"404", func() error { _, err := c.Get(context.Background(), c.URL("/404", q)); return err }},
		{"redirect to foreign", func() error { _, err := c.Get(context.Background(), c.URL("/redirect", q)); return err }},
		{"foreign URL", func() error { _, err := c.Get(context.Background(), foreign.URL+"/x?"+q.Encode()); return err }},
		{"connection refused", func() error { _, err := deadClient.Get(context.Background(), deadClient.URL("/x", q)); return err }},
		{"client timeout", func() error {
			_, err := timeoutClient.Get(context.Background(), timeoutClient.URL("/slow", q))
			return err
		}},
		{"token refused", func() error {
			_, err := refusedClient.Get(context.Background(), refusedClient.URL("/x", q))
			return err
		}},
		{"unparsable URL", func() error {
			_, err := c.Get(context.Background(), srv.URL+"/%zz?"+q.Encode())
			return err
		}},
		{"malformed body", func() error { return DecodeJSON(c.URL("/x", q), []byte("{oops"), &struct{}{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			require.Error(t, err)
			msg := err.Error()
			for _, leak := range []string{testQuerySecret, "api_key", "priority_label", testClientSecret, "tok-"} {
				assert.NotContains(t, msg, leak)
			}
		})
	}
}

func TestLimiterIsWaitedOn(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	c, err := New(Options{Endpoint: srv.URL, HTTPClient: srv.Client(), Limiter: lim})
	require.NoError(t, err)

	_, err = c.Get(context.Background(), c.URL("/x", nil))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Get(ctx, c.URL("/x", nil))
	require.Error(t, err, "the burst is spent: the second request waits on the limiter")
	assert.EqualValues(t, 1, calls.Load())
}

func TestDoSendsMethodBodyAndContentType(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "application/json", r.Header.Get("Accept"))
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	c, err := New(Options{Endpoint: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
	body, err := c.Do(context.Background(), http.MethodPost, c.URL("/echo", nil), "application/json", []byte(`{"q":1}`))
	require.NoError(t, err)
	assert.Equal(t, `{"q":1}`, string(body))
}

// tokenFor returns a token with left to live, or without expiry when lifetime is zero.
func tokenFor(now time.Time, lifetime, left time.Duration) *oauth2.Token {
	tok := &oauth2.Token{AccessToken: "t", TokenType: "bearer"}
	if lifetime != 0 {
		tok.Expiry = now.Add(left)
	}
	return tok
}

// Some servers echo the request in their error pages; what they echo must not reach our errors
// (and so our logs).
func TestEchoedCredentialsAreScrubbedFromErrors(t *testing.T) {
	const clientSecret = "s3cret-client-value"
	var token string
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_, pass, _ := r.BasicAuth()
			if r.URL.Query().Get("refuse") != "" {
				http.Error(w, "bad client, secret was "+pass+" header was "+r.Header.Get("Authorization"), http.StatusUnauthorized)
				return
			}
			token = "tok-" + strings.Repeat("x", 20)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":900}`, token)
			return
		}
		http.Error(w, "upstream trouble for request with Authorization: "+r.Header.Get("Authorization"), http.StatusBadGateway)
	}))
	t.Cleanup(echo.Close)

	c, err := New(Options{Endpoint: echo.URL, HTTPClient: echo.Client(),
		Credentials: NewClientCredentials(echo.Client(), echo.URL+"/token", "id", clientSecret, time.Minute)})
	require.NoError(t, err)
	_, err = c.Get(context.Background(), c.URL("/alarms", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "upstream trouble", "the server's text is kept")
	assert.NotContains(t, err.Error(), token)
	assert.NotContains(t, err.Error(), "tok-")

	refused, err := New(Options{Endpoint: echo.URL, HTTPClient: echo.Client(),
		Credentials: NewClientCredentials(echo.Client(), echo.URL+"/token?refuse=1", "id", clientSecret, time.Minute)})
	require.NoError(t, err)
	_, err = refused.Get(context.Background(), refused.URL("/alarms", nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad client")
	assert.NotContains(t, err.Error(), clientSecret)
	assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString([]byte("id:"+clientSecret)))
}

func TestReadBodyCopiesOutOfItsPooledBuffer(t *testing.T) {
	first, err := readBody(strings.NewReader("first page"), 100)
	require.NoError(t, err)
	second, err := readBody(strings.NewReader("2nd"), 100)
	require.NoError(t, err)
	assert.Equal(t, "first page", string(first), "a later read leaves an earlier body alone")
	assert.Equal(t, "2nd", string(second))

	capped, err := readBody(strings.NewReader("0123456789"), 4)
	require.NoError(t, err)
	assert.Equal(t, "0123", string(capped))
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@tenant.example.test/api?token=x": "https://tenant.example.test/api",
		"http://127.0.0.1:8080":                             "http://127.0.0.1:8080",
		"::not a url":                                       "::not a url",
		"::not a url@user:pass":                             "(an unparsable URL)",
	} {
		assert.Equal(t, want, Redact(in), in)
	}
}

func TestNewDoesNotRepeatUserInfo(t *testing.T) {
	_, err := New(Options{Endpoint: "ftp://user:s3cr3t@example.test"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
}

func TestTruncateCutsOnACharacterBoundary(t *testing.T) {
	assert.Equal(t, "short", Truncate("short"))
	long := strings.Repeat("x", maxDetail-1) + "é and more"
	got := Truncate(long)
	assert.Equal(t, strings.Repeat("x", maxDetail-1)+"…", got)
	assert.True(t, utf8.ValidString(got))
}
