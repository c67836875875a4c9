package wording

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"wxscope/cache"
)

// The cache these tests word, written through the real Store:
//
//	news   bound: 6 followers, unionids u0…u5; u5 unfollows after the sync
//	shop   bound, same platform: u0…u2
//	events not bound: 3 followers without unionid
//	legacy bound to another platform: v0…v2
//	ghost  configured, never synced
var (
	at   = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	refs = []cache.AppRef{{AppID: "wxnews", Name: "news"}, {AppID: "wxshop", Name: "shop"},
		{AppID: "wxevents", Name: "events"}, {AppID: "wxlegacy", Name: "legacy"}, {AppID: "wxghost", Name: "ghost"}}
)

func id(prefix string, i int) string {
	return (prefix + "000000000000000000000000000")[:27] + string(rune('0'+i))
}

// list is a cache.Source over followers in memory: one page.
type list []cache.Profile

func (l list) ListFollowers(_ context.Context, next string) (cache.FollowerPage, error) {
	if next != "" {
		return cache.FollowerPage{Last: true}, nil
	}
	p := cache.FollowerPage{Total: len(l), Last: true}
	for _, f := range l {
		p.OpenIDs = append(p.OpenIDs, f.OpenID)
	}
	p.Next = p.OpenIDs[len(p.OpenIDs)-1]
	return p, nil
}

func (l list) Profiles(_ context.Context, openids []string) (map[string]cache.Profile, error) {
	out := map[string]cache.Profile{}
	for _, f := range l {
		if slices.Contains(openids, f.OpenID) {
			out[f.OpenID] = f
		}
	}
	return out, nil
}

func testStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "wxscope.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sync := func(appid string, when time.Time, ps list) {
		if err := cache.Sync(context.Background(), s, appid, ps, cache.SyncOptions{Now: func() time.Time { return when }}); err != nil {
			t.Fatal(err)
		}
	}
	follower := func(app string, i int, union string) cache.Profile {
		return cache.Profile{OpenID: id("o"+app, i), UnionID: union, Subscribed: true}
	}
	var news, shop, events, legacy list
	for i := range 6 {
		news = append(news, follower("News", i, id("u", i)))
	}
	for i := range 3 {
		shop = append(shop, follower("Shop", i, id("u", i)))
		events = append(events, follower("Evts", i, ""))
		legacy = append(legacy, follower("Lgcy", i, id("v", i)))
	}
	sync("wxnews", at.Add(-3*time.Hour), news)
	sync("wxshop", at.Add(-3*time.Hour), shop)
	sync("wxevents", at.Add(-3*time.Hour), events)
	sync("wxlegacy", at.Add(-3*time.Hour), legacy)
	sync("wxnews", at.Add(-time.Hour), news[:5]) // u5 unfollows news
	return s
}

