package apiclient

import "encoding/json"

// string reads a quoted string. Plain ASCII is copied as is (and keys interned); anything
// else is decoded by encoding/json.
func (p *parser) string(key bool) (string, error) {
	start := p.pos // the opening quote
	plain := true
	for i := start + 1; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			p.pos = i + 1
			if !plain {
				var s string
				err := json.Unmarshal(p.data[start:p.pos], &s)
				return s, err
			}
			raw := p.data[start+1 : i]
			if !key {
				return string(raw), nil
			}
			if s, ok := p.keys[string(raw)]; ok {
				return s, nil
			}
			s := string(raw)
			p.keys[s] = s
			return s, nil
		case c == '\\':
			plain = false
			i++ // the escaped character, which may be a quote
		case c < 0x20:
			p.pos = i
			return "", p.errorf("invalid character %q in string literal", c)
		case c >= 0x80:
			plain = false
		}
	}
	return "", errEnd
}

// number checks the JSON number grammar and keeps the literal as json.Number.
func (p *parser) number() (any, error) {
	start, d := p.pos, p.data
	i := start
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return nil, p.numberError(i)
	}
	if i < len(d) && d[i] == '.' {
		if i++; i >= len(d) || !isDigit(d[i]) {
			return nil, p.numberError(i)
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return nil, p.numberError(i)
		}
		i = digits(d, i)
	}
	p.pos = i
	return json.Number(d[start:i]), nil
}

func (p *parser) numberError(i int) error {
	if i >= len(p.data) {
		return errEnd
	}
	p.pos = i
	return p.errorf("invalid character %q in numeric literal", p.data[i])
}

func digits(d []byte, i int) int {
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
