package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// memSource is a cache.Source over one app's followers in memory: one page.
type memSource struct{ ps map[string]cache.Profile }

func (m memSource) ListFollowers(_ context.Context, next string) (cache.FollowerPage, error) {
	if next != "" {
		return cache.FollowerPage{Last: true, Total: len(m.ps)}, nil
	}
	ids := make([]string, 0, len(m.ps))
	for id := range m.ps {
		ids = append(ids, id)
	}
	return cache.FollowerPage{OpenIDs: ids, Total: len(m.ps), Last: true}, nil
}

func (m memSource) Profiles(_ context.Context, ids []string) (map[string]cache.Profile, error) {
	out := map[string]cache.Profile{}
	for _, id := range ids {
		out[id] = m.ps[id]
	}
	return out, nil
}

// homeWorld is the fixture of the home tests: news and shop share persons
// on one platform (unionid prefix uA), events carries no unionid, legacy is
// on another platform (prefix uB). Person i follows news for i < 30, shop
// for 10 <= i < 30, events for i < 12, legacy for i < 25.
type homeWorld struct {
	apps    []App
	sources map[string]memSource
}

func newHomeWorld() homeWorld {
	w := homeWorld{
		apps: []App{
			{Name: "news", AppID: "wxnews0000000001"},
			{Name: "shop", AppID: "wxshop0000000002"},
			{Name: "events", AppID: "wxevents00000003"},
			{Name: "legacy", AppID: "wxlegacy00000004"},
		},
		sources: map[string]memSource{},
	}
	add := func(appid, prefix string, union func(i int) string, from, to int) {
		m := memSource{ps: map[string]cache.Profile{}}
		for i := from; i < to; i++ {
			id := fmt.Sprintf("o%s%04d", prefix, i)
			m.ps[id] = cache.Profile{OpenID: id, UnionID: union(i), Subscribed: true,
				SubscribeTime: day(i), SubscribeScene: "ADD_SCENE_SEARCH", Remark: fmt.Sprintf("r%d", i)}
		}
		w.sources[appid] = m
	}
	platA := func(i int) string { return fmt.Sprintf("uA%04d", i) }
	platB := func(i int) string { return fmt.Sprintf("uB%04d", i) }
	add("wxnews0000000001", "NEWS", platA, 0, 30)
	add("wxshop0000000002", "SHOP", platA, 10, 30)
	add("wxevents00000003", "EVNT", func(int) string { return "" }, 0, 12)
	add("wxlegacy00000004", "LGCY", platB, 0, 25)
	return w
}

func (w homeWorld) refs() []cache.AppRef {
	refs := make([]cache.AppRef, len(w.apps))
	for i, a := range w.apps {
		refs[i] = cache.AppRef{AppID: a.AppID, Name: a.Name}
	}
	return refs
}

// syncFunc syncs from the world into store with the real engine.
func (w homeWorld) syncFunc(store *cache.Store, at time.Time) SyncFunc {
	return func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		return cache.Sync(ctx, store, appID, w.sources[appID], cache.SyncOptions{
			Progress: progress, Now: func() time.Time { return at },
		})
	}
}

// openHomeCache returns a temporary cache in which the named apps were
// synced three minutes before testNow.
func openHomeCache(t *testing.T, w homeWorld, synced ...string) *cache.Store {
	t.Helper()
	store, err := cache.Open(filepath.Join(t.TempDir(), "c.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	fn := w.syncFunc(store, testNow.Add(-3*time.Minute))
	for _, name := range synced {
		for _, a := range w.apps {
			if a.Name == name {
				if err := fn(context.Background(), a.AppID, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return store
}

func newHomeRoot(w homeWorld, store *cache.Store, syncs *Syncs, opts Options) *Root {
	src := NewCacheReader(store, w.refs())
	opts.Theme, opts.Persons, opts.Loc = ThemePlain, src, time.UTC
	opts.Now = func() time.Time { return testNow }
	r := NewRoot(opts)
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: src, Syncs: syncs}))
	return r
}

// squash collapses runs of spaces, to compare rows without counting them.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// rowOf returns the screen line of app name, failing when there is none.
func rowOf(t *testing.T, screen, name string) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "▸ "), name+" ") {
			return l
		}
	}
	t.Fatalf("no row for %s:\n%s", name, screen)
	return ""
}

