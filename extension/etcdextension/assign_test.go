package etcdextension

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// state builds the etcd view of n keys that all of members stand for, led as leaders says.
func state(n int, members []string, leaders map[string]string) map[string]*keyState {
	keys := map[string]*keyState{}
	for i := range n {
		name := fmt.Sprintf("securityalerts/usm_anywhere/alarms?priority_label=%d", i)
		k := &keyState{candidates: map[string]bool{}, queue: map[string]int64{}}
		for _, m := range members {
			k.candidates[m] = true
		}
		if l, ok := leaders[name]; ok {
			k.queue[l] = 1
		}
		keys[name] = k
	}
	return keys
}

func counts(owners map[string]string) map[string]int {
	out := map[string]int{}
	for _, m := range owners {
		out[m]++
	}
	return out
}

func TestAssignSpreadsEvenly(t *testing.T) {
	for _, tc := range []struct{ keys, members int }{{8, 3}, {6, 3}, {3, 3}, {2, 3}, {100, 7}, {1, 1}} {
		t.Run(fmt.Sprintf("%d keys on %d members", tc.keys, tc.members), func(t *testing.T) {
			var members []string
			for i := range tc.members {
				members = append(members, fmt.Sprintf("%x", 0x7a000+i))
			}
			owners := assign(state(tc.keys, members, nil))
			require.Len(t, owners, tc.keys)
			for m, n := range counts(owners) {
				assert.Contains(t, []int{tc.keys / tc.members, (tc.keys + tc.members - 1) / tc.members}, n, "member %s", m)
			}
		})
	}
}

func TestAssignIsTheSameForEveryone(t *testing.T) {
	members := []string{"a1", "b2", "c3"}
	first := assign(state(20, members, nil))
	for range 20 { // map iteration order differs between calls
		assert.Equal(t, first, assign(state(20, members, nil)))
	}
}

// A replica that joins takes only its share, and a replica that leaves gives up only its keys:
// current leaders keep what they hold up to their share.
func TestAssignMovesFewKeys(t *testing.T) {
	members := []string{"a1", "b2", "c3"}
	before := assign(state(12, members, nil))
	leaders := before

	after := assign(state(12, append(members, "d4"), leaders))
	moved := 0
	for k, m := range after {
		if before[k] != m {
			moved++
			assert.Equal(t, "d4", m, "a key moved between replicas that stayed")
		}
	}
	assert.Equal(t, 3, moved, "the new replica takes its share, no more")

	survivors := assign(state(12, members[:2], leaders))
	for k, m := range before {
		if m != "c3" {
			assert.Equal(t, m, survivors[k], "a surviving replica lost a key it held")
		}
	}
	assert.Equal(t, map[string]int{"a1": 6, "b2": 6}, counts(survivors))
}

func TestAssignOnlyToCandidates(t *testing.T) {
	keys := state(4, []string{"a1", "b2"}, nil)
	keys["only-c"] = &keyState{candidates: map[string]bool{"c3": true}, queue: map[string]int64{"a1": 5}}
	keys["nobody"] = &keyState{candidates: map[string]bool{}, queue: map[string]int64{"a1": 7}}
	owners := assign(keys)
	assert.Equal(t, "c3", owners["only-c"], "a leader that no longer stands for a key does not keep it")
	assert.NotContains(t, owners, "nobody")
	for k, m := range owners {
		assert.True(t, keys[k].candidates[m], "%s assigned to %s, not a candidate", k, m)
	}
}

func TestLeaderIsOldestInQueue(t *testing.T) {
	k := &keyState{queue: map[string]int64{"b2": 9, "a1": 12, "c3": 4}}
	assert.Equal(t, "c3", k.leader())
	assert.Empty(t, (&keyState{}).leader())
}
