package usmcentral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/usm"
)

// searchRequest is the body of an alarms or events search. Pages are 1-based.
type searchRequest struct {
	Page int                 `json:"page"`
	Size int                 `json:"size"`
	Find map[string][]string `json:"find"`
	Sort map[string]string   `json:"sort,omitempty"`
	// Range bounds a field: {"alarm.timestamp_occured": {"gte": "<epoch ms>", "lte": "now"}}.
	Range map[string]map[string]string `json:"range,omitempty"`
}

// rangeRequest asks for 1-based page of the records of l occurred within [from, to] (to zero:
// until now), oldest first. The server ignores a range on timestamp_received silently, so the
// walk is keyed on timestamp_occured (its spelling), which the records' times are read from too.
func rangeRequest(l list, find map[string][]string, from, to time.Time, page, size int) searchRequest {
	field := l.kind + ".timestamp_occured"
	lte := "now"
	if !to.IsZero() {
		lte = strconv.FormatInt(to.UnixMilli(), 10)
	}
	return searchRequest{
		Page: page, Size: size, Find: find,
		Sort:  map[string]string{field: "asc"},
		Range: map[string]map[string]string{field: {"gte": strconv.FormatInt(from.UnixMilli(), 10), "lte": lte}},
	}
}

// searchAnswer is what a search returned: its items and how many match in all.
type searchAnswer struct {
	items []any
	// total is -1 when the answer does not say; capped says it is a lower bound (Elasticsearch
	// stops counting at its track_total_hits limit and answers "relation": "gte").
	total  int64
	capped bool
	// more is set when the answer says itself that a page follows (a HAL next link).
	more bool
}

// answer is what the console answers a search or a listing with: {results, total}, or a HAL page.
type answer struct {
	usm.HALPage
	Results []any
	Total   any
}

func (a *answer) Read(doc any) error {
	m, err := apiclient.Object(doc)
	if err != nil {
		return err
	}
	a.Total = m["total"]
	if a.Results, err = apiclient.Field[[]any](m, "results"); err != nil {
		return err
	}
	return a.HALPage.Read(doc)
}

// search posts req to path. The API answers {"results": [...], "total": N}; a server answering
// USM Anywhere's HAL page (_embedded, page.totalElements) is read too.
func search(ctx context.Context, api *apiclient.Client, path string, l list, req searchRequest) (searchAnswer, error) {
	if req.Find == nil {
		req.Find = map[string][]string{} // the public clients always send a find object
	}
	body, err := json.Marshal(req)
	if err != nil {
		return searchAnswer{}, err
	}
	u := api.URL(path, nil)
	raw, err := api.Do(ctx, http.MethodPost, u, "application/json", body)
	if pastResultWindow(err) {
		return searchAnswer{}, backoff.Permanent(fmt.Errorf("%w: %w", engine.ErrPastResultWindow, err))
	}
	if err != nil {
		return searchAnswer{}, err
	}
	var resp answer
	if err := apiclient.DecodeDocument(u, raw, resp.Read); err != nil {
		return searchAnswer{}, err
	}
	if resp.Results != nil || resp.Total != nil {
		ans := searchAnswer{items: resp.Results, total: -1}
		// Elasticsearch 7 writes the total as {"value": N, "relation": "eq" | "gte"}.
		if total, ok := record.Int(map[string]any{"total": resp.Total}, "total"); ok {
			ans.total = total
		}
		if m, ok := resp.Total.(map[string]any); ok {
			if total, ok := record.Int(m, "value"); ok {
				ans.total = total
			}
			ans.capped = strings.EqualFold(record.String(m, "relation"), "gte")
		}
		return ans, nil
	}
	ans := searchAnswer{items: resp.Items(l.embedded...), total: -1, more: resp.NextHref() != ""}
	if resp.Counted {
		ans.total = resp.Page.TotalElements
	}
	return ans, nil
}

// ResultWindow is how deep Elasticsearch pages a search by default (index.max_result_window):
// page × size beyond it is refused with a 400.
const ResultWindow = 10_000

// pastResultWindow tells Elasticsearch's refusal of a page too deep in a result set.
func pastResultWindow(err error) bool {
	var he *apiclient.HTTPError
	return errors.As(err, &he) && he.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(he.Detail), "result window")
}