func TestFindingsOfARealCacheInWords(t *testing.T) {
	s := testStore(t)
	l, err := cache.Analyze(s, cache.AnalyzeOptions{Apps: refs, Now: at, MinSeparate: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := map[cache.FindingKind][2]string{}
	for i := range l.Findings {
		f := &l.Findings[i]
		got[f.Kind] = [2]string{Finding(CLI, f).Detail(), Finding(TUI, f).Detail()}
	}
	for kind, want := range map[cache.FindingKind][2]string{
		cache.UnboundApp: {"events: none of 3 followers carries a unionid — bind events to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)",
			"events: none of 3 followers carries a unionid — bind events to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)"},
		cache.Incomplete: {"ghost: never synced — run wxscope sync --app ghost", "ghost: never synced — press s on ghost's row"},
	} {
		if got[kind] != want {
			t.Errorf("%s:\n got %q\nwant %q", kind, got[kind], want)
		}
	}
	l, err = cache.Analyze(s, cache.AnalyzeOptions{Apps: refs, Now: at.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Findings {
		if f := &l.Findings[i]; f.Kind == cache.Stale && f.Apps[0] == "legacy" {
			if got := Finding(CLI, f).Detail(); got != "legacy: last synced 51 h ago — run wxscope sync --app legacy for current follows and unfollows" {
				t.Errorf("stale legacy: %q", got)
			}
		}
	}
}

// TestAbsenceSaysWhyEachAppHasNoOpenID looks people up in a real cache and
// words every app they are not in, for both audiences.
func TestAbsenceSaysWhyEachAppHasNoOpenID(t *testing.T) {
	s := testStore(t)
	cases := []struct {
		id       string
		app      int
		cli, tui string
	}{
		// A news follower: legacy is another platform, events not bound,
		// ghost never synced.
		{id("oNews", 3), 3, "not there under this unionid; legacy is bound to another open platform (P2), where this person would have another unionid, so it is not counted as missing there",
			"not there under this unionid; legacy is bound to another open platform (P2), where this person would have another unionid, so it is not counted as missing there"},
		{id("oNews", 3), 2, "events is not bound: its followers carry no unionid, so this person cannot be found there by unionid",
			"events is not bound: its followers carry no unionid, so this person cannot be found there by unionid"},
		{id("oNews", 3), 1, "does not follow shop", "does not follow shop"},
		{id("oNews", 3), 4, "ghost has not been synced yet: run wxscope sync --app ghost", "not known yet: ghost is not fully synced"},
		// An events follower carries no unionid: nobody can tell.
		{id("oEvts", 0), 0, "this follower carries no unionid (events is not bound to an open platform), so its openid in news cannot be found",
			"cannot tell: this follower carries no unionid (events is not bound to an open platform), so its openid in news cannot be found"},
		// The person who unfollowed news keeps the date.
		{id("u", 5), 0, "unfollowed news on " + time.Unix(at.Add(-time.Hour).Unix(), 0).Format("2006-01-02"), "unfollowed news on " + time.Unix(at.Add(-time.Hour).Unix(), 0).Format("2006-01-02")},
	}
	for _, c := range cases {
		p, err := s.Person(c.id, refs)
		if err != nil {
			t.Fatal(err)
		}
		if got := Absence(CLI, p, c.app); got != c.cli {
			t.Errorf("%s in %s, command line:\n got %q\nwant %q", c.id, refs[c.app].Name, got, c.cli)
		}
		if got := Absence(TUI, p, c.app); got != c.tui {
			t.Errorf("%s in %s, TUI:\n got %q\nwant %q", c.id, refs[c.app].Name, got, c.tui)
		}
	}
	// A following member has nothing to explain.
	p, err := s.Person(id("oNews", 3), refs)
	if err != nil {
		t.Fatal(err)
	}
	if got := Absence(CLI, p, 0); got != "" {
		t.Errorf("news, where the person follows: %q", got)
	}
}

func TestAbsenceOfAnAppStillSyncingAndOfALiveNonFollower(t *testing.T) {
	mk := func(a cache.PersonApp) *cache.Person {
		return &cache.Person{Kind: cache.KindUnionID, UnionID: "u", Apps: []cache.PersonApp{a}}
	}
	bound := cache.PersonApp{AppRef: cache.AppRef{Name: "mall"}, Bound: true, Reason: cache.ReasonNotSynced,
		Counts: cache.Counts{Profiles: 9400, Subscribed: 9000, WithUnionID: 8000}}
	unbound := bound
	unbound.Bound, unbound.Counts.WithUnionID = false, 0
	empty := cache.PersonApp{AppRef: cache.AppRef{Name: "quiet"}, Reason: cache.ReasonNotBound}
	live := cache.PersonApp{AppRef: cache.AppRef{Name: "news"}, Reason: cache.ReasonNotFollowing,
		Profiles: []cache.Profile{{OpenID: "o", FetchedAt: at.Unix()}}}
	for _, c := range []struct {
		a        cache.PersonApp
		cli, tui string
	}{
		{bound, "not among the 9 400 followers of mall cached so far; its sync has not finished", "not known yet: mall is not fully synced"},
		{unbound, "none of the 9 000 followers of mall cached so far carries a unionid, and its sync has not finished", "not known yet: mall is not fully synced"},
		{empty, "quiet has no followers", "quiet is not bound: its followers carry no unionid, so this person cannot be found there by unionid"},
		{live, "does not follow news (the API said so on " + time.Unix(at.Unix(), 0).Format("2006-01-02") + ")", "does not follow news (the API said so on " + time.Unix(at.Unix(), 0).Format("2006-01-02") + ")"},
	} {
		p := mk(c.a)
		if got := Absence(CLI, p, 0); got != c.cli {
			t.Errorf("command line:\n got %q\nwant %q", got, c.cli)
		}
		if got := Absence(TUI, p, 0); got != c.tui {
			t.Errorf("TUI:\n got %q\nwant %q", got, c.tui)
		}
	}
}

func TestGuessSaysWhichPrefixItWentBy(t *testing.T) {
	s := testStore(t)
	p, err := s.Person("oLgcy00000000000000000000009", refs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Guess == nil || p.Guess.App != "legacy" {
		t.Fatalf("guess %+v, want legacy", p.Guess)
	}
	if got, want := Guess(p.Guess), `the 3 cached openids of legacy all begin with "`+id("oLgcy", 0)[:27]+`", as this one does`; got != want {
		t.Errorf("guess:\n got %q\nwant %q", got, want)
	}
	if got := Guess(&cache.Guess{}); got != "no synced app's openids begin like this id: it may be a unionid the cache does not hold, or an openid of an app not synced yet" {
		t.Errorf("no guess: %q", got)
	}
}