func TestHomeOpensOnTheCacheWithoutSyncing(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events")
	var calls atomic.Int32
	syncs := NewSyncs(func(context.Context, string, func(cache.Progress)) error {
		calls.Add(1)
		return nil
	})
	d := &uitest.Driver{Model: newHomeRoot(w, store, syncs, Options{})}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 20})
	d.Run(d.Model.Init())
	screen := d.Screen()
	lines(t, screen, 150, 20)

	for _, want := range []struct{ app, text string }{
		{"news", "wxnews0000000001"}, {"news", "30        30  P1       100 %  3 min ago"},
		{"shop", "20        20  P1       100 %  3 min ago"},
		{"events", "12        12  no         0 %  3 min ago    ⚠ not bound to an open platform"},
		{"legacy", "—         0  ?            —  never        s to sync"},
	} {
		if row := rowOf(t, screen, want.app); !strings.Contains(squash(row), squash(want.text)) {
			t.Errorf("row of %s lacks %q:\n%s", want.app, want.text, row)
		}
	}
	if !strings.Contains(screen, "wxscope · 4 apps · cache ") || !strings.Contains(screen, "news synced 3 min ago") {
		t.Errorf("title wrong:\n%s", screen)
	}
	if !strings.Contains(screen, "findings  ⚠ events: ") {
		t.Errorf("findings summary missing:\n%s", screen)
	}
	if calls.Load() != 0 {
		t.Errorf("opening the home view started %d syncs; it must stay offline", calls.Load())
	}
}

func TestHomeDropsTheAppidColumnOnANarrowTerminal(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news")
	d := &uitest.Driver{Model: newHomeRoot(w, store, nil, Options{})}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 16})
	d.Run(d.Model.Init())
	if !strings.Contains(d.Screen(), "wxnews0000000001") {
		t.Fatalf("wide screen lacks the appid:\n%s", d.Screen())
	}
	d.Send(tea.WindowSizeMsg{Width: 90, Height: 16})
	screen := d.Screen()
	lines(t, screen, 90, 16)
	if strings.Contains(screen, "wxnews0000000001") {
		t.Errorf("narrow screen still shows the appid:\n%s", screen)
	}
	if row := rowOf(t, screen, "news"); !strings.Contains(row, "P1") || !strings.Contains(row, "done") {
		t.Errorf("narrow row lost its columns: %q", row)
	}
}

func TestHomeEnterOpensFollowersWithPresenceFromTheUnionidIndex(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events", "legacy")
	d := &uitest.Driver{Model: newHomeRoot(w, store, nil, Options{})}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 40})
	d.Run(d.Model.Init())
	d.Send(uitest.Key("enter"))
	screen := d.Screen()
	if !strings.Contains(screen, "news › followers · 30") {
		t.Fatalf("enter did not open news's followers:\n%s", screen)
	}
	// Person 5 follows news and events and legacy, not shop: shop is bound
	// to the same platform, so "·"; events is not bound: "–"; legacy is on
	// another platform, where the person has another unionid: nobody can
	// tell, "–". Person 15 follows news and shop: "✓" under shop.
	check := func(openid, want string) {
		t.Helper()
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(l, openid) {
				f := strings.Fields(l)
				got := strings.Join(f[len(f)-4:len(f)-1], " ")
				if !strings.Contains(squash(l), want) {
					t.Errorf("row %s: presence %q, want %q in %q", openid, got, want, l)
				}
				return
			}
		}
		t.Errorf("no row %s:\n%s", openid, screen)
	}
	check("oNEWS0005", "SEARCH · – –")
	check("oNEWS0015", "SEARCH ✓ – –")

	d.Send(uitest.Key("esc"))
	if !strings.Contains(d.Screen(), "s to sync") && !strings.Contains(d.Screen(), "done") {
		t.Errorf("esc did not come back home:\n%s", d.Screen())
	}
}

