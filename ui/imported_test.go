package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// The imported world of these tests: the home world's news and shop, and
// the mini program mall, whose import (read through the real cache.Import)
// holds persons 20…39 of news's platform: 20…29 follow news too, 35…39 were
// recorded before the binding, without unionid. Its source gives first and
// last seen.
const mallAppID = "wxmall0000000005"

// longUnion is person i's unionid on news's platform in this world: an
// import takes only ids of 16 characters or more.
func longUnion(i int) string { return fmt.Sprintf("uA%04d_platformA_0000", i) }

func mallCSV() string {
	var b strings.Builder
	b.WriteString("openid,unionid,first_seen,last_seen\n")
	for i := 20; i < 40; i++ {
		u := longUnion(i)
		if i >= 35 {
			u = ""
		}
		fmt.Fprintf(&b, "oMALL%04d0000000000000000,%s,%d,%d\n", i, u, day(i), day(i)+86400*3)
	}
	return b.String()
}

func importedHome(t *testing.T) (homeWorld, *cache.Store) {
	t.Helper()
	w := newHomeWorld()
	w.apps = append(w.apps[:2], App{Name: "mall", AppID: mallAppID, Kind: "miniprogram"})
	for _, appid := range []string{"wxnews0000000001", "wxshop0000000002"} {
		for id, p := range w.sources[appid].ps {
			var i int
			fmt.Sscanf(p.UnionID, "uA%04d", &i)
			p.UnionID = longUnion(i)
			w.sources[appid].ps[id] = p
		}
	}
	store := openHomeCache(t, w, "news", "shop")
	st, err := cache.Import(context.Background(), store, mallAppID, strings.NewReader(mallCSV()), cache.ImportOptions{
		Kind: "miniprogram", Source: filepath.Join("/srv", "mall-users.csv"), Now: func() time.Time { return testNow.Add(-5 * time.Minute) },
	})
	if err != nil || st.Rejected != 0 || st.Rows != 20 {
		t.Fatal(st, err)
	}
	return w, store
}

func (w homeWorld) importedRefs() []cache.AppRef {
	refs := w.refs()
	for i, a := range w.apps {
		refs[i].Kind = a.Kind
	}
	return refs
}

func TestHomeShowsTheKindAndWhatTheImportHolds(t *testing.T) {
	w, store := importedHome(t)
	src := NewCacheReader(store, w.importedRefs())
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: src}))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 160, Height: 24})
	d.Run(d.Model.Init())
	screen := d.Screen()
	lines(t, screen, 160, 24)
	if h := lineWith(t, screen, "app "); !strings.Contains(h, "kind") || !strings.Contains(h, "members") {
		t.Errorf("header lacks the kind column or says followers: %q", h)
	}
	if row := squash(rowOf(t, screen, "news")); !strings.Contains(row, "news wxnews0000000001 official 30") {
		t.Errorf("news row: %q", row)
	}
	row := squash(rowOf(t, screen, "mall"))
	for _, want := range []string{"mall " + mallAppID + " mini program 20 20 P1 75 %", "20 rows of mall-users.csv, read 5 min ago · s re-reads"} {
		if !strings.Contains(row, squash(want)) {
			t.Errorf("mall row lacks %q: %q", want, row)
		}
	}
	if !strings.Contains(squash(screen), squash("mall: 5 of 20 members carry no unionid although mall is bound — these are probably records kept from before mall was bound")) {
		t.Errorf("the no_unionid finding of the mini program is not there:\n%s", screen)
	}

	// On a narrow terminal the kind stays, in short.
	d.Send(tea.WindowSizeMsg{Width: 60, Height: 15})
	screen = d.Screen()
	lines(t, screen, 60, 15)
	if row := squash(rowOf(t, screen, "mall")); !strings.HasPrefix(row, "mall mini 20 P1") {
		t.Errorf("narrow mall row: %q", row)
	}
}

