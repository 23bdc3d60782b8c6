package usm

// HALPage is a Spring Data REST page as USM Anywhere serves its lists (and a USM Central server
// may answer a search): items under _embedded, the next page under _links, counts under page.
type HALPage struct {
	Links struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"_links"`
	Embedded map[string][]any `json:"_embedded"`
	Page     struct {
		Number        int   `json:"number"`
		Size          int   `json:"size"`
		TotalElements int64 `json:"totalElements"`
	} `json:"page"`
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
func (p *HALPage) NextHref() string {
	if p.Links.Next == nil {
		return ""
	}
	return p.Links.Next.Href
}
