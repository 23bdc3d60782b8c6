package record

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTimeAcceptsEveryServerForm(t *testing.T) {
	want := time.Date(2018, 2, 6, 15, 48, 54, 0, time.UTC)
	for _, in := range []any{
		"1517932134000", "+1517932134000", json.Number("1517932134000"), float64(1517932134000), int64(1517932134000),
		"2018-02-06T15:48:54Z", "2018-02-06T15:48:54.000Z", "2018-02-06T15:48:54", "2018-02-06T16:48:54+01:00",
		"2018-02-06T16:48:54+0100", " 2018-02-06T15:48:54.000 ",
	} {
		got, err := ParseTime(in)
		require.NoError(t, err, "%#v", in)
		assert.True(t, want.Equal(got), "%#v parsed as %v", in, got)
	}
	for _, bad := range []any{"yesterday", "", "-", "+", "12a", true, nil, map[string]any{}} {
		_, err := ParseTime(bad)
		assert.Error(t, err, "%#v", bad)
	}
}

func TestFieldHelpersTakeTheFirstSpellingPresent(t *testing.T) {
	m := map[string]any{"timestamp_occurred": "1517932134000", "priority": json.Number("20"), "flag": true}
	assert.Equal(t, "1517932134000", String(m, "timestamp_occured", "timestamp_occurred"))
	assert.Equal(t, "true", String(m, "flag"))
	assert.Equal(t, "fallback", String(map[string]any{"uuid": "", "id": "fallback"}, "uuid", "id"), "an empty value is no value")
	n, ok := Int(m, "priority")
	assert.True(t, ok)
	assert.EqualValues(t, 20, n)
	_, ok = Int(m, "missing")
	assert.False(t, ok)
	tm, ok := Time(m, "timestamp_occured", "timestamp_occurred")
	assert.True(t, ok)
	assert.Equal(t, int64(1517932134000), tm.UnixMilli())
}

func TestSeverityContractNumbers(t *testing.T) {
	cases := map[Severity][2]int64{
		SeverityInfo: {9, 0}, SeverityLow: {12, 1}, SeverityMedium: {13, 4}, SeverityHigh: {17, 7}, SeverityCritical: {21, 10},
	}
	for s, want := range cases {
		assert.EqualValues(t, want[0], s.OTelNumber(), s)
		assert.Equal(t, want[1], s.RiskWeight(), s)
	}
	s, ok := ParseSeverity(" HIGH ")
	assert.True(t, ok)
	assert.Equal(t, SeverityHigh, s)
	_, ok = ParseSeverity("urgent-ish")
	assert.False(t, ok)
}

func TestObjectsCountsWhatIsNotAnObject(t *testing.T) {
	objs, malformed := Objects([]any{map[string]any{"id": "a"}, nil, "x", json.Number("1"), map[string]any{}})
	assert.Equal(t, []map[string]any{{"id": "a"}, {}}, objs)
	assert.Equal(t, 3, malformed)
	objs, malformed = Objects(nil)
	assert.Empty(t, objs)
	assert.Zero(t, malformed)
}
