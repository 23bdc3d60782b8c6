package securityalertsreceiver

import (
	"net/http"

	"go.opentelemetry.io/collector/receiver"
)

// instanceHeader carries the collector's service.instance.id on every API request when the user
// set send_instance_id, so that the vendor (and the bundled simulator) can tell the replicas of
// a scaled-out deployment apart. Token requests never carry it.
const instanceHeader = "X-Collector-Instance"

// withInstanceHeader makes hc send instanceHeader, when the collector has an instance id.
func withInstanceHeader(hc *http.Client, set receiver.Settings) {
	id, ok := set.Resource.Attributes().Get("service.instance.id")
	if !ok || id.Str() == "" {
		return
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = headerTransport{base: base, value: id.Str()}
}

type headerTransport struct {
	base  http.RoundTripper
	value string
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not modify the request it is given.
	req = req.Clone(req.Context())
	req.Header.Set(instanceHeader, t.value)
	return t.base.RoundTrip(req)
}
