package simulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// alertKey places an alert in a sort order; its cursor is "<label>,<id>", as the API's
// "High,32c43ccb-…" cursors are.
type alertKey struct {
	rank  int64
	label string
	id    string
}

func (k alertKey) cursor() string { return k.label + "," + k.id }

func compareKeys(a, b alertKey) int {
	return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id))
}

// alertOrder is one sort of the alerts list: triggeredAt:asc, or by default riskiest first.
type alertOrder struct {
	key    func(a *ciscoAlertState) alertKey
	rankOf func(label string) (int64, bool)
}

var (
	byTriggered = alertOrder{
		key: func(a *ciscoAlertState) alertKey {
			return alertKey{a.triggered, ciscoTime(time.UnixMilli(a.triggered)), a.fields["id"].(string)}
		},
		rankOf: func(label string) (int64, bool) {
			t, err := time.Parse(time.RFC3339, label)
			return t.UnixMilli(), err == nil
		},
	}
	byRisk = alertOrder{
		key: func(a *ciscoAlertState) alertKey {
			risk := a.fields["risk"].(string)
			return alertKey{-int64(ciscoRiskRank[risk]), risk, a.fields["id"].(string)}
		},
		rankOf: func(label string) (int64, bool) {
			r, ok := ciscoRiskRank[label]
			return -int64(r), ok
		},
	}
)

// listAlerts serves the alerts list: filtered by triggeredAfter, modifiedAfter (both exclusive),
// risk and status, in the requested order, after the cursor.
func (w *ciscoWorld) listAlerts(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, ok := ciscoSize(q)
	order := byRisk
	switch q.Get("sort") {
	case "":
	case "triggeredAt:asc":
		order = byTriggered
	default:
		ok = false
	}
	var after *alertKey
	if v := q.Get("after"); v != "" {
		label, id, found := strings.Cut(v, ",")
		rank, valid := order.rankOf(label)
		ok = ok && found && valid
		after = &alertKey{rank: rank, id: id}
	}
	triggeredAfter, okT := ciscoTimeParam(q, "triggeredAfter")
	modifiedAfter, okM := ciscoTimeParam(q, "modifiedAfter")
	if !ok || !okT || !okM {
		ciscoWriteError(rw, r, http.StatusBadRequest, "invalid size, sort, after, triggeredAfter or modifiedAfter")
		return
	}
	type keyed struct {
		key    alertKey
		fields map[string]any
	}
	var matched []keyed
	w.mu.Lock()
	w.sync(time.Now())
	for _, a := range w.alerts {
		if a.triggered <= triggeredAfter || a.modified <= modifiedAfter ||
			!ciscoMatches(q["risk"], a.fields["risk"].(string)) || !ciscoMatches(q["status"], ciscoStatus(a.fields)) {
			continue
		}
		if k := order.key(a); after == nil || compareKeys(k, *after) > 0 {
			matched = append(matched, keyed{k, a.fields})
		}
	}
	w.mu.Unlock()
	slices.SortFunc(matched, func(a, b keyed) int { return compareKeys(a.key, b.key) })
	page := matched[:min(size, len(matched))]
	items := make([]map[string]any, len(page))
	for i, m := range page {
		items[i] = m.fields // replaced, never changed in place, when the alert changes
	}
	start, end := "", ""
	if len(page) > 0 {
		start, end = page[0].key.cursor(), page[len(page)-1].key.cursor()
	}
	w.s.writeCiscoPage(rw, r, items, start, end, len(matched) > len(page))
}

func (w *ciscoWorld) getAlert(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	w.sync(time.Now())
	a, ok := w.alertByID[r.PathValue("id")]
	w.mu.Unlock()
	if !ok {
		ciscoWriteError(rw, r, http.StatusNotFound, "Alert not found")
		return
	}
	writeJSON(rw, http.StatusOK, a.fields)
}

// searchAlerts and searchDetections are the bulk resources: the objects of the ids in the
// body's filter that exist, paged by their position.
func (w *ciscoWorld) searchAlerts(rw http.ResponseWriter, r *http.Request) {
	w.search(rw, r, "alertIds", func(id string) (map[string]any, bool) {
		a, ok := w.alertByID[id]
		if !ok {
			return nil, false
		}
		return a.fields, true
	})
}

func (w *ciscoWorld) searchDetections(rw http.ResponseWriter, r *http.Request) {
	w.search(rw, r, "threatDetectionIds", func(id string) (map[string]any, bool) {
		o, ok := w.byID[id]
		if !ok {
			return nil, false
		}
		return o.render("alertIds"), true
	})
}

func (w *ciscoWorld) search(rw http.ResponseWriter, r *http.Request, key string, find func(id string) (map[string]any, bool)) {
	q := r.URL.Query()
	size, ok := ciscoSize(q)
	offset, err := strconv.Atoi(cmp.Or(q.Get("after"), "0"))
	var body struct {
		Filter map[string][]string `json:"filter"`
	}
	if !ok || err != nil || offset < 0 || json.NewDecoder(r.Body).Decode(&body) != nil {
		ciscoWriteError(rw, r, http.StatusBadRequest, "invalid size, after or body")
		return
	}
	var found []map[string]any
	w.mu.Lock()
	w.sync(time.Now())
	for _, id := range body.Filter[key] {
		if obj, ok := find(id); ok {
			found = append(found, obj)
		}
	}
	w.mu.Unlock()
	page := found[min(offset, len(found)):min(offset+size, len(found))]
	start, end := "", ""
	if len(page) > 0 {
		start, end = strconv.Itoa(offset+1), strconv.Itoa(offset+len(page))
	}
	w.s.writeCiscoPage(rw, r, page, start, end, offset+len(page) < len(found))
}

// sequence serves a collection in modification sequence order after the numbered cursor;
// linkKey, when set, adds the objects' parents (the enriched resources). Filters are accepted
// and not applied.
func (w *ciscoWorld) sequence(list *seqList, linkKey string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, ok := ciscoSize(q)
		after, err := strconv.ParseInt(cmp.Or(q.Get("after"), "0"), 10, 64)
		if s := q.Get("sort"); s != "" && s != "modificationSequenceNumber" {
			ok = false
		}
		if r.Method == http.MethodPost {
			var body struct {
				Filter map[string]any `json:"filter"`
			}
			if derr := json.NewDecoder(r.Body).Decode(&body); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		if !ok || err != nil {
			ciscoWriteError(rw, r, http.StatusBadRequest, "invalid size, sort, after or body")
			return
		}
		w.mu.Lock()
		w.sync(time.Now())
		objs, more := list.after(after, size)
		items := make([]map[string]any, len(objs))
		for i, o := range objs {
			items[i] = o.render(linkKey)
		}
		w.mu.Unlock()
		start, end := "", ""
		if len(objs) > 0 {
			start, end = strconv.FormatInt(objs[0].msn, 10), strconv.FormatInt(objs[len(objs)-1].msn, 10)
		}
		w.s.writeCiscoPage(rw, r, items, start, end, more)
	}
}

func ciscoTimeParam(q url.Values, name string) (int64, bool) {
	v := q.Get(name)
	if v == "" {
		return -1 << 62, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t.UnixMilli(), err == nil
}

// ciscoMatches is true when want is empty or holds got (case-insensitively).
func ciscoMatches(want []string, got string) bool {
	return len(want) == 0 || slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, got) })
}
