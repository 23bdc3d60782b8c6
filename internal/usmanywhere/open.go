package usmanywhere

import (
	"context"
	"net/url"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/record"
)

// openLabels are the priority labels USM Anywhere gives alarms.
var openLabels = []record.Severity{record.SeverityLow, record.SeverityMedium, record.SeverityHigh}

// OpenAlarms counts the tenant's open alarms by priority, from page.totalElements of a one-item
// page per label: the server does not honour several priority_label values in one request.
func OpenAlarms(ctx context.Context, api *apiclient.Client) (map[record.Severity]int64, error) {
	counts := make(map[record.Severity]int64, len(openLabels))
	for _, label := range openLabels {
		u := api.URL(alarms.path, url.Values{
			"status": {"open"}, "priority_label": {string(label)}, "page": {"0"}, "size": {"1"},
		})
		body, err := api.Get(ctx, u)
		if err != nil {
			return nil, err
		}
		var resp struct {
			Page struct {
				TotalElements int64 `json:"totalElements"`
			} `json:"page"`
		}
		if err := apiclient.DecodeJSON(u, body, &resp); err != nil {
			return nil, err
		}
		counts[label] = resp.Page.TotalElements
	}
	return counts, nil
}
