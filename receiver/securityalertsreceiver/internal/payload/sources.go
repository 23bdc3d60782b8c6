package payload

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/ciscogta"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/trendcas"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usmanywhere"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usmcentral"
)

// source builds a vendor's streams, by list name, as the receiver does.
type source struct {
	source string
	lists  []string
	build  func(endpoint string, hc *http.Client) (map[string]engine.Stream, error)
}

var sources = []source{
	{usmanywhere.Source, []string{"alarms", "events"}, func(endpoint string, hc *http.Client) (map[string]engine.Stream, error) {
		api, err := newAPI(endpoint, hc, endpoint+usmanywhere.TokenPath)
		if err != nil {
			return nil, err
		}
		on := usmanywhere.StreamConfig{Enabled: true}
		return byList(usmanywhere.NewStreams(api, usmanywhere.Config{PageSize: bigPage, Alarms: on, Events: on}))
	}},
	{usmcentral.Source, []string{"alarms", "events"}, func(endpoint string, hc *http.Client) (map[string]engine.Stream, error) {
		api, err := newAPI(endpoint, hc, endpoint+usmcentral.TokenPath)
		if err != nil {
			return nil, err
		}
		dir := usmcentral.NewDirectory(api, usmcentral.DirectoryConfig{RefreshEvery: 1 << 30})
		return byList(usmcentral.NewStreams(api, dir, usmcentral.Config{
			PageSize: bigPage,
			Alarms:   usmcentral.StreamConfig{Enabled: true, Path: usmcentral.DefaultAlarmsPath},
			Events:   usmcentral.StreamConfig{Enabled: true, Path: usmcentral.DefaultEventsPath},
		}))
	}},
	// Events without enrichment: enrichment is further requests (measured by the drain), not
	// conversion.
	{ciscogta.Source, []string{"alerts", "threat_detections", "events"}, func(endpoint string, hc *http.Client) (map[string]engine.Stream, error) {
		api, err := newAPI(endpoint, hc, endpoint+"/iroh/oauth2/token")
		if err != nil {
			return nil, err
		}
		on := ciscogta.StreamConfig{Enabled: true}
		return byList(ciscogta.NewStreams(ciscogta.NewClient(api, "", nil), // the customer id is asked for, and recorded
			ciscogta.Config{PageSize: bigPage, Alerts: on, ThreatDetections: on, Events: on}))
	}},
	{trendcas.Source, []string{"exchange/securityrisk"}, func(endpoint string, hc *http.Client) (map[string]engine.Stream, error) {
		hc.Transport = bearer{hc.Transport}
		api, err := newAPI(endpoint, hc, "")
		if err != nil {
			return nil, err
		}
		quota := trendcas.NewQuota(1<<30, 1<<30)
		client := trendcas.NewClient(api, quota, zap.NewNop())
		return byList(client.Streams(trendcas.Config{Services: []string{"exchange"}, Events: []string{"securityrisk"}, Limit: trendPage}))
	}},
}

// byList keys streams by their name without the source, e.g. "alarms".
func byList(streams []engine.Stream) (map[string]engine.Stream, error) {
	out := make(map[string]engine.Stream, len(streams))
	for _, s := range streams {
		out[s.Name()[len(s.Source())+1:]] = s
	}
	return out, nil
}

// newAPI is a client of endpoint with OAuth2 client credentials from tokenURL (none if empty).
func newAPI(endpoint string, hc *http.Client, tokenURL string) (*apiclient.Client, error) {
	o := apiclient.Options{Endpoint: endpoint, HTTPClient: hc}
	if tokenURL != "" {
		o.Credentials = apiclient.NewClientCredentials(hc, tokenURL, "sim-client", "sim-secret", time.Minute)
	}
	return apiclient.New(o)
}

// bearer sends the simulator's Trend token, as the receiver's static header does.
type bearer struct{ next http.RoundTripper }

func (t bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer sim-trend-token")
	return t.next.RoundTrip(r)
}
