// Package world generates the followers wxscope's performance figures are
// measured on: the ui benchmarks build their indexes and cache files from
// it, and bench/bigfixture writes the 1 M-follower cache files of
// BENCHMARKS.md from it, so that both measure the same world.
package world

import (
	"fmt"
	"math/rand/v2"

	"wxscope/cache"
)

// Followers calls fn for each of n followers shaped like a real app's:
// openids share a per-app prefix ("oNw3k"), one in ten lacks a unionid, one
// in twenty has a remark (CJK and emoji among them), one in fifteen
// unfollowed. The same n gives the same followers every time. fn may not
// keep p: it is reused.
func Followers(n int, fn func(p *cache.Profile)) {
	rng := rand.New(rand.NewPCG(7, 7))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	id := func(prefix string) string {
		b := []byte(prefix)
		for len(b) < 28 {
			b = append(b, b64[rng.IntN(64)])
		}
		return string(b)
	}
	remarks := []string{"VIP 客户 🎁", "vip (old)", "老客户", "wholesale buyer", "回头客 ⭐"}
	scenes := []string{"ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD", "ADD_SCENE_ACCOUNT_MIGRATION", "ADD_SCENE_OTHERS"}
	for i := range n {
		p := cache.Profile{AppID: "wxnews", OpenID: id("oNw3k"), Subscribed: true,
			SubscribeTime: 1_500_000_000 + rng.Int64N(250_000_000), SubscribeScene: scenes[rng.IntN(len(scenes))]}
		if rng.IntN(10) != 0 {
			p.UnionID = id("oP1a")
		}
		if rng.IntN(20) == 0 {
			p.Remark = fmt.Sprintf("%s %d", remarks[rng.IntN(len(remarks))], i)
		}
		if rng.IntN(15) == 0 {
			p.Subscribed, p.UnfollowedAt = false, p.SubscribeTime+86400
		}
		fn(&p)
	}
}

// sortedAlphabet is base64's 64 characters in byte order, so that ids built
// from increasing numbers sort as those numbers do.
const sortedAlphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// SortedFollowers is Followers for cache files of tens of millions: the n
// followers come in openid order, and their unionids in the same order, so
// that a fixture written with Store.PutProfiles fills both B-trees from
// left to right in minutes instead of rewriting pages all over them for
// hours. Each openid is the app's prefix, ten characters that grow with the
// follower's number and thirteen random ones; the unionid is "oP1a", the
// same ten and fourteen random ones, so person i of one app and person i of
// another (SortedFollowers with the same n and a different prefix) share a
// unionid. Remarks, scenes, times and unfollows are distributed as in
// Followers. fn may not keep p.
func SortedFollowers(prefix string, n int, fn func(person int, p *cache.Profile)) {
	rng := rand.New(rand.NewPCG(11, 11))
	step := uint64(1<<60) / uint64(max(n, 1))
	var buf [28]byte
	id := func(head string, ordered uint64, salt uint64) string {
		b := append(buf[:0], head...)
		for shift := 54; shift >= 0; shift -= 6 {
			b = append(b, sortedAlphabet[(ordered>>uint(shift))&63])
		}
		for h := salt; len(b) < 28; h = h>>6 | h<<58 {
			b = append(b, sortedAlphabet[h&63])
		}
		return string(b)
	}
	remarks := []string{"VIP 客户 🎁", "vip (old)", "老客户", "wholesale buyer", "回头客 ⭐"}
	scenes := []string{"ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD", "ADD_SCENE_ACCOUNT_MIGRATION", "ADD_SCENE_OTHERS"}
	for i := range n {
		ordered := uint64(i) * step
		p := cache.Profile{OpenID: id(prefix, ordered, rng.Uint64()), Subscribed: true,
			SubscribeTime: 1_500_000_000 + rng.Int64N(250_000_000), SubscribeScene: scenes[rng.IntN(len(scenes))]}
		// The unionid's random part depends on the person only, so that
		// every app gives person i the same one.
		p.UnionID = id("oP1a", ordered, uint64(i)*0x9e3779b97f4a7c15)
		if rng.IntN(10) == 0 {
			p.UnionID = ""
		}
		if rng.IntN(20) == 0 {
			p.Remark = fmt.Sprintf("%s %d", remarks[rng.IntN(len(remarks))], i)
		}
		if rng.IntN(15) == 0 {
			p.Subscribed, p.UnfollowedAt = false, p.SubscribeTime+86400
		}
		fn(i, &p)
	}
}
