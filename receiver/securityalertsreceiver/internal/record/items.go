package record

// Objects returns the items of a decoded JSON list that are objects, and how many were not: a
// vendor list may carry nulls or strings, which are not records and are counted as malformed so
// that one bad item does not cost its page.
func Objects(items []any) (objs []map[string]any, malformed int) {
	objs = make([]map[string]any, 0, len(items))
	for _, item := range items {
		if obj, ok := item.(map[string]any); ok {
			objs = append(objs, obj)
		} else {
			malformed++
		}
	}
	return objs, malformed
}

// FromItems converts the items of a list answer with convert; see Objects for the items that
// are not objects.
func FromItems(items []any, convert func(obj map[string]any) Record) (records []Record, malformed int) {
	objs, malformed := Objects(items)
	records = make([]Record, 0, len(objs))
	for _, obj := range objs {
		records = append(records, convert(obj))
	}
	return records, malformed
}
