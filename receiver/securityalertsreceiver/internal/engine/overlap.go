package engine

import "time"

// Late arrivals: time-window APIs show some records minutes after later ones became visible, so
// the overlap window behind the watermark must be looked at again after they could have arrived.
// Re-reading it at every poll costs about overlap/poll_interval times the requests of the new
// data (11x at the defaults). Instead each stream earns an allowance of overlapShare requests for
// every request its walks of new data make, and looks at the overlap only when the allowance
// holds a request: at the defaults, one look every fourth poll of a quiet stream, every poll of a
// busy one. Each look covers everything since the previous look's watermark minus the overlap,
// so every record that arrives within the overlap of its time is still found, only later.
// RangeStreams look by counting (one request for the whole span, a read only where the API holds
// more than the checkpoint remembers); LinkStreams by starting their walk the overlap earlier,
// charged for the requests that costs beyond a walk of new data.
//
// Where records arrive late in every page, a look must read its whole span again, which no
// allowance of a quarter pays for: each look would leave a debt that makes the next wait longer
// and cover more, so late records would be found later and later (and the seen-set would have to
// remember ever longer spans). So a look is also due once the watermark has moved lookDeadline
// overlaps past the previous one, whatever the allowance: late records are then found within
// about that span of their time, at up to 2 + 1/lookDeadline times the requests of new data
// alone (every record read twice), while streams whose records arrive on time keep to the
// quarter, their looks being single counts.

const (
	// overlapShare is what looking at the overlap may cost, as a share of the requests of new
	// data: a caught-up stream spends at most 1 + overlapShare times those.
	overlapShare = 0.25
	// overlapSaving caps the allowance, so that a long quiet spell does not pay for a long
	// series of look-ups later.
	overlapSaving = 2.0
	// lookDeadline is how many overlaps the watermark may move past the previous look before
	// the next is due regardless of the allowance (30 minutes at the default overlap).
	lookDeadline = 3
)

// overlapBudget is a stream's allowance for looking at its overlap window, in requests.
type overlapBudget struct {
	allowance float64
	// plainRequests is how many requests the last walk of new data only made: an earlier start
	// costs what it takes beyond that.
	plainRequests int
}

// newOverlapBudget starts with one look allowed, so that a stream checks its overlap soon after
// the collector (re)starts.
func newOverlapBudget() overlapBudget { return overlapBudget{allowance: 1, plainRequests: 1} }

// due says whether the next look may start, for a stream whose watermark has moved by moved
// since the previous look (see lookDeadline).
func (b *overlapBudget) due(moved, overlap time.Duration) bool {
	return b.allowance >= 1 || moved >= lookDeadline*overlap
}

// earned credits the requests of a walk of new data.
func (b *overlapBudget) earned(requests int) {
	b.allowance = min(b.allowance+overlapShare*float64(requests), overlapSaving)
}

// plainWalk records a walk of new data only, which both earns and sets what a walk costs.
func (b *overlapBudget) plainWalk(requests int) {
	b.plainRequests = max(requests, 1)
	b.earned(requests)
}

// spent charges requests made only to look at the overlap.
func (b *overlapBudget) spent(requests int) { b.allowance -= float64(requests) }

// widenedWalk charges a walk that started the overlap early: what it took beyond a walk of new
// data, while its new data still earns.
func (b *overlapBudget) widenedWalk(requests int) {
	b.earned(min(requests, b.plainRequests))
	b.spent(max(requests-b.plainRequests, 0))
}
