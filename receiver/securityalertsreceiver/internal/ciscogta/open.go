package ciscogta

import (
	"context"
	"net/url"
	"strconv"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// riskLevels are the risks Cisco gives alerts; each is reported, at zero when no alert has it.
var riskLevels = []record.Severity{record.SeverityLow, record.SeverityMedium, record.SeverityHigh, record.SeverityCritical}

// OpenAlerts counts the customer's alerts that are not closed, by risk. The API has no count, so
// it walks the alerts at the largest page size: a customer has hundreds of alerts, not millions.
func OpenAlerts(ctx context.Context, c *Client) (tenant string, counts map[record.Severity]int64, err error) {
	tenant, path, err := c.path(ctx, "alert-management", "alerts")
	if err != nil {
		return "", nil, err
	}
	counts = make(map[record.Severity]int64, len(riskLevels))
	for _, s := range riskLevels {
		counts[s] = 0
	}
	req := request{path: path, params: url.Values{"size": {strconv.Itoa(MaxPageSize)}}}
	err = c.each(ctx, req, func(items []any) {
		for _, obj := range objects(items) {
			if isOpen(alertStatus(obj)) {
				counts[riskSeverity(record.String(obj, "risk"))]++
			}
		}
	})
	if err != nil {
		return "", nil, err
	}
	return tenant, counts, nil
}
