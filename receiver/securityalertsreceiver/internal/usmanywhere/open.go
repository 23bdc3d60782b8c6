package usmanywhere

import (
	"context"
	"net/url"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

// OpenAlarms counts the tenant's open alarms by priority, from page.totalElements of a one-item
// page per label: the server does not honour several priority_label values in one request.
func OpenAlarms(ctx context.Context, api *apiclient.Client) (map[record.Severity]int64, error) {
	counts := make(map[record.Severity]int64, len(usm.OpenLabels))
	for _, label := range usm.OpenLabels {
		u := api.URL(alarms.path, url.Values{
			"status": {"open"}, "priority_label": {string(label)}, "page": {"0"}, "size": {"1"},
		})
		body, err := api.Get(ctx, u)
		if err != nil {
			return nil, err
		}
		var resp usm.HALPage
		if err := apiclient.DecodeDocument(u, body, resp.Read); err != nil {
			return nil, err
		}
		counts[label] = resp.Page.TotalElements
	}
	return counts, nil
}
