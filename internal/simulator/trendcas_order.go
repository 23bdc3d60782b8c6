package simulator

import (
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
)

// trendOrderParam carries a shuffled walk's order from page to page in its next_link.
const trendOrderParam = "order"

// trendOrders draws the order of each shuffled walk (Options.TrendCASShuffledPages): its first
// request draws one, and the next_link of each page carries it on, so that the pages of one walk
// hold each of the window's events once.
type trendOrders struct {
	on bool

	mu  sync.Mutex
	rng *rand.Rand
}

func newTrendOrders(o Options) *trendOrders {
	// A stream of its own: orders drawn must not shift the records or the fault dice.
	return &trendOrders{on: o.TrendCASShuffledPages, rng: rand.New(rand.NewPCG(o.Seed, 0x5ff1e))}
}

// of returns the order of the walk a request belongs to, nil while pages come in time order, or
// the refusal's message.
func (o *trendOrders) of(q url.Values) (*shuffle, string) {
	if !o.on {
		return nil, ""
	}
	if v := q.Get(trendOrderParam); v != "" {
		seed, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return nil, "Invalid parameter: " + trendOrderParam
		}
		return &shuffle{seed}, ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return &shuffle{o.rng.Uint64()}, ""
}

// keep writes a walk's order into the query of its next page.
func (o *trendOrders) keep(q url.Values, s *shuffle) {
	if s != nil {
		q.Set(trendOrderParam, strconv.FormatUint(s.seed, 16))
	}
}
