package usmcentral

import (
	"context"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

// OpenAlarms counts the console's open alarms by priority: the total of a one-item search per
// label. The count spans every deployment: the find keys known to work filter on the alarm, and
// none is known to filter on the tenant.
func OpenAlarms(ctx context.Context, api *apiclient.Client, path string) (map[record.Severity]int64, error) {
	counts := make(map[record.Severity]int64, len(usm.OpenLabels))
	for _, label := range usm.OpenLabels {
		ans, err := search(ctx, api, path, alarms, searchRequest{Page: 1, Size: 1, Find: map[string][]string{
			"alarm.status": {"open"}, "alarm.priority_label": {string(label)},
		}})
		if err != nil {
			return nil, err
		}
		counts[label] = ans.total
	}
	return counts, nil
}
