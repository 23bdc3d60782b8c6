package record

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// String returns the first of keys present in m with a non-empty value, as a string (numbers and
// booleans formatted), so that one call covers every spelling a server may use.
func String(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		case bool:
			return strconv.FormatBool(v)
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// Int returns the first of keys present in m that holds an integer (or an integer string).
func Int(m map[string]any, keys ...string) (int64, bool) {
	for _, k := range keys {
		if s := String(m, k); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// Time returns the first of keys present in m that parses as a time; see ParseTime.
func Time(m map[string]any, keys ...string) (time.Time, bool) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if t, err := ParseTime(v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// ParseTime accepts the forms the vendors' servers send: epoch milliseconds as a number or a
// string, and ISO 8601 / RFC 3339 with or without fractional seconds and with or without a zone
// (no zone means UTC, as the APIs document).
func ParseTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	case float64:
		return time.UnixMilli(int64(x)).UTC(), nil
	case int64:
		return time.UnixMilli(x).UTC(), nil
	default:
		return time.Time{}, fmt.Errorf("time: unsupported value %T", v)
	}
	// Checked first: a failed ParseInt allocates its error, once per ISO time of every record.
	if isInteger(s) {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time: cannot parse %q", s)
}

func isInteger(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}
