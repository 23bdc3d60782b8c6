package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// parseJSON decodes one JSON document into the values encoding/json gives an `any` with
// UseNumber (map[string]any, []any, string, json.Number, bool, nil), in one pass where
// encoding/json takes two (validate, then decode). The tokens come from jsontext, the
// standard library's JSON v2 lexer; this builds the values: pages repeat the same keys on
// every record, so keys are interned per document, and each object's map is made at its final
// size. jsontext is told to accept what encoding/json accepts (duplicate names, invalid UTF-8
// mangled to U+FFFD); FuzzParseJSON holds the two to the same answers.
func parseJSON(data []byte) (any, error) {
	b := builder{
		dec:  jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)),
		keys: make(map[string]string, 64),
	}
	v, err := b.value()
	if err != nil {
		return nil, err
	}
	if _, err := b.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("offset %d: more after the top-level value", b.dec.InputOffset())
	}
	return v, nil
}

type builder struct {
	dec  *jsontext.Decoder
	keys map[string]string
	// members and items are stacks shared by the objects and arrays being read, so that each
	// is copied once into a value of its exact size.
	members []member
	items   []any
}

type member struct {
	key   string
	value any
}

func (b *builder) value() (any, error) {
	switch b.dec.PeekKind() {
	case '{':
		return b.object()
	case '[':
		return b.array()
	}
	raw, err := b.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	switch raw[0] {
	case '"':
		return unquote(raw)
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	default:
		return json.Number(raw), nil
	}
}

func (b *builder) object() (any, error) {
	if _, err := b.dec.ReadToken(); err != nil {
		return nil, err
	}
	base := len(b.members)
	defer func() { b.members = b.members[:base] }()
	for b.dec.PeekKind() != '}' {
		key, err := b.key()
		if err != nil {
			return nil, err
		}
		v, err := b.value()
		if err != nil {
			return nil, err
		}
		b.members = append(b.members, member{key, v})
	}
	if _, err := b.dec.ReadToken(); err != nil {
		return nil, err
	}
	m := make(map[string]any, len(b.members)-base)
	for _, kv := range b.members[base:] {
		m[kv.key] = kv.value
	}
	return m, nil
}

func (b *builder) array() (any, error) {
	if _, err := b.dec.ReadToken(); err != nil {
		return nil, err
	}
	base := len(b.items)
	defer func() { b.items = b.items[:base] }()
	for b.dec.PeekKind() != ']' {
		v, err := b.value()
		if err != nil {
			return nil, err
		}
		b.items = append(b.items, v)
	}
	if _, err := b.dec.ReadToken(); err != nil {
		return nil, err
	}
	return append(make([]any, 0, len(b.items)-base), b.items[base:]...), nil
}

// key reads an object's member name, interned when it is plain.
func (b *builder) key() (string, error) {
	raw, err := b.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if !plain(raw) {
		return unquote(raw)
	}
	if s, ok := b.keys[string(raw[1:len(raw)-1])]; ok {
		return s, nil
	}
	s := string(raw[1 : len(raw)-1])
	b.keys[s] = s
	return s, nil
}

func unquote(raw jsontext.Value) (string, error) {
	if plain(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	s, _ := jsontext.AppendUnquote(nil, raw) // its only error is invalid UTF-8, which encoding/json mangles too
	return string(s), nil
}

// plain reports whether a quoted string is ASCII without escapes, its bytes its value.
func plain(raw jsontext.Value) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}
