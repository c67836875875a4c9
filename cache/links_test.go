package cache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

// worldSource serves one app of a simulated world to Sync without HTTP: the
// world's own answers, so the test compares the cache with the world's
// truth and nothing else.
type worldSource struct {
	w     *wechattest.World
	appid string
	page  int
}

func (s *worldSource) ListFollowers(ctx context.Context, next string) (FollowerPage, error) {
	list := s.w.Followers(s.appid)
	start := 0
	if next != "" {
		start = slices.Index(list, next) + 1
		if start == 0 {
			return FollowerPage{}, fmt.Errorf("errcode 40003: cursor %s is not a follower: %w", next, ErrInvalidOpenID)
		}
	}
	end := min(start+s.page, len(list))
	p := FollowerPage{OpenIDs: slices.Clone(list[start:end]), Total: len(list), Last: end == len(list)}
	if end > start {
		p.Next = list[end-1]
	}
	return p, nil
}

func (s *worldSource) Profiles(ctx context.Context, openids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	for _, id := range openids {
		u, ok := s.w.User(s.appid, id)
		if !ok {
			return nil, fmt.Errorf("errcode 40003 for %s: %w", id, ErrInvalidOpenID)
		}
		out[id] = Profile{OpenID: id, UnionID: u.UnionID, Subscribed: u.Subscribe == 1, SubscribeTime: u.SubscribeTime,
			SubscribeScene: u.SubscribeScene, QRScene: u.QRScene, QRSceneStr: u.QRSceneStr, Remark: u.Remark,
			TagIDs: u.TagIDList, GroupID: u.GroupID}
	}
	return out, nil
}

var linkNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// linkWorld is the world of these tests: news and shop share platform P1,
// events is not bound, legacy is bound to P2, quiet is bound to P1 but has
// no follower, and ghost is configured but never synced.
type linkWorld struct {
	w     *wechattest.World
	store *Store
	refs  []AppRef
	// unfollowed are news openids that left after the first sync.
	unfollowed []string
}

func newLinkWorld(t *testing.T) *linkWorld {
	t.Helper()
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 7, Persons: 700, Apps: []wechattest.AppSpec{
		{Name: "news", AppID: "wxnews0000000001", Platform: "P1", Followers: 300},
		{Name: "shop", AppID: "wxshop0000000002", Platform: "P1", Followers: 250},
		{Name: "events", AppID: "wxevnt0000000003", Followers: 120},
		{Name: "legacy", AppID: "wxlgcy0000000004", Platform: "P2", Followers: 100},
		{Name: "quiet", AppID: "wxquit0000000005", Platform: "P1"},
	}})
	lw := &linkWorld{w: w, store: openTestStore(t, Options{})}
	for _, a := range w.Apps() {
		lw.refs = append(lw.refs, AppRef{AppID: a.AppID, Name: a.Name})
		lw.sync(t, a.AppID, linkNow.Add(-2*time.Hour))
	}
	lw.refs = append(lw.refs, AppRef{AppID: "wxghst0000000006", Name: "ghost"})
	// Five news followers leave; the next sync marks them unfollowed.
	lw.unfollowed = w.Followers("wxnews0000000001")[10:15]
	for _, id := range lw.unfollowed {
		if err := w.Unfollow("wxnews0000000001", id); err != nil {
			t.Fatal(err)
		}
	}
	lw.sync(t, "wxnews0000000001", linkNow.Add(-time.Hour))
	return lw
}

func (lw *linkWorld) sync(t *testing.T, appid string, at time.Time) {
	t.Helper()
	src := &worldSource{w: lw.w, appid: appid, page: 64}
	err := Sync(context.Background(), lw.store, appid, src, SyncOptions{Now: func() time.Time { return at }, MaxAge: -1})
	if err != nil {
		t.Fatalf("sync %s: %v", appid, err)
	}
}

// platformOf is the world's platform of each appid.
func (lw *linkWorld) platformOf() map[string]string {
	out := map[string]string{}
	for _, a := range lw.w.Apps() {
		out[a.AppID] = a.Platform
	}
	return out
}

