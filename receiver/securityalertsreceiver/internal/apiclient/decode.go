package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodeJSON decodes a response body into v, keeping numbers as json.Number so that ids and
// epoch milliseconds survive exactly. The body must hold one JSON value (and white space).
// *map[string]any and *[]any (nil) and *any are read by parseJSON, in one pass; other targets
// (structs) go through encoding/json, which takes two and is for small answers.
func DecodeJSON(rawURL string, body []byte, v any) error {
	return malformed(rawURL, body, decode(body, v))
}

// DecodeDocument parses a response body as DecodeJSON does into an any, and hands the document
// to read, which takes what it needs and refuses a document of the wrong shape (see Field):
// pages read this way cost one pass, and either refusal is a MalformedError.
func DecodeDocument(rawURL string, body []byte, read func(doc any) error) error {
	doc, err := parseJSON(body)
	if err == nil {
		err = read(doc)
	}
	return malformed(rawURL, body, err)
}

// Object returns a decoded document as the JSON object it must be; null is an empty one.
func Object(doc any) (map[string]any, error) {
	m, ok := doc.(map[string]any)
	if !ok && doc != nil {
		return nil, fmt.Errorf("the answer is a JSON %s, not an object", kindOf(doc))
	}
	return m, nil
}

// Field returns m[key] as a T. Absent or null is the zero T; another type is an error naming
// the key, as encoding/json refuses a struct field of the wrong type.
func Field[T any](m map[string]any, key string) (T, error) {
	var zero T
	v, ok := m[key]
	if !ok || v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s: want %T, found a JSON %s", key, zero, kindOf(v))
	}
	return t, nil
}

func malformed(rawURL string, body []byte, err error) error {
	if err != nil {
		head := body
		if len(head) > 64 {
			head = head[:64]
		}
		return &MalformedError{URL: Redact(rawURL), Size: len(body), Head: string(head), Reason: err}
	}
	return nil
}

func decode(body []byte, v any) error {
	switch t := v.(type) {
	case *any:
		val, err := parseJSON(body)
		if err == nil {
			*t = val
		}
		return err
	case *map[string]any:
		if *t == nil {
			return parseInto(body, t)
		}
	case *[]any:
		if *t == nil {
			return parseInto(body, t)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("offset %d: invalid character %q after top-level value", dec.InputOffset(), rest[0])
	}
	return nil
}

// parseInto sets *dst to the document, which must be a T or null.
func parseInto[T map[string]any | []any](body []byte, dst *T) error {
	val, err := parseJSON(body)
	if err != nil || val == nil {
		return err
	}
	typed, ok := val.(T)
	if !ok {
		return fmt.Errorf("cannot decode a JSON %s into %T", kindOf(val), *dst)
	}
	*dst = typed
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	default:
		return "bool"
	}
}
