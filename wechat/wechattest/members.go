package wechattest

import (
	"slices"
	"sort"
	"sync"
)

// Who follows an app is derived from the seed, not stored: the app's own
// permutation of the population (app.members) puts its followers first, at
// member indexes [0, Followers), then its former followers, [Followers,
// Followers+Unfollowed), then everyone else; its blacklist is Blacklisted
// of its followers spread evenly over the listing. user/get lists the followers in member-index
// order, which is fixed, pseudo-random and unrelated to follow time and to
// the openid's spelling. So a world of ten million followers costs no
// memory per follower, and NewWorld is as quick for it as for ten: each
// page is derived when it is asked for.
//
// What tests change afterwards (Follow, Unfollow, SetBlacklisted) is kept
// beside that as small overlays: the generated followers who left, the
// followers who joined (each at a random place of the listing, between two
// generated ones, so new followers land anywhere), the former followers who
// left through Unfollow, and the blacklist's changes.

// A listing key orders one follower in user/get: a generated follower at
// member index j has the key j<<32; one who joined later has slot<<32 |
// person+1, placing it after the generated follower of index slot and
// before the next one. Keys of joined followers are unique (one per
// person) and never equal a generated one.
func baseKey(j uint32) uint64 { return uint64(j) << 32 }

func joinedKey(slot, p uint32) uint64 { return uint64(slot)<<32 | (uint64(p) + 1) }

func isBaseKey(k uint64) bool { return uint32(k) == 0 }

// person is the follower behind the listing key k.
func (r *roster) person(k uint64) uint32 {
	if isBaseKey(k) {
		return uint32(r.members.at(k >> 32))
	}
	return uint32(k) - 1
}

// roster is one app's membership: the generated part and what changed.
type roster struct {
	members   *perm  // over the population of NewWorld: persons born later are never generated members
	base      uint32 // generated followers: member indexes [0, base)
	formerEnd uint32 // generated former followers: [base, formerEnd)
	black     uint32 // generated blacklisted followers: black of them, evenly spaced (blackIndex)

	left     map[uint32]bool   // member indexes of generated followers who left
	joined   map[uint32]uint64 // person → key of each follower who joined later
	keys     []uint64          // the keys of joined, sorted
	formers  []uint32          // persons who left through Unfollow and are not generated formers, in the order they left
	blackOff map[uint32]bool   // generated blacklisted persons taken off the blacklist
	blackOn  []uint64          // keys of other followers put on it, sorted

	tagOnce  sync.Once
	baseTags map[int64]int64 // tag counts over the generated followers
}

func newRoster(population uint64, key uint64, followers, unfollowed, blacklisted int) *roster {
	return &roster{
		members:   newPerm(population, key),
		base:      uint32(followers),
		formerEnd: uint32(followers + unfollowed),
		black:     uint32(blacklisted),
		left:      map[uint32]bool{},
		joined:    map[uint32]uint64{},
		blackOff:  map[uint32]bool{},
	}
}

// index is p's member index, or false for a person born after NewWorld.
func (r *roster) index(p uint32) (uint32, bool) {
	if uint64(p) >= r.members.n {
		return 0, false
	}
	return uint32(r.members.index(uint64(p))), true
}

// key is p's listing key and whether p follows.
func (r *roster) key(p uint32) (uint64, bool) {
	if k, ok := r.joined[p]; ok {
		return k, true
	}
	j, ok := r.index(p)
	if !ok || j >= r.base || r.left[j] {
		return 0, false
	}
	return baseKey(j), true
}

func (r *roster) following(p uint32) bool {
	_, ok := r.key(p)
	return ok
}

// followerCount is the number of current followers.
func (r *roster) followerCount() int { return int(r.base) - len(r.left) + len(r.joined) }

// blackIndex is the member index of the k-th generated blacklisted
// follower: the middle of the k-th of black equal stretches of the listing.
// The persons are as random a subset as any, since member indexes are.
func (r *roster) blackIndex(k uint64) uint32 {
	return uint32((2*k + 1) * uint64(r.base) / (2 * uint64(r.black)))
}

// generatedBlack reports whether the member index j is one of the generated
// blacklisted followers.
func (r *roster) generatedBlack(j uint32) bool {
	if r.black == 0 || j >= r.base {
		return false
	}
	k0 := uint64(j) * uint64(r.black) / uint64(r.base)
	for k := max(k0, 1) - 1; k <= k0+1 && k < uint64(r.black); k++ {
		if r.blackIndex(k) == j {
			return true
		}
	}
	return false
}

// blacklisted reports whether the follower p with key k is on the blacklist.
func (r *roster) blacklisted(p uint32, k uint64) bool {
	if isBaseKey(k) && r.generatedBlack(uint32(k>>32)) {
		return !r.blackOff[p]
	}
	_, on := slices.BinarySearch(r.blackOn, k)
	return on
}

func (r *roster) blacklistCount() int {
	n := int(r.black) + len(r.blackOn)
	for j := range r.left {
		if r.generatedBlack(j) {
			n--
		}
	}
	return n - len(r.blackOff) // blackOff holds current generated followers only
}

// list is an ordered set of listing keys: n generated followers (the k-th
// at member index at(k), increasing in k) except those skip excludes,
// merged with extra (sorted).
type list struct {
	r     *roster
	n     uint64
	at    func(k uint64) uint32
	skip  func(j, p uint32) bool
	extra []uint64
	size  int
}

