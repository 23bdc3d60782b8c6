package engine

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/internal/record"
)

// completingStream serves pages "0".."n-1" of one record each, cursor-paged, each to be completed
// by a lookup that takes a while; it sees whether a page was fetched while another completed.
type completingStream struct {
	n          int
	completing atomic.Int32
	overlapped atomic.Bool
	failAt     int // the page whose completion fails; -1: none
}

func (c *completingStream) Name() string   { return "c" }
func (c *completingStream) Source() string { return "fake" }

func (c *completingStream) Fetch(_ context.Context, q Query) (Page, error) {
	if c.completing.Load() > 0 {
		c.overlapped.Store(true)
	}
	i, _ := strconv.Atoi(q.PageToken)
	page := Page{Records: []record.Record{rec(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second))}, Cursor: strconv.Itoa(i)}
	if i+1 < c.n {
		page.Next = strconv.Itoa(i + 1)
	}
	page.Complete = func(context.Context) error {
		c.completing.Add(1)
		defer c.completing.Add(-1)
		time.Sleep(20 * time.Millisecond)
		if i == c.failAt {
			return errors.New("lookup refused")
		}
		page.Records[0].Attributes = map[string]any{"completed": true}
		return nil
	}
	return page, nil
}

// A page's lookups run while the next page is fetched; pages still go out in order, completed.
func TestPagesAreCompletedWhileTheNextAreFetched(t *testing.T) {
	stream := &completingStream{n: 6, failAt: -1}
	sink := &fakeSink{}
	store := newStore()
	e := New(testSettings(), store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5"}, delivered(sink))
	assert.True(t, stream.overlapped.Load(), "a page was fetched while another was completed")
	assert.Equal(t, "5", store.stored(t, "c").Cursor)
}

// A page whose lookups fail is not delivered: the walk stops before it, the checkpoint after the
// page before.
func TestAPageNotCompletedIsNotDelivered(t *testing.T) {
	stream := &completingStream{n: 6, failAt: 3}
	sink := &fakeSink{}
	store := newStore()
	settings := testSettings()
	settings.Retry.Enabled = false
	e := New(settings, store, sink, []Stream{stream})
	_, err := poll(e, 0)
	require.ErrorContains(t, err, "lookup refused")
	assert.Equal(t, []string{"0", "1", "2"}, delivered(sink))
	assert.Equal(t, "2", store.stored(t, "c").Cursor)
}
