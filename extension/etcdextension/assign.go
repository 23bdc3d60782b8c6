package etcdextension

import (
	"hash/fnv"
	"slices"
	"sort"
)

// keyState is what etcd shows of one elected key: the replicas standing for it, and the queue
// of its election (member → creation revision of its election key; the lowest leads).
type keyState struct {
	candidates map[string]bool
	queue      map[string]int64
}

// queued says whether member is in the election; nil-safe, for keys etcd shows nothing of.
func (k *keyState) queued(member string) bool {
	if k == nil {
		return false
	}
	_, ok := k.queue[member]
	return ok
}

// leader is the member at the head of the election queue, or "".
func (k *keyState) leader() string {
	var head string
	var rev int64
	for m, r := range k.queue {
		if head == "" || r < rev {
			head, rev = m, r
		}
	}
	return head
}

// leaders maps every key etcd shows to the member leading it ("" while none does).
func leaders(keys map[string]*keyState) map[string]string {
	out := make(map[string]string, len(keys))
	for name, k := range keys {
		out[name] = k.leader()
	}
	return out
}

// assign decides which member should own each key, from nothing but what every replica sees in
// etcd, so that all replicas reach the same answer without talking to each other. Each member
// gets an equal share of the keys (some one more): first, current leaders keep their keys up to
// their share, so that a replica joining or leaving moves few keys; then every other key goes to
// the candidate ranking highest for it (rendezvous hashing) among those with room left. A key
// none of whose candidates has room goes to its highest-ranking candidate.
func assign(keys map[string]*keyState) map[string]string {
	members := map[string]bool{}
	var names []string
	for name, k := range keys {
		if len(k.candidates) == 0 {
			continue
		}
		names = append(names, name)
		for m := range k.candidates {
			members[m] = true
		}
	}
	if len(names) == 0 {
		return map[string]string{}
	}
	// A fixed order that is not alphabetical, so that similar names do not share a fate.
	sort.Slice(names, func(i, j int) bool { return ranksBefore(score(names[i], ""), names[i], score(names[j], ""), names[j]) })
	ids := make([]string, 0, len(members))
	for m := range members {
		ids = append(ids, m)
	}
	slices.Sort(ids)
	room := make(map[string]int, len(ids))
	for i, m := range ids {
		room[m] = len(names) / len(ids)
		if i < len(names)%len(ids) {
			room[m]++
		}
	}

	owners := make(map[string]string, len(names))
	for _, name := range names {
		k := keys[name]
		if l := k.leader(); k.candidates[l] && room[l] > 0 {
			owners[name] = l
			room[l]--
		}
	}
	for _, name := range names {
		if _, kept := owners[name]; kept {
			continue
		}
		ranked := make([]string, 0, len(keys[name].candidates))
		for m := range keys[name].candidates {
			ranked = append(ranked, m)
		}
		sort.Slice(ranked, func(i, j int) bool {
			return ranksBefore(score(name, ranked[j]), ranked[j], score(name, ranked[i]), ranked[i])
		})
		owners[name] = ranked[0]
		for _, m := range ranked {
			if room[m] > 0 {
				owners[name] = m
				room[m]--
				break
			}
		}
	}
	return owners
}

// ranksBefore orders by score, ties (improbable, but every replica must agree) by name.
func ranksBefore(a uint64, aName string, b uint64, bName string) bool {
	if a != b {
		return a < b
	}
	return aName < bName
}

// score is the rendezvous weight of member for key.
func score(key, member string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(member))
	// FNV's high bits mix poorly for short inputs differing at the end; splitmix64's finaliser
	// spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