func (r *roster) followerList() list {
	return list{r: r, n: uint64(r.base), at: func(k uint64) uint32 { return uint32(k) },
		skip: func(j, _ uint32) bool { return r.left[j] }, extra: r.keys, size: r.followerCount()}
}

func (r *roster) blackList() list {
	return list{r: r, n: uint64(r.black), at: r.blackIndex,
		skip: func(j, p uint32) bool { return r.left[j] || r.blackOff[p] }, extra: r.blackOn, size: r.blacklistCount()}
}

// each calls fn with the person and key of each member of l after the key
// after (from the start when first), in order, until fn returns false.
func (l list) each(after uint64, first bool, fn func(p uint32, k uint64) bool) {
	k, e := uint64(0), 0
	if !first {
		// The next generated member is the first whose key exceeds after,
		// whether after is a generated key or a joined one.
		next := after>>32 + 1
		k = uint64(sort.Search(int(l.n), func(i int) bool { return uint64(l.at(uint64(i))) >= next }))
		e, _ = slices.BinarySearch(l.extra, after+1)
	}
	for {
		var j, p uint32
		have := false
		for ; k < l.n; k++ {
			j = l.at(k)
			if p = uint32(l.r.members.at(uint64(j))); !l.skip(j, p) {
				have = true
				break
			}
		}
		switch {
		case have && (e == len(l.extra) || baseKey(j) < l.extra[e]):
			if !fn(p, baseKey(j)) {
				return
			}
			k++
		case e < len(l.extra):
			if !fn(l.r.person(l.extra[e]), l.extra[e]) {
				return
			}
			e++
		default:
			return
		}
	}
}

// eachFormer calls fn for each former follower: the generated ones who have
// not come back, then those who left through Unfollow.
func (r *roster) eachFormer(fn func(p uint32)) {
	for j := r.base; j < r.formerEnd; j++ {
		if p := uint32(r.members.at(uint64(j))); !r.following(p) {
			fn(p)
		}
	}
	for _, p := range r.formers {
		fn(p)
	}
}

// former reports whether p is one of eachFormer's former followers.
func (r *roster) former(p uint32) bool {
	if r.following(p) {
		return false
	}
	if j, ok := r.index(p); ok && j >= r.base && j < r.formerEnd {
		return true
	}
	return slices.Contains(r.formers, p)
}

// unfollow takes the follower p off the app (the caller checked it follows).
func (r *roster) unfollow(p uint32) {
	k, _ := r.key(p)
	if isBaseKey(k) {
		r.left[uint32(k>>32)] = true
	} else {
		delete(r.joined, p)
		r.keys = deleteSorted(r.keys, k)
	}
	delete(r.blackOff, p)
	r.blackOn = deleteSorted(r.blackOn, k)
	if j, ok := r.index(p); !ok || j < r.base || j >= r.formerEnd {
		r.formers = append(r.formers, p)
	}
}

// join makes p, who does not follow, a follower at listing slot slot.
func (r *roster) join(p uint32, slot uint64) {
	k := joinedKey(uint32(slot%uint64(max(r.base, 1))), p)
	r.joined[p] = k
	i, _ := slices.BinarySearch(r.keys, k)
	r.keys = slices.Insert(r.keys, i, k)
	if i := slices.Index(r.formers, p); i >= 0 {
		r.formers = slices.Delete(r.formers, i, i+1)
	}
}

// pickFormer returns a former follower chosen by h, or false when the one
// h points at has come back meanwhile.
func (r *roster) pickFormer(h uint64) (uint32, bool) {
	generated := uint64(r.formerEnd - r.base)
	n := generated + uint64(len(r.formers))
	if n == 0 {
		return 0, false
	}
	i := h % n
	if i >= generated {
		return r.formers[i-generated], true
	}
	p := uint32(r.members.at(uint64(r.base) + i))
	return p, !r.following(p)
}

// setBlacklisted puts the follower p (key k) on the blacklist or takes it off.
func (r *roster) setBlacklisted(p uint32, k uint64, on bool) {
	if isBaseKey(k) && r.generatedBlack(uint32(k>>32)) {
		if on {
			delete(r.blackOff, p)
		} else {
			r.blackOff[p] = true
		}
		return
	}
	i, listed := slices.BinarySearch(r.blackOn, k)
	switch {
	case on && !listed:
		r.blackOn = slices.Insert(r.blackOn, i, k)
	case !on && listed:
		r.blackOn = slices.Delete(r.blackOn, i, i+1)
	}
}

// tagCounts counts the tags of the current followers: the generated ones
// are counted once (a walk over all of them), the changes on every call.
func (r *roster) tagCounts(tags func(p uint32) []int64) map[int64]int64 {
	r.tagOnce.Do(func() {
		r.baseTags = map[int64]int64{}
		for j := range uint64(r.base) {
			for _, t := range tags(uint32(r.members.at(j))) {
				r.baseTags[t]++
			}
		}
	})
	counts := make(map[int64]int64, len(r.baseTags))
	for t, n := range r.baseTags {
		counts[t] = n
	}
	for j := range r.left {
		for _, t := range tags(uint32(r.members.at(uint64(j)))) {
			counts[t]--
		}
	}
	for p := range r.joined {
		for _, t := range tags(p) {
			counts[t]++
		}
	}
	return counts
}

func deleteSorted(s []uint64, k uint64) []uint64 {
	if i, ok := slices.BinarySearch(s, k); ok {
		return slices.Delete(s, i, i+1)
	}
	return s
}
