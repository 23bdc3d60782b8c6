package simulator

import (
	"sync"
	"time"
)

// CredentialUsage is what one API credential sent one vendor, summed over every client using it
// (the replicas of a scaled-out collector share one), as the vendor counts it against its limits.
type CredentialUsage struct {
	// Requests counts every request sent with the credential: token requests and data requests.
	Requests int64 `json:"requests"`
	// DataRequests counts the record-serving requests among them, including those refused by
	// a rate limit or quota, as every request that arrives counts against the limit.
	DataRequests int64 `json:"data_requests"`
	// MaxDataPerSecond and MaxDataPerMinute are the most data requests that arrived within any
	// one second and any 60 seconds (sliding windows, by arrival time).
	MaxDataPerSecond int `json:"max_data_per_second"`
	MaxDataPerMinute int `json:"max_data_per_minute"`
}

// usage counts requests per vendor and credential.
type usage struct {
	now func() time.Time // time.Now; read under mu, so that arrivals are logged in order

	mu    sync.Mutex
	byKey map[usageKey]*credentialLog
}

// usageKey is a vendor's source and a credential: an OAuth2 client id, Trend's token, or "" for
// requests without a valid one.
type usageKey struct{ source, credential string }

type credentialLog struct {
	CredentialUsage
	// recent are the arrival times of the data requests of the last minute, oldest first; the
	// last second's start at inSecond. Nothing older is kept: memory is bounded by the rate.
	recent   []time.Time
	inSecond int
}

func newUsage() *usage { return &usage{now: time.Now, byKey: make(map[usageKey]*credentialLog)} }

func (u *usage) log(source, credential string) *credentialLog {
	k := usageKey{source, credential}
	l, ok := u.byKey[k]
	if !ok {
		l = &credentialLog{}
		u.byKey[k] = l
	}
	return l
}

func (u *usage) token(source, credential string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.log(source, credential).Requests++
}

// data counts a data request arriving now. The busiest window of any length ends at an arrival,
// so updating the maxima at each arrival finds the busiest of all.
func (u *usage) data(source, credential string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	l := u.log(source, credential)
	l.Requests++
	l.DataRequests++
	drop := 0
	for drop < len(l.recent) && !l.recent[drop].Add(time.Minute).After(now) {
		drop++
	}
	l.recent = append(l.recent[drop:], now)
	l.inSecond = max(l.inSecond-drop, 0)
	for !l.recent[l.inSecond].Add(time.Second).After(now) {
		l.inSecond++
	}
	l.MaxDataPerMinute = max(l.MaxDataPerMinute, len(l.recent))
	l.MaxDataPerSecond = max(l.MaxDataPerSecond, len(l.recent)-l.inSecond)
}

// snapshot returns the usage by source, then credential.
func (u *usage) snapshot() map[string]map[string]CredentialUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]map[string]CredentialUsage)
	for k, l := range u.byKey {
		if out[k.source] == nil {
			out[k.source] = make(map[string]CredentialUsage)
		}
		out[k.source][k.credential] = l.CredentialUsage
	}
	return out
}
