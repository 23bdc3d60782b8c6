package ciscogta

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient/apiclienttest"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

func TestAlertStatusNormalizedFromBothShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"id":"a","status":{"value":"New"}}`:    "new",
		`{"id":"a","status":{"value":"Open"}}`:   "in_progress",
		`{"id":"a","status":{"value":"Closed"}}`: "closed",
		`{"id":"a","state":"Remediated"}`:        "closed",
		`{"id":"a","state":"Open"}`:              "in_progress",
		`{"id":"a","state":"Escalated"}`:         "",
	} {
		r := convertAlert(apiclienttest.Object(t, body), "CTA1")
		assert.Equal(t, want, r.Str(record.AttrStatus), body)
	}
	assert.False(t, isOpen("Ignored"))
	assert.True(t, isOpen("Escalated"), "an unknown status is still open")
}

func TestFlowNormalized(t *testing.T) {
	r := convertFlow(apiclienttest.Object(t, `{"id":"f1","timeStamp":"2026-11-22T23:09:39.347Z","sourceIp":"10.33.116.103",
		"destinationIp":"203.0.113.130","destinationPort":53,"protocol":"UDP","bytesSent":239167,"bytesReceived":59937}`), "CTA1")
	assert.Equal(t, map[string]any{
		AttrEventType:                 "flow",
		record.AttrSourceAddress:      "10.33.116.103",
		record.AttrDestinationAddress: "203.0.113.130",
		record.AttrDestinationPort:    int64(53),
		record.AttrNetworkTransport:   "udp",
		record.AttrSourceBytes:        int64(239167),
		record.AttrDestinationBytes:   int64(59937),
	}, r.Attributes)
}

func TestDetectionAndEventNameTheirHost(t *testing.T) {
	d := convertDetection(apiclienttest.Object(t, `{"id":"d1","title":"Emotet banking trojan","affectedAssetId":"asset-7"}`), "CTA1")
	assert.Equal(t, map[string]any{AttrRuleName: "Emotet banking trojan", record.AttrHostID: "asset-7"}, d.Attributes)
	assert.Equal(t, "Emotet banking trojan", d.Title)
	e := convertEvent(apiclienttest.Object(t, `{"id":"e1","title":"Beaconing to a remote host","affectedAssetId":"asset-7"}`), "CTA1")
	assert.Equal(t, "asset-7", e.Str(record.AttrHostID))
	assert.Equal(t, "Beaconing to a remote host", e.Title)
}
