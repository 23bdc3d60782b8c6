package ciscogta

import (
	"strings"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// flowNumbers are a flow's integer fields by attribute: bytesSent went from the source to the
// destination, bytesReceived back.
var flowNumbers = [][2]string{
	{record.AttrSourcePort, "sourcePort"},
	{record.AttrDestinationPort, "destinationPort"},
	{record.AttrSourceBytes, "bytesSent"},
	{record.AttrDestinationBytes, "bytesReceived"},
}

// normalizeFlow sets a flow's endpoints, ports, transport and bytes per direction.
func normalizeFlow(r *record.Record, obj map[string]any) {
	r.SetField(record.AttrSourceAddress, obj, "sourceIp")
	r.SetField(record.AttrDestinationAddress, obj, "destinationIp")
	for _, m := range flowNumbers {
		if n, ok := record.Int(obj, m[1]); ok {
			r.SetInt(m[0], n)
		}
	}
	r.SetString(record.AttrNetworkTransport, strings.ToLower(record.String(obj, "protocol")))
}
