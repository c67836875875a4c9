package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// linksHomeRoot is a home view over the links world of links_fixture_test
// (shop has two followers without a unionid), as main wires it.
func linksHomeRoot(t *testing.T) *Root {
	t.Helper()
	s := linksStore(t)
	src := NewCacheReader(s, linkApps)
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, Now: func() time.Time { return testNow }})
	apps := make([]App, len(linkApps))
	for i, a := range linkApps {
		apps[i] = App{Name: a.Name, AppID: a.AppID}
	}
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: s.Path(), Apps: apps, Reader: src}))
	return r
}

// TestHomeOffersLinksAndDoctorInBothHelps: l and d are in the footer and in
// the full help of the home view, from the keymap Update matches on.
func TestHomeOffersLinksAndDoctorInBothHelps(t *testing.T) {
	d := &uitest.Driver{Model: linksHomeRoot(t)}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 24})
	d.Run(d.Model.Init())
	footer := lastLine(d.Screen())
	for _, want := range []string{"l links", "d doctor", "enter followers"} {
		if !strings.Contains(footer, want) {
			t.Errorf("the home footer %q lacks %q", footer, want)
		}
	}
	if strings.Contains(footer, "stop sync") {
		t.Errorf("the footer offers x while nothing syncs: %q", footer)
	}
	d.Send(uitest.Key("?"))
	for _, want := range []string{"l links", "d doctor", "r re-read the cache"} {
		if !strings.Contains(squash(d.Screen()), want) {
			t.Errorf("the full help lacks %q:\n%s", want, d.Screen())
		}
	}
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }

// TestHomeLinksNoUnionIDOpensTheFollowersSubset: from home, l, the "no
// unionid" chip, enter: the Followers view of shop holds only its two
// followers without a unionid, with a presence column per other app; esc
// twice is home again.
func TestHomeLinksNoUnionIDOpensTheFollowersSubset(t *testing.T) {
	p := uitest.Start(t, linksHomeRoot(t), 140, 30)
	p.WaitFor(t, "home", func(s string) bool {
		return strings.Contains(s, "wxscope · 4 apps") && strings.Contains(s, "findings")
	})
	p.Send(uitest.Key("l"))
	p.WaitFor(t, "the links", func(s string) bool { return strings.Contains(s, "[no unionid 2]") })
	if s := p.Screen(); !strings.Contains(matrixRow(s, "events"), "⚠ not bound to an open platform") ||
		!strings.Contains(matrixRow(s, "legacy"), "⚠ another open platform? (P2") {
		t.Errorf("the matrix does not flag events and legacy:\n%s", s)
	}
	p.Send(uitest.Key("h")) // all → the last chip: no unionid (no conflicts here)
	p.WaitFor(t, "the no-unionid rows", func(s string) bool {
		return strings.Contains(s, "followers of bound apps without a unionid") && strings.Contains(s, "▸ shop")
	})
	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "shop's followers without unionid", func(s string) bool {
		return strings.Contains(s, "shop › followers") && strings.Contains(s, "without unionid") &&
			strings.Contains(s, oid("Shop", 20)[:12]) && strings.Contains(s, "news") && strings.Contains(s, "legacy")
	})
	if s := p.Screen(); strings.Contains(s, oid("Shop", 0)[:12]) {
		t.Errorf("the subset shows a follower with a unionid:\n%s", s)
	}
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "the links again", func(s string) bool { return strings.Contains(s, "▸ shop") })
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "home", func(s string) bool { return strings.Contains(s, "wxscope · 4 apps") })
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// matrixRow is the heat-map row of app on the Links view.
func matrixRow(screen, app string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, " "+app+" ") {
			return l
		}
	}
	return ""
}

// TestLinksOpenedDuringASyncCatchUpWhenItEnds: the Links view opened while
// shop syncs shows shop as not synced; when the sync ends, it analyses
// again by itself and the matrix shows what news and shop share, the
// filter and the cursor kept.
func TestLinksOpenedDuringASyncCatchUpWhenItEnds(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news")
	gate := make(chan struct{})
	sync := w.syncFunc(store, testNow)
	syncs := NewSyncs(func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return sync(ctx, appID, progress)
	})
	p := uitest.Start(t, newHomeRoot(w, store, syncs, Options{}), 150, 24)
	p.WaitFor(t, "home", func(s string) bool { return strings.Contains(s, "s to sync") })
	p.Send(uitest.Key("j"), uitest.Key("s"))
	p.WaitFor(t, "shop syncing", func(s string) bool { return strings.Contains(rowOf(t, s, "shop"), "running") })
	p.WaitFor(t, "x offered while shop syncs", func(s string) bool { return strings.Contains(lastLine(s), "x stop sync") })
	p.Send(uitest.Key("l"))
	p.WaitFor(t, "the links before shop is in", func(s string) bool {
		return strings.Contains(matrixRow(s, "shop"), "(not synced yet)") && strings.Contains(s, "[all 30]")
	})
	p.Send(uitest.Key("down"), uitest.Key("down"))
	p.WaitFor(t, "the cursor on the third person", func(s string) bool { return strings.Contains(s, "30 rows · row 3") })
	close(gate)
	p.WaitFor(t, "the links after shop's sync", func(s string) bool {
		news := squash(matrixRow(s, "news"))
		return !strings.Contains(matrixRow(s, "shop"), "(not synced yet)") && strings.Contains(news, "█ 20")
	})
	if s := p.Screen(); !strings.Contains(s, "30 rows · row 3") || !strings.Contains(s, "[missing in shop 10]") {
		t.Errorf("after the reload the cursor or the chips are off:\n%s", s)
	}
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "home, shop done", func(s string) bool { return strings.Contains(rowOf(t, s, "shop"), "done") })
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestDoctorAnalysesAgainWhenTheCacheChanges: a Doctor view on screen takes
// CacheChangedMsg as its cue to run the analysis again, keeping the old
// findings until the new ones are in.
func TestDoctorAnalysesAgainWhenTheCacheChanges(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news", "events")
	refs := w.refs()
	r := NewRoot(Options{Theme: ThemePlain, Loc: time.UTC, Now: func() time.Time { return testNow }})
	src := homeLinks{src: NewCacheReader(store, refs), now: func() time.Time { return testNow }}
	r.Open(NewDoctor(r.Common(), LinksSpec{Reader: src}))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 150, Height: 30})
	d.Run(r.Init())
	if !strings.Contains(d.Screen(), "unbound_app") || strings.Contains(d.Screen(), "separate_platform") {
		t.Fatalf("before legacy syncs:\n%s", d.Screen())
	}
	if err := w.syncFunc(store, testNow)(context.Background(), "wxlegacy00000004", nil); err != nil {
		t.Fatal(err)
	}
	cmd := d.SendOnly(CacheChangedMsg{})
	if !strings.Contains(d.Screen(), "unbound_app") {
		t.Errorf("the findings vanished while the new analysis runs:\n%s", d.Screen())
	}
	d.Run(cmd)
	if !strings.Contains(d.Screen(), "separate_platform") {
		t.Errorf("after legacy synced and the cache changed, no separate_platform:\n%s", d.Screen())
	}
}
