// Package ciscogta reads alerts, threat detections, events and flows from the Cisco Global
// Threat Alerts (formerly Cognitive Intelligence) API.
//
// Every collection is cursor-paged: {items, pageInfo{hasNextPage, endCursor, next}}. Like
// Cisco's own client, the next request is built from endCursor (after=<endCursor>) rather than
// from pageInfo.next, which Cisco says may go away and which POST searches never carry.
package ciscogta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/cenkalti/backoff/v5"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// Source is the source key of the public contract.
const Source = "cisco_gta"

// MePath tells an API client who it is, including its customer id.
const MePath = "/auth/api-clients/me"

// MaxPageSize is the API's limit on size (larger values are clamped by the server).
const MaxPageSize = 1000

// Client is one customer's API, shared by the source's streams.
type Client struct {
	api        *apiclient.Client
	onDiscover func(customerID string)

	mu         sync.Mutex
	customerID string
}

// NewClient returns a client for customerID; when it is empty, the id is discovered at first use
// from /auth/api-clients/me and reported to onDiscover (which may be nil).
func NewClient(api *apiclient.Client, customerID string, onDiscover func(customerID string)) *Client {
	return &Client{api: api, customerID: customerID, onDiscover: onDiscover}
}

// CustomerID returns the configured customer id, or the discovered one. A failed discovery is
// tried again at the next call.
func (c *Client) CustomerID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.customerID != "" {
		return c.customerID, nil
	}
	u := c.api.URL(MePath, nil)
	body, err := c.api.Get(ctx, u)
	if err != nil {
		return "", fmt.Errorf("discovering the customer id (set customer_id to skip this): %w", err)
	}
	var me struct {
		Identity map[string]any `json:"identity"`
	}
	if err := apiclient.DecodeJSON(u, body, &me); err != nil {
		return "", err
	}
	id := record.String(me.Identity, "customerId", "customer_id")
	if id == "" {
		return "", backoff.Permanent(errors.New(MePath + " names no identity.customerId: set customer_id"))
	}
	c.customerID = id
	if c.onDiscover != nil {
		c.onDiscover(id)
	}
	return id, nil
}

// path is a resource path under the customer, e.g. /alert-management/customer/{id}/alerts.
func (c *Client) path(ctx context.Context, area, resource string) (customerID, path string, err error) {
	id, err := c.CustomerID(ctx)
	if err != nil {
		return "", "", err
	}
	return id, "/" + area + "/customer/" + url.PathEscape(id) + "/" + resource, nil
}

// request is one collection request: GET with params, or POST with params and a JSON body.
type request struct {
	path   string
	params url.Values
	body   any // nil: GET
}

// page is one answer of a collection.
type page struct {
	items []any
	// next is the cursor of the following page; empty when this is the last one.
	next string
	// end is the endCursor, the position after this page (a modification sequence number when
	// sorted by it); empty when the server sent none.
	end string
}

// wirePage is a collection answer: {items, pageInfo{hasNextPage, next, endCursor}}.
type wirePage struct {
	items       []any
	hasNextPage bool
	next        string
	endCursor   any
}

// read takes the page from a decoded answer (apiclient.DecodeDocument); a field of the wrong
// type makes the answer malformed.
func (w *wirePage) read(doc any) error {
	m, err := apiclient.Object(doc)
	if err != nil {
		return err
	}
	info, err1 := apiclient.Field[map[string]any](m, "pageInfo")
	var err2, err3, err4 error
	w.items, err2 = apiclient.Field[[]any](m, "items")
	w.hasNextPage, err3 = apiclient.Field[bool](info, "hasNextPage")
	w.next, err4 = apiclient.Field[string](info, "next")
	w.endCursor = info["endCursor"]
	return errors.Join(err1, err2, err3, err4)
}

// fetch sends req starting after cursor (empty: from the beginning).
func (c *Client) fetch(ctx context.Context, req request, after string) (page, error) {
	params := url.Values{}
	for k, vs := range req.params {
		params[k] = append([]string(nil), vs...)
	}
	if after != "" {
		params.Set("after", after)
	}
	u := c.api.URL(req.path, params)
	var body []byte
	var err error
	if req.body == nil {
		body, err = c.api.Get(ctx, u)
	} else {
		var payload []byte
		if payload, err = json.Marshal(req.body); err != nil {
			return page{}, backoff.Permanent(err)
		}
		body, err = c.api.Do(ctx, http.MethodPost, u, "application/json", payload)
	}
	if err != nil {
		return page{}, err
	}
	var w wirePage
	if err := apiclient.DecodeDocument(u, body, w.read); err != nil {
		return page{}, err
	}
	p := page{items: w.items, end: cursorString(w.endCursor)}
	if !w.hasNextPage {
		return p, nil
	}
	if p.next, err = c.nextCursor(p.end, w.next); err != nil {
		return p, err
	}
	if p.next == after {
		// The server repeats the position it was asked from: its items are those of the page
		// that led there, already delivered. Nothing goes out, and the walk ends there.
		return page{end: after}, backoff.Permanent(fmt.Errorf("%s: the server answered the cursor it was asked with (%s) again; its page is not emitted twice", req.path, after))
	}
	return p, nil
}

// nextCursor is endCursor, or else the after parameter of the next link (checked to stay on the
// endpoint's origin: a link elsewhere is refused whatever it carries).
func (c *Client) nextCursor(end, next string) (string, error) {
	if end != "" {
		return end, nil
	}
	if next != "" {
		resolved, err := c.api.Resolve(next)
		if err != nil {
			return "", err
		}
		if u, err := url.Parse(resolved); err == nil && u.Query().Get("after") != "" {
			return u.Query().Get("after"), nil
		}
	}
	return "", backoff.Permanent(errors.New("pageInfo says hasNextPage but gives no endCursor to continue from"))
}

// each walks every page of req, handing over the items of each.
func (c *Client) each(ctx context.Context, req request, fn func(items []any)) error {
	after := ""
	for {
		p, err := c.fetch(ctx, req, after)
		if err != nil {
			return err
		}
		fn(p.items)
		if p.next == "" {
			return nil
		}
		after = p.next
	}
}

// cursorString reads a cursor sent as a string or, for sequence numbers, possibly a number.
func cursorString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// isNotFound tells a 404, the API's answer for an alert that was removed.
func isNotFound(err error) bool {
	var he *apiclient.HTTPError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}
