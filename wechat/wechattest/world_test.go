package wechattest_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

var idRE = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)

func TestOpenidsLookRealAndShareAPerAppPrefix(t *testing.T) {
	w := wechattest.DemoWorld(11, 200)
	prefixes := map[string]string{}
	for _, a := range w.Apps() {
		ids := append(w.Followers(a.AppID), w.FormerFollowers(a.AppID)...)
		if len(ids) == 0 {
			t.Fatalf("%s has no followers", a.Name)
		}
		lastChars := map[byte]bool{}
		for _, o := range ids {
			if !idRE.MatchString(o) {
				t.Fatalf("%s: openid %q is not 28 url-safe characters starting with o", a.Name, o)
			}
			if o[:6] != ids[0][:6] {
				t.Fatalf("%s: openids %q and %q do not share a prefix", a.Name, o, ids[0])
			}
			lastChars[o[27]] = true
		}
		if len(lastChars) < 16 {
			t.Errorf("%s: the last openid character takes only %d values", a.Name, len(lastChars))
		}
		if other, dup := prefixes[ids[0][:6]]; dup {
			t.Fatalf("%s and %s share the openid prefix %q", a.Name, other, ids[0][:6])
		}
		prefixes[ids[0][:6]] = a.Name
		if !regexp.MustCompile(`^wx[0-9a-f]{16}$`).MatchString(a.AppID) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.Secret) {
			t.Fatalf("derived appid %q or secret has the wrong shape", a.AppID)
		}
	}
}

func TestUnionidsLookRealAndShareAPerPlatformPrefix(t *testing.T) {
	w := wechattest.DemoWorld(11, 200)
	byPlatform := map[string]map[string]bool{}
	for _, a := range w.Apps() {
		for _, o := range w.Followers(a.AppID) {
			u, _ := w.User(a.AppID, o)
			if a.Platform == "" {
				if u.UnionID != "" {
					t.Fatalf("unbound %s: unionid %q", a.Name, u.UnionID)
				}
				continue
			}
			if !idRE.MatchString(u.UnionID) {
				t.Fatalf("%s: unionid %q has the wrong shape", a.Name, u.UnionID)
			}
			if byPlatform[a.Platform] == nil {
				byPlatform[a.Platform] = map[string]bool{}
			}
			byPlatform[a.Platform][u.UnionID[:6]] = true
		}
	}
	if len(byPlatform["P1"]) != 1 || len(byPlatform["P2"]) != 1 {
		t.Fatalf("unionid prefixes per platform: %v", byPlatform)
	}
	for p := range byPlatform["P1"] {
		if byPlatform["P2"][p] {
			t.Fatal("P1 and P2 share a unionid prefix")
		}
	}
}

func TestWorldIsDeterministicFromItsSeed(t *testing.T) {
	a, b, c := wechattest.DemoWorld(5, 100), wechattest.DemoWorld(5, 100), wechattest.DemoWorld(6, 100)
	if !slices.Equal(a.Apps(), b.Apps()) || slices.Equal(a.Apps(), c.Apps()) {
		t.Fatal("apps are not a function of the seed")
	}
	id := a.Apps()[0].AppID
	fa, fb := a.Followers(id), b.Followers(id)
	if !slices.Equal(fa, fb) {
		t.Fatal("same seed, different followers")
	}
	for _, o := range fa {
		ua, _ := a.User(id, o)
		ub, _ := b.User(id, o)
		if !equalUser(ua, ub) {
			t.Fatalf("same seed, different profiles: %+v vs %+v", ua, ub)
		}
	}
	if slices.Equal(fa, c.Followers(c.Apps()[0].AppID)) {
		t.Fatal("different seeds, same followers")
	}
}

func equalUser(a, b wechattest.User) bool {
	return a.OpenID == b.OpenID && a.UnionID == b.UnionID && a.SubscribeTime == b.SubscribeTime &&
		a.Remark == b.Remark && slices.Equal(a.TagIDList, b.TagIDList) && a.SubscribeScene == b.SubscribeScene &&
		a.QRScene == b.QRScene && a.QRSceneStr == b.QRSceneStr && a.GroupID == b.GroupID && a.Subscribe == b.Subscribe
}

