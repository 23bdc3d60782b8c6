package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securityalerts/securityalerts/receiver/securityalertsreceiver/internal/record"
)

// fakeGate hands out ownership of a stream when the test grants it.
type fakeGate struct {
	mu     sync.Mutex
	offers map[string]chan ownedTerm
}

type ownedTerm struct {
	ctx      context.Context
	released chan struct{}
}

func (g *fakeGate) offer(stream string) chan ownedTerm {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.offers == nil {
		g.offers = map[string]chan ownedTerm{}
	}
	if g.offers[stream] == nil {
		g.offers[stream] = make(chan ownedTerm)
	}
	return g.offers[stream]
}

func (g *fakeGate) Hold(ctx context.Context, stream string) (context.Context, func(), error) {
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case t := <-g.offer(stream):
		return t.ctx, func() { close(t.released) }, nil
	}
}

// grant gives this process the stream until end is called; released closes once the engine
// stopped polling it.
func (g *fakeGate) grant(t *testing.T, stream string) (end context.CancelFunc, released <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	term := ownedTerm{ctx: ctx, released: make(chan struct{})}
	select {
	case g.offer(stream) <- term:
	case <-time.After(5 * time.Second):
		t.Fatal("the engine never asked for the stream")
	}
	return cancel, term.released
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal(what)
	}
}

func gatedEngine(store Store, sink Sink, gate Gate, streams ...Stream) *Engine {
	s := testSettings()
	s.PollInterval = 5 * time.Millisecond
	s.Gate = gate
	return New(s, store, sink, streams)
}

func TestGatedStreamIsPolledOnlyWhileOwned(t *testing.T) {
	gate := &fakeGate{}
	stream := pages("s", Page{Records: []record.Record{rec("a", t0)}})
	store := newStore()
	e := gatedEngine(store, &fakeSink{}, gate, stream)
	e.Start()
	defer e.Shutdown(context.Background())
	assert.Empty(t, e.Status(), "a stream not owned is not reported")

	end, released := gate.grant(t, "s")
	eventually(t, func() bool { return store.has("s") }, "the owner never polled")
	require.Len(t, e.Status(), 1)
	end()
	waitClosed(t, released, "ownership ended but the stream was not released")
	polled := len(stream.Queries())
	assert.Empty(t, e.Status())
	time.Sleep(20 * time.Millisecond) // four poll intervals
	assert.Len(t, stream.Queries(), polled, "polled while not owned")

	end, released = gate.grant(t, "s")
	eventually(t, func() bool { return len(stream.Queries()) > polled }, "the owner never polled again")
	end()
	waitClosed(t, released, "not released")
}

// Ownership regained starts from the stored checkpoint, which another process may have moved.
func TestRegainedOwnershipResumesFromTheStoredCheckpoint(t *testing.T) {
	gate := &fakeGate{}
	stream := newStream("s", func(_ context.Context, q Query) (Page, error) {
		return Page{Cursor: q.Cursor + "+"}, nil
	})
	store := newStore()
	e := gatedEngine(store, &fakeSink{}, gate, stream)
	e.Start()
	defer e.Shutdown(context.Background())

	end, released := gate.grant(t, "s")
	eventually(t, func() bool { return store.has("s") }, "the owner never polled")
	end()
	waitClosed(t, released, "not released")

	store.put(t, "s", &Checkpoint{Cursor: "other-owner"})
	before := len(stream.Queries())
	end, released = gate.grant(t, "s")
	eventually(t, func() bool { return len(stream.Queries()) > before }, "the new term never polled")
	end()
	waitClosed(t, released, "not released")
	assert.Equal(t, "other-owner", stream.Queries()[before].Cursor)
}

// Ownership lost while a page is delivered: no checkpoint is written, and no page is read but
// the one fetched ahead while this process still owned the stream, which is not delivered.
func TestOwnershipLostMidWalkWritesNoCheckpoint(t *testing.T) {
	gate := &fakeGate{}
	stream := pages("s",
		Page{Records: []record.Record{rec("a", t0)}, Next: "p2"},
		Page{Records: []record.Record{rec("b", t0.Add(time.Second))}})
	store := newStore()
	sink := &fakeSink{}
	e := gatedEngine(store, sink, gate, stream)
	e.Start()
	defer e.Shutdown(context.Background())

	var end context.CancelFunc
	var once sync.Once
	ended := make(chan struct{})
	sink.setRefuse(func([]record.Record) error {
		once.Do(func() {
			<-ended // end is set by then
			end()
		})
		return nil
	})
	end, released := gate.grant(t, "s")
	close(ended)
	waitClosed(t, released, "not released after ownership ended")

	assert.Equal(t, [][]string{{"a"}}, sink.Accepted(), "the page in flight was delivered")
	assert.False(t, store.has("s"), "a checkpoint was written after ownership ended")
	qs := stream.Queries()
	require.LessOrEqual(t, len(qs), 2, "a page was read after ownership ended")
	if len(qs) == 2 {
		assert.Equal(t, "p2", qs[1].PageToken, "only the page fetched ahead during ownership")
	}
}

func TestShutdownWhetherOwnedOrNot(t *testing.T) {
	gate := &fakeGate{}
	e := gatedEngine(newStore(), &fakeSink{}, gate, pages("s", Page{}), pages("owned", Page{}))
	e.Start()
	end, released := gate.grant(t, "owned")
	defer end()
	done := make(chan struct{})
	go func() {
		e.Shutdown(context.Background())
		close(done)
	}()
	waitClosed(t, done, "shutdown waited for ownership, or for it to end")
	waitClosed(t, released, "an owned stream was not released at shutdown")
}
