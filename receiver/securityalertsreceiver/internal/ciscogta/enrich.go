package ciscogta

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/apiclient"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

const (
	// maxBulkIDs is the most ids one bulk search is sent, as in Cisco's own client.
	maxBulkIDs = 1000
	// Parents are cached this long and this many of each: long enough that a page of events
	// sharing a detection costs one lookup, short enough that a changed risk shows soon.
	parentCacheTTL  = 5 * time.Minute
	parentCacheSize = 10_000
)

// detection is what an event needs of a parent threat detection; nil caches "not found".
type detection struct {
	title    string
	alertIDs []string
}

// alertRef is what an event needs of a parent alert; nil caches "removed".
type alertRef struct{ risk string }

// enricher links events to their parent threat detections and alerts with the bulk resources
// Cisco provides, so that a convicting event carries its alert's id and risk and its detection's
// title, and a contextual event says it has no parent.
type enricher struct {
	c          *Client
	detections *cache[*detection]
	alerts     *cache[*alertRef]
}

func newEnricher(c *Client) *enricher {
	return &enricher{
		c:          c,
		detections: newCache[*detection](parentCacheSize, parentCacheTTL),
		alerts:     newCache[*alertRef](parentCacheSize, parentCacheTTL),
	}
}

// events annotates events (as converted by convertEvent) in place.
func (e *enricher) events(ctx context.Context, events []record.Record) error {
	var detectionIDs []string
	for _, ev := range events {
		detectionIDs = append(detectionIDs, idList(ev.Body["threatDetectionIds"])...)
	}
	detections, err := lookup(ctx, e.detections, detectionIDs, e.loadDetections)
	if err != nil {
		return err
	}
	var alertIDs []string
	for _, d := range detections {
		if d != nil {
			alertIDs = append(alertIDs, d.alertIDs...)
		}
	}
	alerts, err := lookup(ctx, e.alerts, alertIDs, e.loadAlerts)
	if err != nil {
		return err
	}
	for i := range events {
		annotate(&events[i], detections, alerts)
	}
	return nil
}

func annotate(ev *record.Record, detections map[string]*detection, alerts map[string]*alertRef) {
	tds := idList(ev.Body["threatDetectionIds"])
	if len(tds) == 0 {
		ev.Attributes[AttrEventType] = "contextual"
		return
	}
	ev.Attributes[AttrEventType] = "convicting"
	ev.Attributes[AttrDetectionID] = strings.Join(tds, ",")
	var titles, alertIDs []string
	for _, id := range tds {
		if d := detections[id]; d != nil {
			titles = appendNew(titles, d.title)
			for _, a := range d.alertIDs {
				alertIDs = appendNew(alertIDs, a)
			}
		}
	}
	if len(titles) > 0 {
		ev.Attributes[AttrRuleName] = strings.Join(titles, "; ")
	}
	if len(alertIDs) > 0 {
		ev.Attributes[AttrAlertID] = strings.Join(alertIDs, ",")
	}
	for _, id := range alertIDs {
		a := alerts[id]
		if a == nil {
			continue
		}
		if s := riskSeverity(a.risk); ev.SeverityText == "" || s.RiskWeight() > ev.Severity.RiskWeight() {
			ev.Severity, ev.SeverityText = s, a.risk
			ev.Attributes[AttrAlertRisk] = a.risk
		}
	}
}

// lookup returns the value of every id, from the cache or else from load, which must answer
// every id it is given (nil for "not found") and is given at most maxBulkIDs at a time.
func lookup[V any](ctx context.Context, c *cache[V], ids []string, load func(context.Context, []string) (map[string]V, error)) (map[string]V, error) {
	out := make(map[string]V, len(ids))
	var missing []string
	asked := make(map[string]bool, len(ids))
	for _, id := range ids {
		if asked[id] {
			continue
		}
		asked[id] = true
		if v, ok := c.get(id); ok {
			out[id] = v
		} else {
			missing = append(missing, id)
		}
	}
	for chunk := range slices.Chunk(missing, maxBulkIDs) {
		loaded, err := load(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, id := range chunk {
			out[id] = loaded[id]
			c.put(id, loaded[id])
		}
	}
	return out, nil
}

func (e *enricher) loadDetections(ctx context.Context, ids []string) (map[string]*detection, error) {
	_, path, err := e.c.path(ctx, "alert-management", "enriched-threat-detections-with-alert-ids/search")
	if err != nil {
		return nil, err
	}
	found := map[string]*detection{}
	err = e.c.each(ctx, bulk(path, "threatDetectionIds", ids), func(items []any) {
		for _, obj := range objects(items) {
			found[record.String(obj, "id")] = &detection{title: record.String(obj, "title", "name"), alertIDs: idList(obj["alertIds"])}
		}
	})
	return found, err
}

// loadAlerts asks the bulk search first. An alert it does not return is asked for by id: a 404
// means it was removed (all its detections timed out), which is cached like any answer.
func (e *enricher) loadAlerts(ctx context.Context, ids []string) (map[string]*alertRef, error) {
	_, path, err := e.c.path(ctx, "alert-management", "alerts")
	if err != nil {
		return nil, err
	}
	found := map[string]*alertRef{}
	err = e.c.each(ctx, bulk(path+"/search", "alertIds", ids), func(items []any) {
		for _, obj := range objects(items) {
			found[record.String(obj, "id")] = &alertRef{risk: record.String(obj, "risk")}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := found[id]; ok {
			continue
		}
		u := e.c.api.URL(path+"/"+url.PathEscape(id), nil)
		body, err := e.c.api.Get(ctx, u)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := apiclient.DecodeJSON(u, body, &obj); err != nil {
			return nil, err
		}
		found[id] = &alertRef{risk: record.String(obj, "risk")}
	}
	return found, nil
}

func bulk(path, key string, ids []string) request {
	return request{
		path:   path,
		params: url.Values{"size": {strconv.Itoa(maxBulkIDs)}},
		body:   map[string]any{"filter": map[string]any{key: ids}},
	}
}

// objects drops the items that are not objects: what is not an alert or detection links nothing.
func objects(items []any) []map[string]any {
	objs, _ := record.Objects(items)
	return objs
}

// idList reads a JSON list of ids (strings or numbers).
func idList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		if id := cursorString(item); id != "" {
			out = appendNew(out, id)
		}
	}
	return out
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