func TestAppSpecCountsAreExact(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 1, Apps: []wechattest.AppSpec{
		{Name: "a", AppID: "wxaaaaaaaaaaaaaaaa", Secret: "s", Followers: 1000, Unfollowed: 77},
		{Name: "b", Followers: 3},
	}, Persons: 1100})
	if got := w.Apps()[0]; got.AppID != "wxaaaaaaaaaaaaaaaa" || got.Secret != "s" {
		t.Fatalf("given appid/secret not kept: %+v", got)
	}
	f, g := w.Followers("wxaaaaaaaaaaaaaaaa"), w.FormerFollowers("wxaaaaaaaaaaaaaaaa")
	if len(f) != 1000 || len(g) != 77 {
		t.Fatalf("%d followers and %d former, want 1000 and 77", len(f), len(g))
	}
	seen := map[string]bool{}
	for _, o := range append(f, g...) {
		if seen[o] {
			t.Fatalf("openid %s listed twice", o)
		}
		seen[o] = true
	}
	for _, o := range g {
		if u, ok := w.User("wxaaaaaaaaaaaaaaaa", o); !ok || u.Subscribe != 0 || u.UnionID != "" {
			t.Fatalf("former follower answers %+v", u)
		}
	}
}

func TestUnfollowAndFollowMoveOpenidsBetweenLists(t *testing.T) {
	w := wechattest.DemoWorld(2, 50)
	id := w.Apps()[0].AppID
	before := w.Followers(id)
	victim := before[7]
	if err := w.Unfollow(id, victim); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.Followers(id), victim) || !slices.Contains(w.FormerFollowers(id), victim) {
		t.Fatal("unfollowed openid did not move to the former followers")
	}
	if w.Unfollow(id, victim) == nil {
		t.Fatal("unfollowing twice must fail")
	}
	if w.Unfollow(id, w.Followers(w.Apps()[1].AppID)[0]) == nil {
		t.Fatal("unfollowing another app's openid must fail")
	}
	added := w.Follow(id, 30)
	if len(added) != 30 || len(w.Followers(id)) != len(before)-1+30 {
		t.Fatalf("follow 30: got %d, followers %d", len(added), len(w.Followers(id)))
	}
	for _, o := range added {
		if u, _ := w.User(id, o); u.Subscribe != 1 {
			t.Fatalf("new follower %s answers %+v", o, u)
		}
		if slices.Contains(w.FormerFollowers(id), o) {
			t.Fatalf("new follower %s still listed as former", o)
		}
	}
}

func TestFollowGrowsThePopulationWhenEveryoneFollows(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 1, Persons: 10, Apps: []wechattest.AppSpec{{Name: "a", Followers: 10}}})
	id := w.Apps()[0].AppID
	added := w.Follow(id, 5)
	if len(added) != 5 || len(w.Followers(id)) != 15 {
		t.Fatalf("follow on a full population: %d added, %d followers", len(added), len(w.Followers(id)))
	}
}

func TestProfilesCarryHostileAndInternationalText(t *testing.T) {
	w := wechattest.DemoWorld(1, 3000)
	id := w.Apps()[0].AppID
	kinds := map[string]int{}
	scenes := map[string]int{}
	var minT, maxT int64 = 1 << 62, 0
	for _, o := range w.Followers(id) {
		u, _ := w.User(id, o)
		r := u.Remark
		switch {
		case r == "":
			kinds["empty"]++
		case strings.Contains(r, "\x1b]52;"):
			kinds["osc52"]++
		case strings.Contains(r, "\x1b]0;"):
			kinds["title"]++
		case strings.Contains(r, "\x1b[") && strings.ContainsAny(r, "AHJK"):
			kinds["cursor"]++
		case strings.ContainsAny(r, "\u009b\u009d"):
			kinds["c1"]++
		case strings.ContainsAny(r, "\u202e\u2066"):
			kinds["bidi"]++
		case strings.ContainsAny(r, "🎉🐱⭐🚀❤🇨👨"):
			kinds["emoji"]++
		case strings.ContainsFunc(r, func(c rune) bool { return c >= 0x4e00 && c <= 0x9fff }):
			kinds["cjk"]++
		}
		scenes[u.SubscribeScene]++
		if u.SubscribeScene == "ADD_SCENE_QR_CODE" {
			if (u.QRScene == 0) == (u.QRSceneStr == "") {
				t.Fatalf("QR follower needs exactly one of qr_scene/qr_scene_str: %+v", u)
			}
		} else if u.QRScene != 0 || u.QRSceneStr != "" {
			t.Fatalf("non-QR follower with QR fields: %+v", u)
		}
		minT, maxT = min(minT, u.SubscribeTime), max(maxT, u.SubscribeTime)
	}
	for _, k := range []string{"empty", "osc52", "title", "cursor", "c1", "bidi", "emoji", "cjk"} {
		if kinds[k] == 0 {
			t.Errorf("no %s remarks among 3000 followers: %v", k, kinds)
		}
	}
	if kinds["empty"] < 2000 {
		t.Errorf("remarks should be mostly empty: %v", kinds)
	}
	for _, s := range []string{"ADD_SCENE_SEARCH", "ADD_SCENE_QR_CODE", "ADD_SCENE_PROFILE_CARD", "ADD_SCENE_OTHERS", "ADD_SCENE_REPRINT"} {
		if scenes[s] == 0 {
			t.Errorf("no follower from %s: %v", s, scenes)
		}
	}
	if maxT-minT < 5*365*24*3600 {
		t.Errorf("subscribe times span only %d days", (maxT-minT)/86400)
	}
}

