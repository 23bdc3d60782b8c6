package usmcentral

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/securityalerts/securityalerts/internal/apiclient"
	"github.com/securityalerts/securityalerts/internal/record"
	"github.com/securityalerts/securityalerts/internal/usm"
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

// walkRequest asks for page of the records of l occurred since, oldest first. The server ignores
// a range on timestamp_received silently, so the walk is keyed on timestamp_occured (its
// spelling), which the records' times are read from too.
func walkRequest(l list, find map[string][]string, since time.Time, page, size int) searchRequest {
	field := l.kind + ".timestamp_occured"
	return searchRequest{
		Page: page, Size: size, Find: find,
		Sort:  map[string]string{field: "asc"},
		Range: map[string]map[string]string{field: {"gte": strconv.FormatInt(since.UnixMilli(), 10), "lte": "now"}},
	}
}

// searchAnswer is what a search returned: its items and how many match in all.
type searchAnswer struct {
	items []any
	total int64
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
	if err != nil {
		return searchAnswer{}, err
	}
	var resp answer
	if err := apiclient.DecodeDocument(u, raw, resp.Read); err != nil {
		return searchAnswer{}, err
	}
	if resp.Results != nil || resp.Total != nil {
		// Elasticsearch 7 writes the total as {"value": N, "relation": "eq"}.
		total, _ := record.Int(map[string]any{"total": resp.Total}, "total")
		if m, ok := resp.Total.(map[string]any); ok {
			total, _ = record.Int(m, "value")
		}
		return searchAnswer{items: resp.Results, total: total}, nil
	}
	return searchAnswer{
		items: resp.Items(l.embedded...),
		total: resp.Page.TotalElements,
		more:  resp.NextHref() != "",
	}, nil
}
