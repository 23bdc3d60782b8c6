package simulator

import (
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

var (
	errNoToken      = errors.New("full authentication is required to access this resource")
	errUnknownToken = errors.New("invalid access token")
	errExpiredToken = errors.New("access token expired")
)

// tokenIssuer hands out opaque bearer tokens that expire after their lifetime or when revoked.
type tokenIssuer struct {
	// ttl, when set (Options.TokenTTL), overrides every vendor's documented lifetime.
	ttl time.Duration

	mu     sync.Mutex
	tokens map[string]issuedToken
	issued int64
	// credentialsRevoked refuses every token while set, so that a token issued just as the
	// credentials were revoked cannot outlive the revocation.
	credentialsRevoked bool
}

type issuedToken struct {
	clientID string
	expires  time.Time
}

func newTokenIssuer(ttl time.Duration) *tokenIssuer {
	return &tokenIssuer{ttl: ttl, tokens: make(map[string]issuedToken)}
}

// lifetime is how long the vendor's tokens last: Options.TokenTTL, or else documented.
func (t *tokenIssuer) lifetime(documented time.Duration) time.Duration {
	if t.ttl > 0 {
		return t.ttl
	}
	return documented
}

// issue returns a new token for clientID, valid for ttl, and a random id for it (an OAuth2 jti).
func (t *tokenIssuer) issue(clientID string, ttl time.Duration) (token, jti string) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, per its documentation
	token, jti = rand.Text(), formatUUID(b)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	// Dropping expired tokens here bounds the map in long runs; a dropped token is refused
	// as unknown instead of expired, which is still a 401.
	for k, v := range t.tokens {
		if !now.Before(v.expires) {
			delete(t.tokens, k)
		}
	}
	t.tokens[token] = issuedToken{clientID: clientID, expires: now.Add(ttl)}
	t.issued++
	return token, jti
}

// expiresIn is a token lifetime in whole seconds as token responses state it, at least 1:
// OAuth2 clients read 0 as "never expires".
func expiresIn(ttl time.Duration) int {
	return max(int(ttl/time.Second), 1)
}

// check returns the client a valid token was issued to.
func (t *tokenIssuer) check(token string) (clientID string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.tokens[token]
	switch {
	case !ok || t.credentialsRevoked:
		return "", errUnknownToken
	case !time.Now().Before(it.expires):
		return "", errExpiredToken
	}
	return it.clientID, nil
}

func (t *tokenIssuer) revokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.tokens)
}

// setCredentialsRevoked revokes the API credentials, and with them every token issued so far,
// or restores them; restored credentials get new tokens, the old ones stay revoked.
func (t *tokenIssuer) setCredentialsRevoked(revoked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.credentialsRevoked = revoked
	if revoked {
		clear(t.tokens)
	}
}

func (t *tokenIssuer) revokedCredentials() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.credentialsRevoked
}

func (t *tokenIssuer) issuedCount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// bearerToken reads "Authorization: Bearer <token>"; the scheme is case-insensitive (RFC 9110).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}
