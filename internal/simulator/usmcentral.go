package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// USM Central API 1.1 (LevelBlue): OAuth2 tokens as USM Anywhere's, the console's deployments as
// a bare JSON array, and alarms and events by POSTed searches (find, sort, range, 1-based page)
// answering {results, total}. The records are generated in usmcentral_records.go.

const usmCentral = "usm_central"

func init() {
	registerVendor(vendor{
		source: usmCentral,
		streams: map[string]stream{
			"alarm": {generate: centralAlarm, withoutID: centralWithoutID("alarm"), status: []string{"alarm", "status"}, clocked: true},
			"event": {generate: centralEvent, withoutID: centralWithoutID("event"), clocked: true},
		},
		// 100 GET and 50 POST per second per client; searches are POSTs, so the stricter limit.
		rateLimit:  50,
		writeError: usmWriteError,
		routes: func(s *Simulator, mux *http.ServeMux, e endpoints) {
			s.central = newCentralConsole()
			for kind := range s.stores {
				if kind.source == usmCentral {
					s.stores[kind].hold = s.central.hold // before anything arrives: New has not returned
				}
			}
			registerCentralControl(mux, s)
			mux.Handle("POST /api/1.1/oauth/token", e.token(usmToken(s)))
			mux.Handle("GET /api/1.1/deployments", e.data(centralDeploymentList(s)))
			mux.Handle("POST /api/1.1/alarms", e.data(centralSearch(s, "alarm")))
			mux.Handle("POST /api/1.1/events", e.data(centralSearch(s, "event")))
		},
	})
}

