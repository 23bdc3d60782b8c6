package simulator

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Spring Data REST paging and HAL responses, as LevelBlue's APIs (USM Anywhere, USM Central)
// serve their lists.

const (
	defaultPageSize = 20
	maxPageSize     = 1000 // larger sizes are clamped, not refused
)

// pageRequest is Spring Data's Pageable: a 0-based page of size records in one sort order.
type pageRequest struct {
	page, size int
	desc       bool
	sort       string // the sort parameter links carry
}

// parsePageRequest reads page, size and sort ("field", "field,asc", "field, desc"). sortFields
// are the fields sort accepts; without sort the list is sorted by defaultSort.
func parsePageRequest(q url.Values, sortFields []string, defaultSort string) (pageRequest, error) {
	pr := pageRequest{size: defaultPageSize, sort: defaultSort}
	var err error
	if v := q.Get("page"); v != "" {
		if pr.page, err = parseJavaInt(v, 0); err != nil {
			return pr, fmt.Errorf("page: %w", err)
		}
	}
	if v := q.Get("size"); v != "" {
		if pr.size, err = parseJavaInt(v, 1); err != nil {
			return pr, fmt.Errorf("size: %w", err)
		}
		pr.size = min(pr.size, maxPageSize)
	}
	if v := q.Get("sort"); v != "" {
		pr.sort = v
	}
	field, dir, _ := strings.Cut(pr.sort, ",")
	if !slices.Contains(sortFields, strings.TrimSpace(field)) {
		return pr, fmt.Errorf("sort: cannot sort by %q", strings.TrimSpace(field))
	}
	switch strings.ToLower(strings.TrimSpace(dir)) {
	case "", "asc": // Spring sorts ascending when no direction is given
	case "desc":
		pr.desc = true
	default:
		return pr, fmt.Errorf("sort: direction %q is neither asc nor desc", strings.TrimSpace(dir))
	}
	return pr, nil
}

// parseJavaInt parses a Java int (the servers' type for page and size) of at least minimum.
func parseJavaInt(s string, minimum int) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || int(n) < minimum {
		return 0, fmt.Errorf("%q is not an integer of at least %d", s, minimum)
	}
	return int(n), nil
}

func (pr pageRequest) offset() int { return pr.page * pr.size }

type halLink struct {
	Href      string `json:"href"`
	Templated bool   `json:"templated"`
}

type halLinks struct {
	First *halLink `json:"first"`
	Self  *halLink `json:"self"`
	Next  *halLink `json:"next,omitempty"`
	Last  *halLink `json:"last"`
}

type halPageInfo struct {
	Size          int `json:"size"`
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
}

type halPage struct {
	Links halLinks `json:"_links"`
	// Embedded is left out of an empty page, as Spring HATEOAS does.
	Embedded map[string][]map[string]any `json:"_embedded,omitempty"`
	Page     halPageInfo                 `json:"page"`
}

// writeHALPage answers with one page of items out of total. Links keep every query parameter of
// the request, with page, size and sort set to what was served; next, present unless this is
// the last page, points to nextHost().
func writeHALPage(w http.ResponseWriter, r *http.Request, embeddedKey string, items []map[string]any, pr pageRequest, total int, nextHost func() string) {
	totalPages := (total + pr.size - 1) / pr.size
	params := r.URL.Query()
	params.Set("size", strconv.Itoa(pr.size))
	params.Set("sort", pr.sort)
	link := func(host string, page int) *halLink {
		params.Set("page", strconv.Itoa(page))
		// Commas stay unescaped, as in Spring's sort=field,dir links; RFC 3986 allows them.
		query := strings.ReplaceAll(params.Encode(), "%2C", ",")
		u := url.URL{Scheme: "http", Host: host, Path: r.URL.Path, RawQuery: query}
		return &halLink{Href: u.String()}
	}
	self := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	resp := halPage{
		Links: halLinks{
			First: link(r.Host, 0),
			Self:  &halLink{Href: self.String()},
			Last:  link(r.Host, max(totalPages-1, 0)),
		},
		Page: halPageInfo{Size: pr.size, TotalElements: total, TotalPages: totalPages, Number: pr.page},
	}
	if pr.page+1 < totalPages {
		resp.Links.Next = link(nextHost(), pr.page+1)
	}
	if len(items) > 0 {
		resp.Embedded = map[string][]map[string]any{embeddedKey: items}
	}
	writeJSONAs(w, "application/hal+json", http.StatusOK, resp)
}
