package record

// FromItems converts the items of a list answer with convert. An item that is not a JSON object
// is not a record: it is counted in malformed and skipped, so that one bad item does not cost
// its page.
func FromItems(items []any, convert func(obj map[string]any) Record) (records []Record, malformed int) {
	records = make([]Record, 0, len(items))
	for _, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			malformed++
			continue
		}
		records = append(records, convert(obj))
	}
	return records, malformed
}
