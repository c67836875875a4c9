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