func centralDeploymentList(s *Simulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authorize(r); err != nil {
			usmUnauthorized(w, err)
			return
		}
		out := make([]map[string]any, len(centralDeployments))
		now := time.Now()
		for i, d := range centralDeployments {
			out[i] = d.json()
			if s.central.current(d.name, now) != nil {
				out[i]["connectionStatus"] = "disconnected"
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// centralSearchBody is a search request. Range maps a field to its bounds ("gte", "gt", "lte",
// "lt": epoch ms as strings or numbers, or "now").
type centralSearchBody struct {
	Page  *int                                  `json:"page"`
	Size  *int                                  `json:"size"`
	Find  map[string]json.RawMessage            `json:"find"`
	Sort  map[string]string                     `json:"sort"`
	Range map[string]map[string]json.RawMessage `json:"range"`
}

func centralSearch(s *Simulator, kind string) http.HandlerFunc {
	st := s.store(usmCentral, kind)
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authorize(r); err != nil {
			usmUnauthorized(w, err)
			return
		}
		var body centralSearchBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&body); err != nil {
			usmWriteError(w, r, http.StatusBadRequest, "JSON parse error: "+err.Error())
			return
		}
		q, err := centralQuery(body, kind)
		if err == nil {
			err = centralResultWindow(q, s.opts.CentralResultWindow)
		}
		if err != nil {
			usmWriteError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		records, total := st.page(q)
		items := make([]map[string]any, len(records))
		for i, rec := range records {
			items[i] = rec.fields
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": items, "total": centralTotal(total, s.opts.CentralTotalCap)})
	}
}

// centralResultWindow refuses, when window is positive, a page reaching beyond it, as
// Elasticsearch refuses from + size beyond index.max_result_window, whatever the total.
func centralResultWindow(q query, window int) error {
	if reach := q.offset + q.limit; window > 0 && reach > window {
		return fmt.Errorf("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. "+
			"See the scroll api for a more efficient way to request large data sets. "+
			"This limit can be set by changing the [index.max_result_window] index level setting.", window, reach)
	}
	return nil
}

// centralTotal is total as the search answers it: a number, or, when the cap is positive, as
// Elasticsearch 7 tracks hits: exact up to the cap, a lower bound beyond.
func centralTotal(total, limit int) any {
	if limit <= 0 {
		return total
	}
	if total > limit {
		return map[string]any{"value": limit, "relation": "gte"}
	}
	return map[string]any{"value": total, "relation": "eq"}
}

// centralQuery turns a search into a store query. Pages are 1-based. Only ranges on the kind's
// timestamp_occured (either spelling) bound the search: the real server silently ignores a
// range on timestamp_received, and so does this one.
func centralQuery(body centralSearchBody, kind string) (q query, err error) {
	page, size := 1, defaultPageSize
	if body.Page != nil {
		if page = *body.Page; page < 1 {
			return q, fmt.Errorf("page: %d is not a page number (pages start at 1)", page)
		}
	}
	if body.Size != nil {
		if size = *body.Size; size < 1 {
			return q, fmt.Errorf("size: %d is not a page size", size)
		}
		size = min(size, maxPageSize)
	}
	q = query{from: math.MinInt64, to: math.MaxInt64, offset: (page - 1) * size, limit: size, desc: true}
	timeFields := []string{kind + ".timestamp_occured", kind + ".timestamp_occurred"}
	for field, dir := range body.Sort {
		if !slices.Contains(timeFields, field) {
			return q, fmt.Errorf("sort: cannot sort by %q", field)
		}
		switch strings.ToLower(dir) {
		case "asc":
			q.desc = false
		case "desc":
		default:
			return q, fmt.Errorf("sort: direction %q is neither asc nor desc", dir)
		}
	}
	for field, bounds := range body.Range {
		if !slices.Contains(timeFields, field) {
			continue
		}
		if q.from, q.to, err = centralBounds(field, bounds, q.from, q.to); err != nil {
			return q, err
		}
	}
	q.match, err = centralFind(body.Find, kind)
	return q, err
}

func centralBounds(field string, bounds map[string]json.RawMessage, from, to int64) (int64, int64, error) {
	for op, raw := range bounds {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return 0, 0, fmt.Errorf("range.%s.%s: %w", field, op, err)
		}
		s := fmt.Sprint(v)
		var ms int64
		if s == "now" {
			ms = time.Now().UnixMilli()
		} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			ms = n
		} else {
			return 0, 0, fmt.Errorf("range.%s.%s: %q is neither epoch milliseconds nor now", field, op, s)
		}
		switch op {
		case "gte":
			from = max(from, ms)
		case "gt":
			from = max(from, ms+1)
		case "lte":
			to = min(to, ms)
		case "lt":
			to = min(to, ms-1)
		default:
			return 0, 0, fmt.Errorf("range.%s: unknown bound %q", field, op)
		}
	}
	return from, to, nil
}

// centralFind turns find into a match: every field must hold one of its values. "alarm.status"
// is the status of the result's alarm, "tenantId" a field of the result itself. A field that no
// record has matches nothing, as a term query on a missing field does.
func centralFind(find map[string]json.RawMessage, kind string) (func(map[string]any) bool, error) {
	type condition struct {
		path   []string
		values []string
	}
	var conditions []condition
	for field, raw := range find {
		var values []string
		if err := json.Unmarshal(raw, &values); err != nil {
			var one string
			if json.Unmarshal(raw, &one) != nil {
				return nil, fmt.Errorf("find.%s: must be a list of strings", field)
			}
			values = []string{one}
		}
		path := []string{field}
		if prefix, rest, ok := strings.Cut(field, "."); ok && prefix == kind {
			path = []string{prefix, rest}
		}
		conditions = append(conditions, condition{path, values})
	}
	if len(conditions) == 0 {
		return nil, nil
	}
	return func(fields map[string]any) bool {
		for _, c := range conditions {
			obj := fields
			if len(c.path) == 2 {
				obj, _ = fields[c.path[0]].(map[string]any)
			}
			name := c.path[len(c.path)-1]
			if !slices.ContainsFunc(c.values, func(v string) bool { return fieldEquals(obj, name, v) }) {
				return false
			}
		}
		return true
	}, nil
}
