package record

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFromItemsSkipsAndCountsNonObjects(t *testing.T) {
	items := []any{map[string]any{"id": "a"}, "text", nil, []any{1}, map[string]any{"id": "b"}}
	records, malformed := FromItems(items, func(obj map[string]any) Record { return Record{ID: String(obj, "id")} })
	assert.Equal(t, []Record{{ID: "a"}, {ID: "b"}}, records)
	assert.Equal(t, 3, malformed)

	records, malformed = FromItems(nil, func(map[string]any) Record { return Record{} })
	assert.Empty(t, records)
	assert.NotNil(t, records, "an empty page is an empty list, not nil")
	assert.Zero(t, malformed)
}
