package syncer

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// simSyncer is a Syncer over a fresh cache and a simulator of world.
type simSyncer struct {
	srv   *wechattest.Server
	world *wechattest.World
	cfg   *config.Config
	store *cache.Store
	s     *Syncer
}

func newSimSyncer(t *testing.T, world *wechattest.World, opts ...wechattest.Option) *simSyncer {
	t.Helper()
	srv := wechattest.NewServer(world, opts...)
	t.Cleanup(srv.Close)
	cfg := &config.Config{Cache: filepath.Join(t.TempDir(), "wxscope.db"), APIBase: srv.URL, Concurrency: 2, MaxAge: time.Hour}
	for _, a := range world.Apps() {
		cfg.Apps = append(cfg.Apps, config.App{Name: a.Name, AppID: a.AppID, Token: config.TokenStable,
			SecretEnv: "WX_" + strings.ToUpper(a.Name), Secret: config.NewSecret(a.Secret)})
	}
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &simSyncer{srv: srv, world: world, cfg: cfg, store: store, s: New(cfg, store, Options{Command: "test"})}
}

func (ss *simSyncer) app(t *testing.T, name string) config.App {
	t.Helper()
	a, ok := ss.cfg.App(name)
	if !ok {
		t.Fatalf("no app %q", name)
	}
	return a
}

func (ss *simSyncer) sync(t *testing.T, name string) error {
	t.Helper()
	return ss.s.Sync(context.Background(), ss.app(t, name), nil, time.Hour)
}

func (ss *simSyncer) storedBlacklist(t *testing.T, appid string) []string {
	t.Helper()
	var got []string
	if err := ss.store.EachBlacklisted(appid, func(id string) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func sorted(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// A sync reads the tags and every page of the blacklist, whatever the page
// size; the next sync reads them again and the cache follows WeChat exactly,
// an openid taken off the blacklist included.
func TestSyncStoresTagsAndTheWholeBlacklist(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 5, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 4000, Blacklisted: 2500},
	}})
	ss := newSimSyncer(t, world, wechattest.WithBlacklistPageSize(1000))
	a := world.Apps()[0]
	if err := ss.sync(t, "news"); err != nil {
		t.Fatal(err)
	}
	if n := ss.srv.Calls("/" + wechat.PathBlacklist); n != 4 {
		t.Errorf("getblacklist called %d times for 2 500 at 1 000 a page, want 4 (3 pages and the empty answer)", n)
	}
	l, err := ss.store.Tags(a.AppID)
	if err != nil {
		t.Fatal(err)
	}
	want := world.Tags(a.AppID)
	if len(l.Tags) != len(want) || l.Unavailable != "" || l.ReadAt.IsZero() {
		t.Fatalf("stored tags %+v, the API lists %+v", l, want)
	}
	for i, w := range want {
		if g := l.Tags[i]; g.ID != w.ID || g.Name != w.Name || g.Count != w.Count {
			t.Errorf("tag %d: stored %+v, the API says %+v", i, g, w)
		}
	}
	if got := l.Name(wechattest.DeletedTagID); got != "103" {
		t.Errorf("the deleted tag is named %q, want its number", got)
	}
	if got, want := ss.storedBlacklist(t, a.AppID), sorted(world.Blacklist(a.AppID)); !slices.Equal(got, want) {
		t.Fatalf("stored blacklist has %d openids, the API lists %d", len(got), len(want))
	}

	bl := world.Blacklist(a.AppID)
	off := bl[0]
	if err := world.SetBlacklisted(a.AppID, off, false); err != nil {
		t.Fatal(err)
	}
	var on string
	for _, id := range world.Followers(a.AppID) {
		if !slices.Contains(bl, id) {
			on = id
			break
		}
	}
	if err := world.SetBlacklisted(a.AppID, on, true); err != nil {
		t.Fatal(err)
	}
	if err := ss.sync(t, "news"); err != nil {
		t.Fatal(err)
	}
	if got, want := ss.storedBlacklist(t, a.AppID), sorted(world.Blacklist(a.AppID)); !slices.Equal(got, want) {
		t.Fatalf("after the blacklist changed: stored %d openids, the API lists %d", len(got), len(want))
	}
	for id, want := range map[string]bool{off: false, on: true} {
		if got, _ := ss.store.Blacklisted(a.AppID, id); got != want {
			t.Errorf("Blacklisted(%s) = %v after the next sync, want %v", id, got, want)
		}
	}
	if err := ss.store.Check(); err != nil {
		t.Fatal(err)
	}
}

