package streamtest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/engine"
	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// counting answers pages numbered from its page token, up to last.
type counting struct {
	last  int
	since []time.Time
}

func (c *counting) Name() string   { return "test/counting" }
func (c *counting) Source() string { return "test" }
func (c *counting) Fetch(_ context.Context, q engine.Query) (engine.Page, error) {
	c.since = append(c.since, q.Since)
	n := 0
	if q.PageToken != "" {
		n, _ = strconv.Atoi(q.PageToken)
	}
	page := engine.Page{Records: []record.Record{{ID: "r" + strconv.Itoa(n)}}}
	if n < c.last {
		page.Next = strconv.Itoa(n + 1)
	}
	return page, nil
}

func TestWalkFollowsPagesToTheEnd(t *testing.T) {
	since := time.Unix(100, 0)
	s := &counting{last: 2}
	pages, err := Walk(t, s, since)
	require.NoError(t, err)
	assert.Equal(t, []string{"r0", "r1", "r2"}, RecordIDs(pages))
	assert.Equal(t, []time.Time{since, since, since}, s.since)
}
