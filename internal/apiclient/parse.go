package apiclient

import (
	"errors"
	"fmt"
)

// maxDepth is encoding/json's nesting limit, kept so that both refuse the same documents.
const maxDepth = 10000

// parseJSON decodes one JSON document into the values encoding/json gives an `any` with
// UseNumber (map[string]any, []any, string, json.Number, bool, nil), in one pass where
// encoding/json takes two (validate, then decode). Pages repeat the same keys on every record,
// so keys are interned per document, and each object's map is made at its final size. Strings
// with escapes or non-ASCII bytes are left to encoding/json, whose rules for them (invalid
// UTF-8, lone surrogates) this must match exactly; FuzzParseJSON holds it to that.
func parseJSON(data []byte) (any, error) {
	p := parser{data: data, keys: make(map[string]string, 64)}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.space(); p.pos < len(p.data) {
		return nil, p.errorf("invalid character %q after top-level value", p.data[p.pos])
	}
	return v, nil
}

type parser struct {
	data []byte
	pos  int
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

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.pos}, args...)...)
}

var errEnd = errors.New("unexpected end of JSON input")

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, errEnd
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string(false)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (p *parser) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("exceeded max depth")
	}
	p.pos++ // {
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	if p.space(); p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return map[string]any{}, nil
	}
	for {
		if p.pos >= len(p.data) {
			return nil, errEnd
		}
		if p.data[p.pos] != '"' {
			return nil, p.errorf("invalid character %q looking for beginning of object key string", p.data[p.pos])
		}
		key, err := p.string(true)
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, member{key, v})
		done, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	m := make(map[string]any, len(p.members)-base)
	for _, kv := range p.members[base:] {
		m[kv.key] = kv.value
	}
	return m, nil
}

func (p *parser) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("exceeded max depth")
	}
	p.pos++ // [
	base := len(p.items)
	defer func() { p.items = p.items[:base] }()
	if p.space(); p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return []any{}, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, v)
		done, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	return append([]any(nil), p.items[base:]...), nil
}

// next reads what follows a member or item: a comma (and the space after it) or the closing
// bracket, which it reports as done.
func (p *parser) next(closing byte) (done bool, err error) {
	p.space()
	if p.pos >= len(p.data) {
		return false, errEnd
	}
	switch c := p.data[p.pos]; c {
	case ',':
		p.pos++
		p.space()
		return false, nil
	case closing:
		p.pos++
		return true, nil
	default:
		return false, p.errorf("invalid character %q after %s", c, map[byte]string{'}': "object key:value pair", ']': "array element"}[closing])
	}
}

func (p *parser) expect(c byte) error {
	p.space()
	if p.pos >= len(p.data) {
		return errEnd
	}
	if p.data[p.pos] != c {
		return p.errorf("invalid character %q, want %q", p.data[p.pos], c)
	}
	p.pos++
	return nil
}

func (p *parser) literal(word string) error {
	end := p.pos + len(word)
	if end > len(p.data) {
		return errEnd
	}
	if string(p.data[p.pos:end]) != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.pos = end
	return nil
}
