package wechattest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestPermIndexInvertsAt(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 10, 17, 1000, 65537, 300_001} {
		q := newPerm(n, 42+n)
		seen := make([]bool, n)
		for i := range n {
			x := q.at(i)
			if x >= n || seen[x] {
				t.Fatalf("n=%d: at(%d)=%d is out of range or repeated", n, i, x)
			}
			seen[x] = true
			if j := q.index(x); j != i {
				t.Fatalf("n=%d: index(at(%d)) = %d", n, i, j)
			}
		}
	}
}

// The derived membership behaves like the sets it replaces: a model of
// plain sets follows the same random Unfollow, Follow and SetBlacklisted
// calls, and after each step the world's followers, former followers,
// blacklist, counts and tag counts are the model's, and a paged walk from
// any cursor gives the rest of the listing.
func TestDerivedMembershipMatchesAModelUnderChanges(t *testing.T) {
	for _, spec := range []AppSpec{
		{Name: "a", Followers: 300, Unfollowed: 40, Blacklisted: 12},
		{Name: "a", Followers: 5, Unfollowed: 0, Blacklisted: 5},
		{Name: "a", Followers: 0, Unfollowed: 3},
		{Name: "a", Followers: 64, Unfollowed: 64, Blacklisted: 1},
	} {
		w := NewWorld(WorldSpec{Seed: 9, Apps: []AppSpec{spec, {Name: "b", Followers: 50}}, Persons: 400})
		w.attachClock(func() time.Time { return time.Unix(1_750_000_000, 0) })
		appid := w.Apps()[0].AppID
		followers := setOf(w.Followers(appid))
		formers := setOf(w.FormerFollowers(appid))
		black := setOf(w.Blacklist(appid))
		if len(followers) != spec.Followers || len(formers) != spec.Unfollowed || len(black) != spec.Blacklisted {
			t.Fatalf("%+v: %d followers, %d formers, %d blacklisted", spec, len(followers), len(formers), len(black))
		}
		rng := rand.New(rand.NewPCG(1, uint64(spec.Followers)))
		for step := range 400 {
			current := w.Followers(appid)
			switch op := rng.IntN(10); {
			case op < 4 && len(current) > 0:
				o := current[rng.IntN(len(current))]
				if err := w.Unfollow(appid, o); err != nil {
					t.Fatal(err)
				}
				delete(followers, o)
				delete(black, o)
				formers[o] = true
			case op < 7:
				for _, o := range w.Follow(appid, 1+rng.IntN(3)) {
					if followers[o] {
						t.Fatalf("step %d: Follow returned the follower %s", step, o)
					}
					followers[o] = true
					delete(formers, o)
				}
			case len(current) > 0:
				o := current[rng.IntN(len(current))]
				on := rng.IntN(2) == 0
				if err := w.SetBlacklisted(appid, o, on); err != nil {
					t.Fatal(err)
				}
				if on {
					black[o] = true
				} else {
					delete(black, o)
				}
			}
			checkMembership(t, w, appid, followers, formers, black)
		}
	}
}

func checkMembership(t *testing.T, w *World, appid string, followers, formers, black map[string]bool) {
	t.Helper()
	list := w.Followers(appid)
	if !equalSet(setOf(list), followers) || len(list) != len(followers) || w.FollowerCount(appid) != len(followers) {
		t.Fatalf("followers %d (count %d), model %d", len(list), w.FollowerCount(appid), len(followers))
	}
	if got := w.FormerFollowers(appid); !equalSet(setOf(got), formers) || len(got) != len(formers) {
		t.Fatalf("former followers %d, model %d", len(got), len(formers))
	}
	bl := w.Blacklist(appid)
	if !equalSet(setOf(bl), black) || len(bl) != len(black) {
		t.Fatalf("blacklist %v, model %v", bl, black)
	}
	a := w.byID[appid]
	if n := a.roster.blacklistCount(); n != len(black) {
		t.Fatalf("blacklist count %d, model %d", n, len(black))
	}
	// The blacklist comes in listing order, a subsequence of the followers'.
	pos := map[string]int{}
	for i, o := range list {
		pos[o] = i
	}
	for i := 1; i < len(bl); i++ {
		if pos[bl[i-1]] >= pos[bl[i]] {
			t.Fatalf("blacklist out of listing order at %d", i)
		}
	}
	// A page after any follower is the rest of the listing.
	for i := 0; i < len(list); i += 1 + len(list)/7 {
		p, _ := w.lookup(a, list[i])
		k, ok := a.roster.key(p)
		if !ok {
			t.Fatalf("%s: no key", list[i])
		}
		var rest []string
		a.roster.followerList().each(k, false, func(p uint32, _ uint64) bool {
			rest = append(rest, a.ids.encode(p))
			return true
		})
		if !slices.Equal(rest, list[i+1:]) {
			t.Fatalf("after %d: %d openids, want %d", i, len(rest), len(list)-i-1)
		}
	}
	want := map[int64]int64{}
	for _, o := range list {
		u, _ := w.User(appid, o)
		for _, tag := range u.TagIDList {
			want[tag]++
		}
	}
	for _, tag := range w.Tags(appid) {
		if tag.Count != want[tag.ID] {
			t.Fatalf("tag %d counts %d, want %d", tag.ID, tag.Count, want[tag.ID])
		}
	}
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, o := range ids {
		m[o] = true
	}
	return m
}

func equalSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// A world of ten million followers builds at once and keeps nothing per
// follower: its pages are derived when asked for.
func TestTenMillionFollowersCostNothingUpFront(t *testing.T) {
	start := time.Now()
	w := NewWorld(WorldSpec{Seed: 3, Apps: []AppSpec{{Name: "big", Platform: "P1", Followers: 10_000_000, Unfollowed: 500_000, Blacklisted: 200_000}}})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("NewWorld of 10 M followers took %s", took)
	}
	a := w.apps[0]
	if n := w.FollowerCount(a.info.AppID); n != 10_000_000 {
		t.Fatalf("%d followers", n)
	}
	var last uint64
	n := 0
	a.roster.followerList().each(baseKey(9_999_000), false, func(p uint32, k uint64) bool {
		if !a.isFollower(p) || k <= last {
			t.Fatalf("person %d (key %x) listed out of order or not a follower", p, k)
		}
		last = k
		n++
		return true
	})
	if n != 999 {
		t.Fatalf("%d followers after the 9 999 000th, want 999", n)
	}
	var first []string
	w.EachFollower(a.info.AppID, func(o string) bool {
		first = append(first, o)
		return len(first) < 3
	})
	if len(first) != 3 || first[0] != a.ids.encode(uint32(a.roster.members.at(0))) {
		t.Fatalf("EachFollower began with %v", first)
	}
}
