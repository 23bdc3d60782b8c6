package apiclient

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// DecodeJSON decodes a response body into v, keeping numbers as json.Number so that ids and
// epoch milliseconds survive exactly.
func DecodeJSON(rawURL string, body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		head := body
		if len(head) > 64 {
			head = head[:64]
		}
		where := rawURL
		if u, perr := url.Parse(rawURL); perr == nil {
			where = redact(u)
		}
		return &MalformedError{URL: where, Size: len(body), Head: string(head), Reason: err}
	}
	return nil
}
