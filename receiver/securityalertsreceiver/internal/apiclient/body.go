package apiclient

import (
	"bytes"
	"io"
	"sync"
)

// buffers are read buffers, grown to the size of the pages they read and kept between reads,
// unless an outsized answer grew them beyond maxPooled.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 8 << 20

// readBody reads at most limit bytes of body into a pooled buffer and returns a copy of exactly
// their size: one allocation a page, where io.ReadAll allocates and copies a dozen times as it
// grows towards a page of a megabyte.
func readBody(body io.Reader, limit int64) ([]byte, error) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooled {
			buffers.Put(buf)
		}
	}()
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(body, limit))
	return bytes.Clone(buf.Bytes()), err
}