// groupPlatform is the world's platform of a person: that of its apps.
func groupPlatform(platform map[string]string, g map[string][]string) string {
	for appid := range g {
		return platform[appid]
	}
	return ""
}

// truth is the world's own answer: unionid → appid → openids of current
// followers, and the apps that are bound (have a follower with a unionid).
func (lw *linkWorld) truth() (groups map[string]map[string][]string, bound map[string]bool) {
	groups, bound = map[string]map[string][]string{}, map[string]bool{}
	for _, a := range lw.w.Apps() {
		for _, id := range lw.w.Followers(a.AppID) {
			u, _ := lw.w.User(a.AppID, id)
			if u.UnionID == "" {
				continue
			}
			bound[a.AppID] = true
			if groups[u.UnionID] == nil {
				groups[u.UnionID] = map[string][]string{}
			}
			groups[u.UnionID][a.AppID] = append(groups[u.UnionID][a.AppID], id)
		}
	}
	return groups, bound
}

func (lw *linkWorld) ref(name string) AppRef {
	for _, r := range lw.refs {
		if r.Name == name {
			return r
		}
	}
	panic(name)
}

func TestEveryGroupAndMissingMatchTheWorld(t *testing.T) {
	lw := newLinkWorld(t)
	groups, bound := lw.truth()
	platform := lw.platformOf()
	seen := 0
	var prev string
	err := EachGroup(lw.store, lw.refs, func(g *Group) error {
		seen++
		if g.UnionID <= prev {
			t.Errorf("groups out of order: %q after %q", g.UnionID, prev)
		}
		prev = g.UnionID
		want, ok := groups[g.UnionID]
		if !ok {
			t.Errorf("group %s is not a person of the world", g.UnionID)
			return nil
		}
		got := map[string][]string{}
		for _, m := range g.Members {
			got[m.AppID] = append(got[m.AppID], m.OpenID)
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("group %s: members %v, want %v", g.UnionID, got, want)
		}
		// Missing only where the person could be under this unionid: the
		// bound apps of its own platform.
		var wantMissing []string
		for _, r := range lw.refs {
			if bound[r.AppID] && want[r.AppID] == nil && platform[r.AppID] == groupPlatform(platform, want) {
				wantMissing = append(wantMissing, r.AppID)
			}
		}
		if !slices.Equal(g.Missing, wantMissing) {
			t.Errorf("group %s: missing %v, want %v", g.UnionID, g.Missing, wantMissing)
		}
		// Members come in the order of the apps given.
		if !slices.IsSortedFunc(g.Members, func(a, b Member) int {
			return slices.IndexFunc(lw.refs, func(r AppRef) bool { return r.AppID == a.AppID }) -
				slices.IndexFunc(lw.refs, func(r AppRef) bool { return r.AppID == b.AppID })
		}) {
			t.Errorf("group %s: members not in app order: %v", g.UnionID, g.Members)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(groups) {
		t.Errorf("%d groups, the world has %d persons with a unionid", seen, len(groups))
	}
}

func TestAnalyzeCountsPairsPlatformsAndMissingAsTheWorld(t *testing.T) {
	lw := newLinkWorld(t)
	groups, bound := lw.truth()
	platform := lw.platformOf()
	l, err := Analyze(lw.store, AnalyzeOptions{Apps: lw.refs, Now: linkNow})
	if err != nil {
		t.Fatal(err)
	}
	if l.Persons != int64(len(groups)) {
		t.Errorf("persons %d, want %d", l.Persons, len(groups))
	}
	for i, a := range l.Apps {
		if a.Bound != bound[a.AppID] {
			t.Errorf("%s bound %t, want %t", a.Name, a.Bound, bound[a.AppID])
		}
		var persons, missing, other int64
		for _, g := range groups {
			switch {
			case g[a.AppID] != nil:
				persons++
			case !bound[a.AppID]:
			case platform[a.AppID] == groupPlatform(platform, g):
				missing++
			default:
				other++
			}
		}
		if a.Persons != persons || a.Missing != missing || a.OtherPlatforms != other {
			t.Errorf("%s: persons %d missing %d other platforms %d, want %d, %d and %d", a.Name, a.Persons, a.Missing, a.OtherPlatforms, persons, missing, other)
		}
		for j := range l.Apps {
			var shared int64
			for _, g := range groups {
				if g[a.AppID] != nil && g[l.Apps[j].AppID] != nil {
					shared++
				}
			}
			if got := l.Shared(i, j); got != shared {
				t.Errorf("shared(%s, %s) = %d, want %d", a.Name, l.Apps[j].Name, got, shared)
			}
		}
	}
	if len(l.Pairs) != 6*5/2 {
		t.Errorf("%d pairs for 6 apps", len(l.Pairs))
	}
	platforms := map[string]string{}
	for _, a := range l.Apps {
		platforms[a.Name] = a.Platform
	}
	want := map[string]string{"news": "P1", "shop": "P1", "events": "", "legacy": "P2", "quiet": "", "ghost": ""}
	if !maps.Equal(platforms, want) {
		t.Errorf("platforms %v, want %v", platforms, want)
	}
	news := l.Apps[l.Index("wxnews0000000001")]
	if news.Counts.Unfollowed != int64(len(lw.unfollowed)) || news.Counts.Subscribed != 295 {
		t.Errorf("news counts %+v, want 295 following and 5 unfollowed", news.Counts)
	}
	// Legacy's persons are not missing in news and shop, which are on
	// another platform: there they have other unionids.
	shop := l.Apps[l.Index("wxshop0000000002")]
	if legacy := l.Apps[l.Index("wxlgcy0000000004")]; shop.OtherPlatforms != legacy.Persons || legacy.Missing != 0 {
		t.Errorf("shop: %d persons of other platforms, legacy has %d; legacy missing %d, want 0", shop.OtherPlatforms, legacy.Persons, legacy.Missing)
	}
}

func findingsByKind(l *Links) map[FindingKind][]Finding {
	out := map[FindingKind][]Finding{}
	for _, f := range l.Findings {
		out[f.Kind] = append(out[f.Kind], f)
	}
	return out
}

func TestFindingsNameTheUnboundAppTheSeparatePlatformAndTheUnsyncedApp(t *testing.T) {
	lw := newLinkWorld(t)
	l, err := Analyze(lw.store, AnalyzeOptions{Apps: lw.refs, Now: linkNow})
	if err != nil {
		t.Fatal(err)
	}
	by := findingsByKind(l)
	if len(by[UnboundApp]) != 1 {
		t.Fatalf("unbound_app findings: %+v", by[UnboundApp])
	}
	f := by[UnboundApp][0]
	if !slices.Equal(f.Apps, []string{"events"}) || f.Count != 120 || len(f.Examples) != 3 {
		t.Errorf("unbound_app: %+v", f)
	}
	// The platform to bind events to is the one news and shop are on.
	if !slices.Equal(f.BindTo, []string{"news", "shop"}) || !f.Synced {
		t.Errorf("unbound_app: bind to %v, synced %v; want news and shop, synced", f.BindTo, f.Synced)
	}
	for _, ex := range f.Examples {
		if !slices.Contains(lw.w.Followers("wxevnt0000000003"), ex) {
			t.Errorf("example %s is not an events follower", ex)
		}
	}

	var pairs []string
	for _, f := range by[SeparatePlatform] {
		pairs = append(pairs, strings.Join(f.Apps, "↔"))
	}
	sort.Strings(pairs)
	if !slices.Equal(pairs, []string{"legacy↔news", "legacy↔shop"}) {
		t.Errorf("separate_platform pairs %v, want legacy↔news and legacy↔shop", pairs)
	}
	if len(by[Incomplete]) != 1 || by[Incomplete][0].Apps[0] != "ghost" || by[Incomplete][0].Count != 0 || by[Incomplete][0].Stopped {
		t.Errorf("incomplete: %+v", by[Incomplete])
	}
	for _, k := range []FindingKind{NoUnionID, Conflict, Stale} {
		if len(by[k]) > 0 {
			t.Errorf("unexpected %s: %+v", k, by[k])
		}
	}

	// A day later every synced app is stale.
	l, err = Analyze(lw.store, AnalyzeOptions{Apps: lw.refs, Now: linkNow.Add(25 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(findingsByKind(l)[Stale]); got != 5 {
		t.Errorf("%d stale findings a day later, want 5 (every synced app)", got)
	}
}

func TestConflictAndNoUnionIDAreFoundWithExamples(t *testing.T) {
	lw := newLinkWorld(t)
	shop := lw.ref("shop")
	// A second openid for a person shop already has, and a follower of the
	// bound shop without a unionid.
	var union string
	_ = EachGroup(lw.store, lw.refs, func(g *Group) error {
		if union == "" && g.Members[len(g.Members)-1].AppID == shop.AppID {
			union = g.UnionID
		}
		return nil
	})
	err := lw.store.PutProfiles(shop.AppID, []Profile{
		{OpenID: "oShopDuplicate000000000000001", UnionID: union, Subscribed: true},
		{OpenID: "oShopNoUnion0000000000000001", Subscribed: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Analyze(lw.store, AnalyzeOptions{Apps: lw.refs, Now: linkNow})
	if err != nil {
		t.Fatal(err)
	}
	by := findingsByKind(l)
	if c := by[Conflict]; len(c) != 1 || c[0].Count != 1 || !slices.Equal(c[0].Examples, []string{union}) || c[0].Apps[0] != "shop" {
		t.Errorf("conflict: %+v, want shop with example %s", c, union)
	}
	if n := by[NoUnionID]; len(n) != 1 || n[0].Count != 1 || !slices.Equal(n[0].Examples, []string{"oShopNoUnion0000000000000001"}) {
		t.Errorf("no_unionid: %+v", n)
	}
	p, err := lw.store.Person(union, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Apps[1].Profiles); got != 2 {
		t.Errorf("the conflicting person shows %d shop profiles, want 2", got)
	}
}

func TestPersonByOpenIDShowsEveryAppAndWhyOthersAreMissing(t *testing.T) {
	lw := newLinkWorld(t)
	groups, _ := lw.truth()
	// A person in news and shop.
	var union string
	for u, g := range groups {
		if g["wxnews0000000001"] != nil && g["wxshop0000000002"] != nil {
			union = u
			break
		}
	}
	newsID, shopID := groups[union]["wxnews0000000001"][0], groups[union]["wxshop0000000002"][0]
	p, err := lw.store.Person(newsID, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindOpenID || p.UnionID != union {
		t.Fatalf("kind %s unionid %s, want openid and %s", p.Kind, p.UnionID, union)
	}
	reasons := map[string]Reason{}
	for _, a := range p.Apps {
		reasons[a.Name] = a.Reason
	}
	want := map[string]Reason{"news": ReasonNone, "shop": ReasonNone, "events": ReasonNotBound, "legacy": ReasonOtherPlatform, "quiet": ReasonNotBound, "ghost": ReasonNotSynced}
	if !maps.Equal(reasons, want) {
		t.Errorf("reasons %v, want %v", reasons, want)
	}
	if got := p.Apps[1].Profiles; len(got) != 1 || got[0].OpenID != shopID {
		t.Errorf("shop profiles %+v, want %s", got, shopID)
	}
	// legacy is bound, but to another platform: the person is not missing
	// there (it has another unionid there), and Person says so.
	if len(p.Missing) != 0 || p.Platform != "P1" {
		t.Errorf("missing %v, platform %q; want none (legacy is on P2), P1", p.Missing, p.Platform)
	}

	// The same person by unionid.
	q, err := lw.store.Person(union, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if q.Kind != KindUnionID || len(q.Profiles()) != 2 || !slices.Equal(q.Missing, p.Missing) {
		t.Errorf("by unionid: kind %s, %d profiles, missing %v", q.Kind, len(q.Profiles()), q.Missing)
	}
}

func TestPersonOfAnUnfollowerKeepsTheHistory(t *testing.T) {
	lw := newLinkWorld(t)
	id := lw.unfollowed[0]
	p, err := lw.store.Person(id, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	news := p.Apps[0]
	if p.Kind != KindOpenID || len(news.Profiles) != 1 || StatusOf(&news.Profiles[0]) != StatusUnfollowed || news.Reason != ReasonUnfollowed {
		t.Fatalf("unfollower: kind %s, news %+v", p.Kind, news)
	}
	if news.Profiles[0].UnfollowedAt != linkNow.Add(-time.Hour).Unix() {
		t.Errorf("unfollowed_at %d, want %d", news.Profiles[0].UnfollowedAt, linkNow.Add(-time.Hour).Unix())
	}
	// The unionid it had still finds its other openids, and news counts as
	// missing: the person no longer follows it.
	if p.UnionID == "" || !slices.Contains(p.Missing, "wxnews0000000001") {
		t.Errorf("unionid %q, missing %v", p.UnionID, p.Missing)
	}
	person, _ := lw.w.Person("wxnews0000000001", id)
	shopID := lw.w.OpenID("wxshop0000000002", person)
	if u, _ := lw.w.User("wxshop0000000002", shopID); u.Subscribe == 1 {
		if got := p.Apps[1].Profiles; len(got) != 1 || got[0].OpenID != shopID {
			t.Errorf("shop profiles %+v, want %s", got, shopID)
		}
	}
}

func TestPersonOfAnUnboundFollowerSaysNothingCanBeFound(t *testing.T) {
	lw := newLinkWorld(t)
	id := lw.w.Followers("wxevnt0000000003")[0]
	p, err := lw.store.Person(id, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindOpenID || p.UnionID != "" || len(p.Missing) != 0 {
		t.Fatalf("kind %s unionid %q missing %v", p.Kind, p.UnionID, p.Missing)
	}
	// Why: the app it was found in, events, is not bound.
	if r := p.Apps[0]; r.Reason != ReasonNoUnionID {
		t.Errorf("news: %s, want %s", r.Reason, ReasonNoUnionID)
	}
	if ev := p.Apps[2]; ev.Name != "events" || ev.Bound || len(ev.Profiles) != 1 || ev.Profiles[0].OpenID != id {
		t.Errorf("events: %+v, want the unbound app holding %s", ev, id)
	}
}

func TestUnknownOpenIDIsGuessedFromThePrefixAndABadOneIsNot(t *testing.T) {
	lw := newLinkWorld(t)
	// A person of the world who never followed shop has an openid there.
	var stranger string
	for person := range 700 {
		id := lw.w.OpenID("wxshop0000000002", person)
		if !slices.Contains(lw.w.Followers("wxshop0000000002"), id) {
			stranger = id
			break
		}
	}
	p, err := lw.store.Person(stranger, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindUnknown || p.Guess == nil || p.Guess.AppID != "wxshop0000000002" || p.Guess.App != "shop" {
		t.Fatalf("kind %s guess %+v, want shop", p.Kind, p.Guess)
	}
	// Why: every cached shop openid begins as the stranger's does.
	if g := p.Guess; len(g.Prefix) < minPrefix || !strings.HasPrefix(stranger, g.Prefix) || g.Cached != 250 {
		t.Errorf("guess from prefix %q of %d openids, want a prefix of %s from shop's 250", g.Prefix, g.Cached, stranger)
	}
	bad := "oBAD" + strings.Repeat("x", 24)
	p, err = lw.store.Person(bad, lw.refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindUnknown || p.Guess == nil || p.Guess.AppID != "" {
		t.Errorf("bad openid: kind %s guess %+v, want no app", p.Kind, p.Guess)
	}
}

func TestStoreFetchedIndexesALiveAnswerAndKeepsHistoryOnUnfollow(t *testing.T) {
	s := openTestStore(t, Options{})
	p := Profile{OpenID: "oLive000000000000000000000001", UnionID: "uLive", Subscribed: true, Remark: "vip"}
	if err := s.StoreFetched("wxa", []Profile{p}, linkNow); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Members("uLive"); len(m) != 1 {
		t.Fatalf("members after a live fetch: %v", m)
	}
	if err := s.StoreFetched("wxa", []Profile{{OpenID: p.OpenID}}, linkNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Profile("wxa", p.OpenID)
	if got.Remark != "vip" || got.UnionID != "uLive" || got.UnfollowedAt != linkNow.Add(time.Hour).Unix() {
		t.Errorf("after unfollow: %+v", got)
	}
	if m, _ := s.Members("uLive"); len(m) != 0 {
		t.Errorf("an unfollower is still a member: %v", m)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestEmptyCacheAndOneAppAnalyseWithoutFindingsOfLinks(t *testing.T) {
	s := openTestStore(t, Options{})
	l, err := Analyze(s, AnalyzeOptions{Now: linkNow})
	if err != nil || len(l.Apps) != 0 || l.Persons != 0 || len(l.Findings) != 0 {
		t.Fatalf("empty cache: %+v, %v", l, err)
	}
	refs := []AppRef{{AppID: "wxnone", Name: "none"}}
	l, err = Analyze(s, AnalyzeOptions{Apps: refs, Now: linkNow})
	if err != nil || len(l.Findings) != 1 || l.Findings[0].Kind != Incomplete {
		t.Fatalf("configured, never synced: %+v, %v", l, err)
	}
	p, err := s.Person("oNothing00000000000000000001", refs)
	if err != nil || p.Kind != KindUnknown || p.Guess == nil || p.Guess.AppID != "" {
		t.Fatalf("person in an empty cache: %+v, %v", p, err)
	}
	if err := EachGroup(s, refs, func(*Group) error { return errors.New("no group expected") }); err != nil {
		t.Fatal(err)
	}
}

// A person of news and events's platform who does not follow shop is
// missing in shop, and one of legacy (P2) is missing nowhere on P1.
func TestMissingOnlyOnThePersonsOwnPlatform(t *testing.T) {
	lw := newLinkWorld(t)
	groups, _ := lw.truth()
	var onlyNews, onlyLegacy string
	for u, g := range groups {
		switch {
		case len(g) == 1 && g["wxnews0000000001"] != nil:
			onlyNews = u
		case len(g) == 1 && g["wxlgcy0000000004"] != nil:
			onlyLegacy = u
		}
	}
	p, err := lw.store.Person(onlyNews, lw.refs)
	if err != nil || !slices.Equal(p.Missing, []string{"wxshop0000000002"}) {
		t.Errorf("a news-only person: missing %v (%v), want shop", p.Missing, err)
	}
	q, err := lw.store.Person(onlyLegacy, lw.refs)
	if err != nil || len(q.Missing) != 0 || q.Platform != "P2" {
		t.Fatalf("a legacy-only person: missing %v, platform %q (%v); want none, P2", q.Missing, q.Platform, err)
	}
	for _, a := range q.Apps {
		if (a.Name == "news" || a.Name == "shop") && a.Reason != ReasonOtherPlatform {
			t.Errorf("%s: reason %s, want other_platform", a.Name, a.Reason)
		}
	}
}

// Platforms are labelled by size: a small platform first in the config is
// still P2.
func TestPlatformsAreLabelledLargestFirst(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 9, Apps: []wechattest.AppSpec{
		{Name: "old", AppID: "wxold00000000001", Platform: "PX", Followers: 40},
		{Name: "news", AppID: "wxnews0000000001", Platform: "PY", Followers: 300},
		{Name: "shop", AppID: "wxshop0000000002", Platform: "PY", Followers: 200},
	}})
	lw := &linkWorld{w: w, store: openTestStore(t, Options{})}
	for _, a := range w.Apps() {
		lw.refs = append(lw.refs, AppRef{AppID: a.AppID, Name: a.Name})
		lw.sync(t, a.AppID, linkNow)
	}
	l, err := Analyze(lw.store, AnalyzeOptions{Apps: lw.refs, Now: linkNow})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{l.Apps[0].Platform, l.Apps[1].Platform, l.Apps[2].Platform}
	if !slices.Equal(got, []string{"P2", "P1", "P1"}) {
		t.Errorf("platforms of old, news, shop: %v, want P2, P1, P1", got)
	}
	p, err := lw.store.Person(w.Followers("wxold00000000001")[0], lw.refs)
	if err != nil || p.Platform != "P2" || p.Apps[1].Platform != "P1" {
		t.Errorf("Person labels: %q, news %q (%v)", p.Platform, p.Apps[1].Platform, err)
	}
}
