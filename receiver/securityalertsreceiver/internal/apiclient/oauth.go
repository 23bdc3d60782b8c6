package apiclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentials is an OAuth2 client-credentials token cache. The client id and secret go
// only to TokenURL, in an HTTP Basic header as every vendor here expects; the token goes only to
// the API's origin (see Client).
type ClientCredentials struct {
	config       clientcredentials.Config
	http         *http.Client
	refreshEarly time.Duration

	mu      sync.Mutex
	token   *oauth2.Token
	fetched time.Time
}

// NewClientCredentials returns credentials that refresh refreshEarly before the token expires,
// so that a request never leaves with a token about to lapse in flight.
func NewClientCredentials(hc *http.Client, tokenURL, clientID, clientSecret string, refreshEarly time.Duration) *ClientCredentials {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	origin, err := url.Parse(tokenURL)
	if err != nil {
		origin = nil // every redirect refused; the token request itself reports the bad URL
	}
	return &ClientCredentials{
		config: clientcredentials.Config{
			ClientID: clientID, ClientSecret: clientSecret, TokenURL: tokenURL,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		http:         confineRedirects(hc, origin),
		refreshEarly: refreshEarly,
	}
}

// Authorization returns "Bearer <token>". The scheme is written capitalised whatever the token
// response's token_type says: Cisco's API refuses "bearer".
func (c *ClientCredentials) Authorization(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == nil || c.dueForRefresh(time.Now()) {
		fetched := time.Now()
		tok, err := c.config.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
		if err != nil {
			return "", c.classifyTokenError(err)
		}
		c.token, c.fetched = tok, fetched
	}
	return "Bearer " + c.token.AccessToken, nil
}

// dueForRefresh is true within refreshEarly of expiry, but never earlier than half the token's
// lifetime: a server issuing short tokens must not get a token request per API request.
func (c *ClientCredentials) dueForRefresh(now time.Time) bool {
	if c.token.Expiry.IsZero() {
		return false
	}
	margin := min(c.refreshEarly, c.token.Expiry.Sub(c.fetched)/2)
	return now.After(c.token.Expiry.Add(-margin))
}

// Invalidate drops the cached token if it is the one refused. Several streams may see the same
// 401; only the first forces a new token.
func (c *ClientCredentials) Invalidate(refused string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != nil && "Bearer "+c.token.AccessToken == refused {
		c.token = nil
	}
}

// classifyTokenError makes rejected credentials permanent (retrying cannot fix a wrong secret)
// and keeps server-side and network failures retryable. The token endpoint's answer is part of
// the message, minus the client secret should the server echo it.
func (c *ClientCredentials) classifyTokenError(err error) error {
	var foreign *ForeignOriginError
	if errors.As(err, &foreign) {
		return permanent(foreign)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &TokenError{Err: err}
	}
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.config.ClientID) + ":" + url.QueryEscape(c.config.ClientSecret)))
	status := re.Response.StatusCode
	refusal := &TokenError{Status: status, Err: fmt.Errorf("token request refused: HTTP %d: %s", status, scrub(re.Error(), c.config.ClientSecret, basic))}
	if refusal.Refused() {
		return permanent(refusal)
	}
	return refusal
}