// The blacklist is read while the followers sync, up to prefetchedOpenIDs
// openids; a longer one goes on from its cursor after the sync, and the
// store takes it whole all the same.
func TestABlacklistLongerThanWhatIsReadBesideTheSyncGoesOnFromItsCursor(t *testing.T) {
	old := prefetchedOpenIDs
	prefetchedOpenIDs = 1000
	t.Cleanup(func() { prefetchedOpenIDs = old })
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 6, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 4000, Blacklisted: 2500},
	}})
	ss := newSimSyncer(t, world, wechattest.WithBlacklistPageSize(700))
	a := world.Apps()[0]
	if err := ss.sync(t, "news"); err != nil {
		t.Fatal(err)
	}
	if n := ss.srv.Calls("/" + wechat.PathBlacklist); n != 5 {
		t.Errorf("getblacklist called %d times for 2 500 at 700 a page, want 5 (4 pages and the empty answer)", n)
	}
	if got, want := ss.storedBlacklist(t, a.AppID), sorted(world.Blacklist(a.AppID)); !slices.Equal(got, want) {
		t.Fatalf("stored blacklist has %d openids, the API lists %d", len(got), len(want))
	}
	if st, err := ss.store.BlacklistState(a.AppID); err != nil || st.Unavailable != "" || st.Count != 2500 {
		t.Fatalf("blacklist state %+v, %v", st, err)
	}
}

// An unverified account cannot list its tags (48001): its followers sync
// all the same, the cache says why the tags are missing, and its blacklist
// is still read.
func TestTagsOfAnUnverifiedAccountAreUnavailableAndTheSyncGoesOn(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 6, Apps: []wechattest.AppSpec{
		{Name: "events", Followers: 300, Blacklisted: 7, Unverified: true},
	}})
	ss := newSimSyncer(t, world)
	a := world.Apps()[0]
	if err := ss.sync(t, "events"); err != nil {
		t.Fatalf("sync of an unverified account: %v, want the followers synced", err)
	}
	if app, _, _ := ss.store.App(a.AppID); app.Counts.Subscribed != 300 {
		t.Errorf("%d followers synced, want 300", app.Counts.Subscribed)
	}
	l, _ := ss.store.Tags(a.AppID)
	if !strings.Contains(l.Unavailable, "48001") || !strings.Contains(l.Unavailable, "events") || l.TriedAt.IsZero() || !l.ReadAt.IsZero() {
		t.Errorf("tags of an unverified account: %+v, want them unavailable with 48001 named", l)
	}
	if got := ss.storedBlacklist(t, a.AppID); len(got) != 7 {
		t.Errorf("blacklist of the unverified account: %d openids, want 7", len(got))
	}
}

// A blacklist listing that breaks off keeps the list of the last complete
// read and says why; the sync itself succeeds.
func TestABrokenBlacklistListingKeepsTheLastOne(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 7, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 800, Blacklisted: 30},
	}})
	ss := newSimSyncer(t, world, wechattest.WithBlacklistPageSize(10))
	a := world.Apps()[0]
	if err := ss.sync(t, "news"); err != nil {
		t.Fatal(err)
	}
	before := ss.storedBlacklist(t, a.AppID)
	ss.srv.Inject(wechattest.Fault{Path: "/" + wechat.PathBlacklist, Errcode: 49003, After: 1})
	if err := world.SetBlacklisted(a.AppID, world.Blacklist(a.AppID)[0], false); err != nil {
		t.Fatal(err)
	}
	if err := ss.sync(t, "news"); err != nil {
		t.Fatalf("a sync whose blacklist listing broke off: %v, want success", err)
	}
	st, _ := ss.store.BlacklistState(a.AppID)
	if got := ss.storedBlacklist(t, a.AppID); !slices.Equal(got, before) {
		t.Errorf("after a broken listing the blacklist has %d openids, want the %d of the last complete read", len(got), len(before))
	}
	if !strings.Contains(st.Unavailable, "49003") || !st.TriedAt.After(st.ReadAt) {
		t.Errorf("state after a broken listing: %+v, want the reason with 49003 and a later attempt", st)
	}
}
