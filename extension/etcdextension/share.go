package etcdextension

import (
	"math"
	"sort"
)

// apportion splits limit requests per window among participants in proportion to their
// weights (the keys each leads); a participant of weight 0 gets nothing, as it has nothing to
// spend a share on. Every replica computes the same answer from the same weights.
//
// Shares are whole requests wherever the limit allows one to every weighted participant: a
// token bucket (or a sliding log) of n whole requests per window sends at most n in any window,
// so whole shares that add up to the limit hold it in every window, where fractions could not
// (two replicas at 2.5 a second may each send 3 within one second). Each weighted participant
// gets one, the rest goes by weight (largest remainders first, ties by id), and the fraction
// of a limit that is not whole goes to the heaviest participant. A limit below one request per
// weighted participant is split in fractions: no whole split exists, and starving a replica
// would stop its streams; the long-run rate still holds.
func apportion(limit float64, weights map[string]int) map[string]float64 {
	ids := make([]string, 0, len(weights))
	total := 0
	for id, w := range weights {
		if w > 0 {
			ids = append(ids, id)
			total += w
		}
	}
	shares := make(map[string]float64, len(weights))
	for id := range weights {
		shares[id] = 0
	}
	if total == 0 || limit <= 0 {
		return shares
	}
	// Heaviest first, ties by id: the order of remainders and of the fraction.
	sort.Slice(ids, func(i, j int) bool {
		if weights[ids[i]] != weights[ids[j]] {
			return weights[ids[i]] > weights[ids[j]]
		}
		return ids[i] < ids[j]
	})
	whole := math.Floor(limit + 1e-9)
	if int(whole) < len(ids) {
		for _, id := range ids {
			shares[id] = limit * float64(weights[id]) / float64(total)
		}
		return shares
	}
	rest := int(whole) - len(ids)
	type remainder struct {
		id   string
		frac float64
	}
	rems := make([]remainder, 0, len(ids))
	given := 0
	for _, id := range ids {
		quota := float64(rest) * float64(weights[id]) / float64(total)
		n := math.Floor(quota)
		shares[id] = 1 + n
		given += int(n)
		rems = append(rems, remainder{id, quota - n})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for i := 0; i < rest-given; i++ {
		shares[rems[i].id]++
	}
	shares[ids[0]] += max(limit-whole, 0)
	return shares
}