// s on an imported app reads its import again, through the same Syncs as
// any sync, and the row says how it ended.
func TestHomeSReadsTheImportAgain(t *testing.T) {
	w, store := importedHome(t)
	src := NewCacheReader(store, w.importedRefs())
	calls := 0
	syncs := NewSyncs(func(ctx context.Context, appID string, progress func(cache.Progress)) error {
		if appID != mallAppID {
			t.Errorf("s synced %s", appID)
		}
		calls++
		csv := strings.Replace(mallCSV(), "oMALL0020", "oMALL0099", 1) // one left, one new
		_, err := cache.Import(ctx, store, appID, strings.NewReader(csv), cache.ImportOptions{
			Kind: "miniprogram", Source: "/srv/mall-users.csv", Progress: progress, Now: func() time.Time { return testNow },
		})
		return err
	})
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewHome(r.Common(), HomeSpec{CachePath: store.Path(), Apps: w.apps, Reader: src, Syncs: syncs}))
	p := uitest.Start(t, r, 160, 24)
	p.WaitFor(t, "home", func(s string) bool { return strings.Contains(s, "s re-reads") })
	p.Send(uitest.Key("down"), uitest.Key("down"), uitest.Key("s"))
	p.WaitFor(t, "the read done", func(s string) bool {
		return strings.Contains(squash(s), squash("done · 20 rows of mall-users.csv, 1 new, 1 left · s re-reads"))
	})
	if calls != 1 {
		t.Errorf("%d syncs", calls)
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

func TestFollowersOfAnImportedAppListItsMembersFirstAndLastSeen(t *testing.T) {
	w, store := importedHome(t)
	src := NewCacheReader(store, w.importedRefs())
	r := NewRoot(Options{Theme: ThemePlain, Persons: src, Loc: time.UTC, Now: func() time.Time { return testNow }})
	idx, err := LoadFollowerIndex(context.Background(), src, mallAppID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !idx.HasLastSeen() {
		t.Fatal("no last_seen in the index")
	}
	pres, err := src.Presence(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Open(NewFollowersFromIndex(r.Common(), FollowersSpec{App: "mall", AppID: mallAppID, Kind: "miniprogram", Bound: true, Platform: "P1",
		Reader: src, Presence: pres, Others: []OtherApp{{Name: "news", AppID: "wxnews0000000001", Bound: true, Platform: "P1"},
			{Name: "legacy", AppID: "wxlegacy00000004", Bound: true, Platform: "P2"}}}, idx))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 140, Height: 30})
	screen := d.Screen()
	for _, want := range []string{"mall › members · 20", "first seen ↓", "last seen"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	// Person 25: in news too, first seen day 25, last seen three days
	// later; legacy is on another platform: it cannot tell.
	row := squash(lineWith(t, screen, "oMALL0025"))
	first, last := time.Unix(day(25), 0).UTC().Format("2006-01-02"), time.Unix(day(25)+3*86400, 0).UTC().Format("2006-01-02")
	if !strings.Contains(row, longUnion(25)+" "+first+" "+last+" ✓ –") {
		t.Errorf("member 25: %q, want first %s, last %s, in news, legacy –", row, first, last)
	}
	if row := squash(lineWith(t, screen, "oMALL0036")); !strings.Contains(row, "⚠ no unionid") {
		t.Errorf("a member without unionid: %q", row)
	}
	// Sorting by the second date column sorts by last seen.
	d.Send(uitest.Key("s"), uitest.Key("s"), uitest.Key("s"))
	if !strings.Contains(d.Screen(), "by last seen ↑") {
		t.Errorf("no sort by last seen:\n%s", d.Screen())
	}
}

func TestPersonShowsAnImportedMember(t *testing.T) {
	w, store := importedHome(t)
	src := NewCacheReader(store, w.importedRefs())
	p, err := src.Person(context.Background(), "oMALL00250000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRoot(Options{Theme: ThemePlain, Loc: time.UTC, Now: func() time.Time { return testNow }})
	r.Open(NewPerson(r.Common(), p))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 200, Height: 12})
	screen := d.Screen()
	when := func(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02 15:04") }
	for _, want := range []string{
		"person · unionid " + longUnion(25),
		"news  oNEWS0025",
		"mall  oMALL00250000000000000000  mini program · member since " + when(day(25)) + " · last seen " + when(day(25)+3*86400),
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("person lacks %q:\n%s", want, screen)
		}
	}
}