func TestPersonFromTheCacheSaysWhyEachAppHasNoOpenid(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events", "legacy")
	src := NewCacheReader(store, w.refs())
	d, err := src.Person(context.Background(), "oNEWS0005")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRoot(Options{Theme: ThemePlain, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewPerson(r.Common(), d))
	drv := &uitest.Driver{Model: r}
	drv.Send(tea.WindowSizeMsg{Width: 200, Height: 12})
	screen := drv.Screen()
	for _, want := range []string{
		"person · unionid uA0005",
		"news    oNEWS0005  following since 2024-01-06 14:05 (SEARCH) · remark \"r5\"",
		"shop    —          does not follow shop",
		"events  —          events is not bound",
		"legacy  —          not there under this unionid; legacy is bound to another open platform (P2)",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("person screen lacks %q:\n%s", want, screen)
		}
	}
	if _, err := src.Person(context.Background(), "nobody"); !errors.Is(err, ErrUnknownID) {
		t.Errorf("unknown id: %v, want ErrUnknownID", err)
	}
}

func TestPresenceIndexAnswersFromTheUnionidIndex(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "legacy")
	x, err := BuildPresence(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 30+20+25 {
		t.Errorf("Len %d, want 75", x.Len())
	}
	for _, c := range []struct {
		app, union string
		want       bool
	}{
		{"wxshop0000000002", "uA0015", true}, {"wxshop0000000002", "uA0005", false},
		{"wxnews0000000001", "uA0029", true}, {"wxlegacy00000004", "uA0001", false},
		{"wxlegacy00000004", "uB0001", true}, {"wxevents00000003", "", false},
	} {
		if got := x.Has(c.app, c.union); got != c.want {
			t.Errorf("Has(%s, %s) = %v, want %v", c.app, c.union, got, c.want)
		}
	}
}

// gate is a SyncFunc that reports progress, waits to be let go, then syncs
// for real (or fails as told).
type gate struct {
	w     homeWorld
	store *cache.Store
	fail  map[string]error
	open  chan struct{}
	saved atomic.Int32 // runs that got to write after their context ended
}

func (g *gate) sync(ctx context.Context, appID string, progress func(cache.Progress)) error {
	if err := g.fail[appID]; err != nil {
		return err
	}
	total := int64(len(g.w.sources[appID].ps))
	progress(cache.Progress{AppID: appID, Phase: cache.PhaseListing, Total: 1000, Listed: 1000,
		Fetched: 590, Rate: 1840, ETA: 4 * time.Second, Retries: 3})
	select {
	case <-g.open:
	case <-ctx.Done():
		// A cancelled sync still writes what it fetched before returning.
		time.Sleep(50 * time.Millisecond)
		g.saved.Add(1)
		return ctx.Err()
	}
	_ = total
	return g.w.syncFunc(g.store, testNow)(ctx, appID, progress)
}

