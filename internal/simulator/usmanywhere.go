package simulator

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// USM Anywhere API 2.0 (LevelBlue, formerly AT&T Cybersecurity): OAuth2 client-credentials tokens,
// and the alarms and events lists as Spring Data REST pages with HAL links. The records are
// generated in usmanywhere_records.go.

const usmAnywhere = "usm_anywhere"

// usmTokenTTL is the lifetime of USM Anywhere's access tokens.
const usmTokenTTL = 899 * time.Second

func init() {
	registerVendor(vendor{
		source: usmAnywhere,
		streams: map[string]stream{
			"alarm": {generate: usmAlarm, withoutID: usmWithoutID, status: []string{"status"}, clocked: true},
			"event": {generate: usmEvent, withoutID: usmWithoutID, clocked: true},
		},
		rateLimit:  100,
		writeError: usmWriteError,
		routes: func(s *Simulator, mux *http.ServeMux, e endpoints) {
			mux.Handle("POST /api/2.0/oauth/token", e.token(usmToken(s)))
			mux.Handle("GET /api/2.0/alarms", e.data(usmList(s, "alarm", "alarms")))
			mux.Handle("GET /api/2.0/events", e.data(usmList(s, "event", s.opts.EventsEmbeddedKey)))
		},
	})
}

const usmDefaultSort = "timestamp_occured,desc"

var (
	// usmTimeFields are the spellings sort and the time bounds accept: the server's
	// timestamp_occured, and the docs' timestamp_occurred.
	usmTimeFields = []string{"timestamp_occured", "timestamp_occurred"}
	// usmListParams steer paging and time bounds; every other parameter filters on a field.
	usmListParams = []string{
		"page", "size", "sort",
		"timestamp_occured_gte", "timestamp_occured_lte", "timestamp_occurred_gte", "timestamp_occurred_lte",
	}
)

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func usmToken(s *Simulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth2/client"`)
			writeJSON(w, http.StatusUnauthorized, oauthError{"unauthorized", "Full authentication is required to access this resource"})
			return
		}
		if !s.validClient(id, secret) {
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth2/client"`)
			writeJSON(w, http.StatusUnauthorized, oauthError{"unauthorized", "Bad credentials"})
			return
		}
		// FormValue reads the query string, where the vendor's curl example puts grant_type, and
		// the form body, where OAuth2 libraries put it.
		switch grant := r.FormValue("grant_type"); grant {
		case "client_credentials":
		case "":
			writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "Missing grant type"})
			return
		default:
			writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "Unsupported grant type: " + grant})
			return
		}
		ttl := s.tokens.lifetime(usmTokenTTL)
		token, jti := s.tokens.issue(id, ttl)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			Scope       string `json:"scope"`
			JTI         string `json:"jti"`
		}{token, "bearer", expiresIn(ttl), "trust read write", jti})
	}
}

// usmList serves one list: a page of the stream's records matching the request's time bounds and
// filters, in the requested order, computed over the records present now.
func usmList(s *Simulator, kind, embeddedKey string) http.HandlerFunc {
	st := s.store(usmAnywhere, kind)
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authorize(r); err != nil {
			usmUnauthorized(w, err)
			return
		}
		q := r.URL.Query()
		pr, err := parsePageRequest(q, usmTimeFields, usmDefaultSort)
		if err != nil {
			usmWriteError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		from, to, err := usmOccurredBounds(q)
		if err != nil {
			usmWriteError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		records, total := st.page(query{
			from: from, to: to, match: usmFilter(st, q),
			desc: pr.desc, offset: pr.offset(), limit: pr.size,
		})
		items := make([]map[string]any, len(records))
		for i, rec := range records {
			items[i] = withSelfLink(rec, r)
		}
		writeHALPage(w, r, embeddedKey, items, pr, total, func() string { return s.nextHost(r) })
	}
}

// usmOccurredBounds reads the inclusive epoch-ms bounds, in either spelling.
func usmOccurredBounds(q url.Values) (from, to int64, err error) {
	from, to = math.MinInt64, math.MaxInt64
	for _, field := range usmTimeFields {
		gte, ok, err := epochMsParam(q, field+"_gte")
		if err != nil {
			return 0, 0, err
		}
		if ok {
			from = max(from, gte)
		}
		lte, ok, err := epochMsParam(q, field+"_lte")
		if err != nil {
			return 0, 0, err
		}
		if ok {
			to = min(to, lte)
		}
	}
	return from, to, nil
}

func epochMsParam(q url.Values, name string) (ms int64, ok bool, err error) {
	v := q.Get(name)
	if v == "" {
		return 0, false, nil
	}
	if ms, err = strconv.ParseInt(v, 10, 64); err != nil {
		return 0, false, fmt.Errorf("%s: %q is not epoch milliseconds", name, v)
	}
	return ms, true, nil
}

// usmFilter turns the other query parameters into equality filters on the records' fields.
// Parameters naming no field are ignored, and so is priority_label with several values: the real
// server does not honour that filter and returns every priority, so clients must ask per value.
func usmFilter(st *store, q url.Values) func(map[string]any) bool {
	type condition struct{ field, want string }
	var conditions []condition
	for name, values := range q {
		if slices.Contains(usmListParams, name) || !st.hasField(name) {
			continue
		}
		want := strings.Join(values, ",") // as Spring binds a repeated parameter to a String
		if name == "priority_label" {
			labels := strings.FieldsFunc(want, func(r rune) bool { return r == ',' })
			if len(labels) != 1 {
				continue
			}
			want = strings.TrimSpace(labels[0])
		}
		conditions = append(conditions, condition{name, want})
	}
	if len(conditions) == 0 {
		return nil
	}
	return func(fields map[string]any) bool {
		for _, c := range conditions {
			if !fieldEquals(fields, c.field, c.want) {
				return false
			}
		}
		return true
	}
}

// usmWithoutID is a USM record without its id, under either key.
func usmWithoutID(fields map[string]any) map[string]any {
	return without(fields, []string{"uuid"}, []string{"id"})
}

// withSelfLink renders a record with its HAL self link, which depends on the host asked. A record
// without an id has none: the link would give its id away.
func withSelfLink(rec record, r *http.Request) map[string]any {
	if !rec.hasID {
		return rec.fields
	}
	out := maps.Clone(rec.fields)
	self := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path + "/" + rec.id}
	out["_links"] = map[string]any{"self": halLink{Href: self.String()}}
	return out
}

// usmUnauthorized refuses a missing or bad bearer token as Spring Security's OAuth2 resource
// server does.
func usmUnauthorized(w http.ResponseWriter, err error) {
	code := "invalid_token"
	if errors.Is(err, errNoToken) {
		code = "unauthorized"
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="oauth2-resource", error=%q, error_description=%q`, code, err.Error()))
	writeJSON(w, http.StatusUnauthorized, oauthError{code, err.Error()})
}

// usmWriteError answers in Spring Boot's error format.
func usmWriteError(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeJSON(w, status, struct {
		Timestamp int64  `json:"timestamp"`
		Status    int    `json:"status"`
		Error     string `json:"error"`
		Message   string `json:"message"`
		Path      string `json:"path"`
	}{time.Now().UnixMilli(), status, http.StatusText(status), message, r.URL.Path})
}
