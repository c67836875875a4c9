package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
)

// The links world of the tests, written through the real Store:
//
//	news   bound (P1): 10 followers, unionids u00…u09
//	shop   bound (P1): u00…u03 (shared with news), u10, u11, and 2 followers without unionid
//	events not bound:  4 followers, none with a unionid
//	legacy bound (P2): 3 followers, unionids v00…v02 (shares nobody)
var linkApps = []cache.AppRef{
	{AppID: "wxnews", Name: "news"},
	{AppID: "wxshop", Name: "shop"},
	{AppID: "wxevents", Name: "events"},
	{AppID: "wxlegacy", Name: "legacy"},
}

func uid(prefix string, i int) string {
	return fmt.Sprintf("o%sUnion%02dXkLm2nB7cD9eF1gH3i", prefix, i)[:28]
}

func oid(app string, i int) string { return fmt.Sprintf("o%sOpen%02dQ9w2E5r7T1y3U6iAbCd", app, i)[:28] }

func follower(app string, i int, unionid string) cache.Profile {
	return cache.Profile{OpenID: oid(app, i), UnionID: unionid, Subscribed: true,
		SubscribeTime: day(i), SubscribeScene: "ADD_SCENE_QR_CODE", FetchedAt: testNow.Unix()}
}

// linksStore builds the world in a cache file under t.TempDir().
func linksStore(t testing.TB) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "wxscope.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	put := func(appid string, ps []cache.Profile) {
		err := cache.Sync(context.Background(), s, appid, listSource(ps), cache.SyncOptions{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
	}
	var news, shop, events, legacy []cache.Profile
	for i := range 10 {
		news = append(news, follower("News", i, uid("P1", i)))
	}
	for i := range 4 {
		shop = append(shop, follower("Shop", i, uid("P1", i)))
	}
	shop = append(shop, follower("Shop", 10, uid("P1", 10)), follower("Shop", 11, uid("P1", 11)),
		follower("Shop", 20, ""), follower("Shop", 21, ""))
	for i := range 4 {
		events = append(events, follower("Evts", i, ""))
	}
	for i := range 3 {
		legacy = append(legacy, follower("Lgcy", i, uid("P2", i)))
	}
	put("wxnews", news)
	put("wxshop", shop)
	put("wxevents", events)
	put("wxlegacy", legacy)
	names := map[string]string{}
	for _, a := range linkApps {
		names[a.AppID] = a.Name
	}
	if err := s.SetAppNames(names); err != nil {
		t.Fatal(err)
	}
	return s
}

// listSource is the tiniest cache.Source: one page with every follower.
type listSource []cache.Profile

func (l listSource) ListFollowers(_ context.Context, next string) (cache.FollowerPage, error) {
	if next != "" {
		return cache.FollowerPage{Last: true}, nil
	}
	p := cache.FollowerPage{Total: len(l), Last: true}
	for _, f := range l {
		p.OpenIDs = append(p.OpenIDs, f.OpenID)
	}
	if len(p.OpenIDs) > 0 {
		p.Next = p.OpenIDs[len(p.OpenIDs)-1]
	}
	return p, nil
}

func (l listSource) Profiles(_ context.Context, openids []string) (map[string]cache.Profile, error) {
	out := map[string]cache.Profile{}
	for _, f := range l {
		if slices.Contains(openids, f.OpenID) {
			out[f.OpenID] = f
		}
	}
	return out, nil
}

// storeLinks is a LinksReader over the cache.
type storeLinks struct {
	s    *cache.Store
	apps []cache.AppRef
}

func (a storeLinks) Analyze(context.Context) (*cache.Links, error) {
	return cache.Analyze(a.s, cache.AnalyzeOptions{Apps: a.apps, Now: testNow, MinSeparate: 2})
}

func (a storeLinks) EachGroup(_ context.Context, fn func(*cache.Group) error) error {
	return cache.EachGroup(a.s, a.apps, fn)
}

// storePersons is a PersonFinder over the cache.
type storePersons struct {
	s    *cache.Store
	apps []cache.AppRef
}

func (a storePersons) Person(_ context.Context, id string) (*cache.Person, error) {
	p, err := a.s.Person(id, a.apps)
	if err != nil {
		return nil, err
	}
	if !p.Found() {
		return nil, fmt.Errorf("look up %s: %w", id, ErrUnknownID)
	}
	return p, nil
}

// openedFollowers records what a FollowersOpener was asked for.
type openedFollowers struct {
	appID  string
	subset FollowerSubset
}

// stubPage is a page that only says what it is.
type stubPage struct{ text string }

func (p *stubPage) Init() tea.Cmd { return nil }
func (p *stubPage) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "esc" {
		return Pop()
	}
	return nil
}
func (p *stubPage) View() string        { return p.text }
func (p *stubPage) SetSize(int, int)    {}
func (p *stubPage) KeyMap() help.KeyMap { return DefaultInsightsKeys() }
func (p *stubPage) CapturesInput() bool { return false }
func opener(got *[]openedFollowers) FollowersOpener {
	return func(appID string, subset FollowerSubset) Page {
		*got = append(*got, openedFollowers{appID, subset})
		return &stubPage{text: fmt.Sprintf("followers of %s, subset %d", appID, subset)}
	}
}