func TestHomeSyncShowsLiveProgressThenTheNewCounts(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	g := &gate{w: w, store: store, open: make(chan struct{})}
	root := newHomeRoot(w, store, NewSyncs(g.sync), Options{})
	p := uitest.Start(t, root, 150, 20)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "s to sync") })

	p.Send(uitest.Key("s"))
	p.WaitFor(t, "news's live bar", func(s string) bool {
		row := rowOf(t, s, "news")
		return strings.Contains(row, "running") && strings.Contains(row, "59 %  1 840/s  ETA 4 s  3 retries") &&
			strings.Contains(row, "█")
	})
	if strings.Contains(rowOf(t, p.Screen(), "shop"), "running") {
		t.Fatalf("s synced more than the app under the cursor:\n%s", p.Screen())
	}
	close(g.open)
	p.WaitFor(t, "news synced", func(s string) bool {
		row := rowOf(t, s, "news")
		return strings.Contains(squash(row), "30 30 P1 100 % just now") && strings.Contains(row, "done 30 fetched")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

func TestHomeSyncAllShowsEachAppsFailureInItsRow(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	reset := time.Date(2024, 6, 2, 0, 0, 0, 0, time.FixedZone("", 8*3600))
	g := &gate{w: w, store: store, open: make(chan struct{}), fail: map[string]error{
		"wxshop0000000002": errors.New("shop cannot sync: $WX_SHOP_SECRET is not set\x1b]0;pwned\x07"),
		"wxlegacy00000004": &cache.QuotaError{API: "cgi-bin/user/get", ResetAt: reset, Err: cache.ErrDailyQuota},
	}}
	close(g.open)
	root := newHomeRoot(w, store, NewSyncs(g.sync), Options{})
	p := uitest.Start(t, root, 150, 20)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "s to sync") })
	p.Send(uitest.Key("S"))
	p.WaitFor(t, "every sync ended", func(s string) bool {
		return strings.Contains(rowOf(t, s, "news"), "done") && strings.Contains(rowOf(t, s, "events"), "done") &&
			strings.Contains(rowOf(t, s, "shop"), "⚠ shop cannot sync: $WX_SHOP_SECRET is not set") &&
			strings.Contains(rowOf(t, s, "legacy"), "user/get quota spent for today — resumes after 00:00 +08:00")
	})
	if strings.Contains(p.Screen(), "pwned") && strings.ContainsRune(p.Screen(), 0x1b) {
		t.Errorf("an escape sequence from an error reached the screen")
	}
	// The cursor on shop shows its whole error under the table.
	p.Send(uitest.Key("j"))
	p.WaitFor(t, "shop's error in full", func(s string) bool {
		return strings.Contains(s, "shop: shop cannot sync: $WX_SHOP_SECRET is not set")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

func TestQuitStopsTheSyncsAndWaitsForThemToSave(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w)
	g := &gate{w: w, store: store, open: make(chan struct{})}
	syncs := NewSyncs(g.sync)
	var savedAtCleanup atomic.Int32
	var once sync.Once
	root := newHomeRoot(w, store, syncs, Options{Cleanup: func() {
		once.Do(func() {
			syncs.Wait()
			savedAtCleanup.Store(g.saved.Load())
		})
	}})
	p := uitest.Start(t, root, 150, 20)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Contains(s, "s to sync") })
	p.Send(uitest.Key("S"))
	p.WaitFor(t, "four running syncs", func(s string) bool { return strings.Count(s, "running") == 4 })
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
	if got := savedAtCleanup.Load(); got != 4 {
		t.Errorf("the cleanup saw %d of 4 syncs save their progress", got)
	}
}

func TestReadOnlyHomeHasNoSyncKeys(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news")
	var calls atomic.Int32
	syncs := NewSyncs(func(context.Context, string, func(cache.Progress)) error { calls.Add(1); return nil })
	d := &uitest.Driver{Model: newHomeRoot(w, store, syncs, Options{ReadOnly: true})}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 16})
	d.Run(d.Model.Init())
	d.Send(uitest.Key("s"), uitest.Key("S"))
	if calls.Load() != 0 {
		t.Errorf("read-only home started %d syncs", calls.Load())
	}
	if strings.Contains(d.Screen(), "S sync all") || !strings.Contains(d.Screen(), "read-only") {
		t.Errorf("read-only home screen:\n%s", d.Screen())
	}
}

func TestNoColorHomeDrawsNoColour(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "events")
	src := NewCacheReader(store, w.refs())
	r := NewRoot(Options{Theme: ThemeNoColor, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: src}))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 16})
	d.Run(r.Init())
	out := r.Render()
	for _, sgr := range []string{"38;", "48;", "\x1b[3", "\x1b[4"} {
		if strings.Contains(out, sgr) {
			t.Errorf("NO_COLOR screen sets a colour (%q)", sgr)
		}
	}
	if !strings.Contains(out, "████") {
		t.Errorf("the done bar is gone without colour:\n%s", out)
	}
}

// TestHomeAndDoctorFindingsSayTheKeyNotTheCommand: the findings under the
// home table and in the Doctor view name the key that fixes them, where
// `wxscope doctor` names the command.
func TestHomeAndDoctorFindingsSayTheKeyNotTheCommand(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "shop", "events")
	d := &uitest.Driver{Model: newHomeRoot(w, store, NewSyncs(nil), Options{})}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 20})
	d.Run(d.Model.Init())
	home := d.Screen()
	if !strings.Contains(home, "legacy: never synced — press s on legacy's row") || strings.Contains(home, "wxscope sync") {
		t.Errorf("the home view should say the key for legacy:\n%s", home)
	}
	d.Send(uitest.Key("d"))
	doctor := d.Screen()
	if !strings.Contains(doctor, "never synced") || !strings.Contains(doctor, "→ press s on legacy's row") || strings.Contains(doctor, "wxscope") {
		t.Errorf("the Doctor view should say the key for legacy:\n%s", doctor)
	}
}