func TestTodayAnchorsSubscribeTimes(t *testing.T) {
	today := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	spec := wechattest.DemoSpec(5, 500)
	spec.Today = today
	w := wechattest.NewWorld(spec)
	fixed := wechattest.DemoWorld(5, 500)
	app := w.Apps()[0].AppID
	newest, fixedNewest := int64(0), int64(0)
	for _, id := range w.Followers(app) {
		u, _ := w.User(app, id)
		if u.SubscribeTime > today.Unix() || u.SubscribeTime < today.AddDate(-9, 0, -1).Unix() {
			t.Fatalf("%s followed at %s, outside the nine years before %s", id, time.Unix(u.SubscribeTime, 0), today)
		}
		newest = max(newest, u.SubscribeTime)
		f, _ := fixed.User(app, id)
		fixedNewest = max(fixedNewest, f.SubscribeTime)
	}
	if today.Unix()-newest > 30*24*3600 {
		t.Errorf("newest follow %s is more than a month before today", time.Unix(newest, 0))
	}
	if fixedNewest > time.Date(2025, 6, 1, 0, 0, 0, 0, time.FixedZone("+08", 8*3600)).Unix() {
		t.Errorf("a world without Today follows after the fixed day: %s", time.Unix(fixedNewest, 0))
	}
}

// TestConflictsGiveOneUnionidTwoOpenidsInOneApp: AppSpec.Conflicts is a
// data fault: that many followers answer with another follower's unionid,
// the same every time and from the same seed; the other followers keep
// their own.
func TestConflictsGiveOneUnionidTwoOpenidsInOneApp(t *testing.T) {
	spec := wechattest.WorldSpec{Seed: 4, Apps: []wechattest.AppSpec{
		{Name: "shop", AppID: "wxshopshopshop0001", Platform: "P1", Followers: 500, Conflicts: 3},
	}}
	unionOf := func(w *wechattest.World) map[string][]string {
		by := map[string][]string{}
		for _, o := range w.Followers("wxshopshopshop0001") {
			u, ok := w.User("wxshopshopshop0001", o)
			if !ok || u.UnionID == "" {
				t.Fatalf("follower %s answers %+v", o, u)
			}
			by[u.UnionID] = append(by[u.UnionID], o)
		}
		return by
	}
	by := unionOf(wechattest.NewWorld(spec))
	var twins [][]string
	for _, os := range by {
		if len(os) > 1 {
			twins = append(twins, os)
		}
	}
	if len(twins) != 3 || len(by) != 497 {
		t.Fatalf("%d unionids with two openids among %d unionids, want 3 among 497", len(twins), len(by))
	}
	again := unionOf(wechattest.NewWorld(spec))
	for u, os := range by {
		if !slices.Equal(again[u], os) {
			t.Fatalf("the same seed gave unionid %s to %v, then to %v", u, os, again[u])
		}
	}
}

// TestFormerUserIsTheProfileAFormerFollowerHad: a former follower's profile
// as an earlier sync cached it, unionid included; nobody else has one.
func TestFormerUserIsTheProfileAFormerFollowerHad(t *testing.T) {
	w := wechattest.DemoWorld(3, 200)
	news := w.Apps()[0].AppID
	former := w.FormerFollowers(news)
	u, ok := w.FormerUser(news, former[0])
	if !ok || u.Subscribe != 1 || u.OpenID != former[0] || !idRE.MatchString(u.UnionID) || u.SubscribeTime == 0 {
		t.Fatalf("FormerUser of a former follower: %+v, %v", u, ok)
	}
	if now, _ := w.User(news, former[0]); now.Subscribe != 0 || now.UnionID != "" {
		t.Fatalf("User of the same former follower: %+v", now)
	}
	if _, ok := w.FormerUser(news, w.Followers(news)[0]); ok {
		t.Fatal("a current follower has a former profile")
	}
}
