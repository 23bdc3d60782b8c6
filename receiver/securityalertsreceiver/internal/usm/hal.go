package usm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
)

// HALPage is a Spring Data REST page as USM Anywhere serves its lists (and a USM Central server
// may answer a search): items under _embedded, the next page under _links, counts under page.
type HALPage struct {
	next     string // _links.next.href
	Embedded map[string][]any
	Page     struct {
		Number        int
		Size          int
		TotalElements int64
	}
	// Counted says the answer had a page object, so TotalElements is the API's count.
	Counted bool
}

// Read fills p from a decoded answer (apiclient.DecodeDocument), refusing the fields it knows
// when they have the wrong type: a list that is not a list is a malformed page, not an empty one.
func (p *HALPage) Read(doc any) error {
	m, err := apiclient.Object(doc)
	if err != nil {
		return err
	}
	links, err := apiclient.Field[map[string]any](m, "_links")
	if err != nil {
		return err
	}
	next, err := apiclient.Field[map[string]any](links, "next")
	if err != nil {
		return err
	}
	if p.next, err = apiclient.Field[string](next, "href"); err != nil {
		return err
	}
	embedded, err := apiclient.Field[map[string]any](m, "_embedded")
	if err != nil {
		return err
	}
	p.Embedded = make(map[string][]any, len(embedded))
	for key := range embedded {
		if p.Embedded[key], err = apiclient.Field[[]any](embedded, key); err != nil {
			return err
		}
	}
	page, err := apiclient.Field[map[string]any](m, "page")
	if err != nil {
		return err
	}
	_, p.Counted = page["totalElements"]
	number, err1 := intField(page, "number")
	size, err2 := intField(page, "size")
	total, err3 := intField(page, "totalElements")
	p.Page.Number, p.Page.Size, p.Page.TotalElements = int(number), int(size), total
	return errors.Join(err1, err2, err3)
}

func intField(m map[string]any, key string) (int64, error) {
	n, err := apiclient.Field[json.Number](m, key)
	if err != nil || n == "" {
		return 0, err
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return i, nil
}

// Items returns the list under the first of keys present in _embedded: the servers name the same
// list differently (events, eventResources).
func (p *HALPage) Items(keys ...string) []any {
	for _, key := range keys {
		if list, ok := p.Embedded[key]; ok {
			return list
		}
	}
	return nil
}

// NextHref is the next page's link, empty on the last page.
func (p *HALPage) NextHref() string { return p.next }
