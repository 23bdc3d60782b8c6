package etcdextension

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		limit   float64
		weights map[string]int
		want    map[string]float64
	}{
		// Eight streams over three replicas: one each, then 27 by weight.
		{30, map[string]int{"a": 3, "b": 3, "c": 2}, map[string]float64{"a": 11, "b": 11, "c": 8}},
		// A replica leading none of the credential's streams holds nothing.
		{30, map[string]int{"a": 8, "b": 0}, map[string]float64{"a": 30, "b": 0}},
		// Trend's ten a minute over three replicas leading 11, 11 and 10 pairs.
		{10, map[string]int{"a": 11, "b": 11, "c": 10}, map[string]float64{"a": 4, "b": 3, "c": 3}},
		// The fraction of the limit goes to the heaviest.
		{2.5, map[string]int{"a": 1, "b": 2}, map[string]float64{"a": 1, "b": 1.5}},
		// Fewer whole requests than replicas: fractions by weight.
		{2, map[string]int{"a": 1, "b": 1, "c": 2}, map[string]float64{"a": 0.5, "b": 0.5, "c": 1}},
		{0.5, map[string]int{"a": 1}, map[string]float64{"a": 0.5}},
		{10, map[string]int{}, map[string]float64{}},
		{10, map[string]int{"a": 0}, map[string]float64{"a": 0}},
	} {
		t.Run(fmt.Sprint(tc.limit, tc.weights), func(t *testing.T) {
			got := apportion(tc.limit, tc.weights)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Whatever the weights, the shares add up to the limit, every participant with weight has one,
// and while whole shares exist, only one (the heaviest) holds the limit's fraction.
func TestApportionAddsUpToTheLimit(t *testing.T) {
	for limit := 0.5; limit <= 60; limit += 2.75 {
		for n := 1; n <= 7; n++ {
			weights := map[string]int{}
			for i := range n {
				weights[fmt.Sprint("m", i)] = (i*7)%5 + 1
			}
			sum, fractions := 0.0, 0
			for id, s := range apportion(limit, weights) {
				sum += s
				assert.Positive(t, s, "%s got nothing of %g", id, limit)
				if s != math.Floor(s) {
					fractions++
				}
			}
			assert.InDelta(t, limit, sum, 1e-9, "%g over %d", limit, n)
			if limit >= float64(n) {
				assert.LessOrEqual(t, fractions, 1, "%g over %d", limit, n)
			}
		}
	}
}
