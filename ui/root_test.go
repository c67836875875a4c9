package ui

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func TestRootOpensPersonOnEnterAndEscGoesBack(t *testing.T) {
	ps := fakeProfiles(10)
	persons := slicePersons{ps[8].OpenID: {Query: ps[8].OpenID, Kind: cache.KindOpenID, UnionID: ps[8].UnionID,
		Apps: []cache.PersonApp{{AppRef: cache.AppRef{Name: "news"}, Profiles: []cache.Profile{ps[8]}}}}}
	d, _ := followersRoot(t, 120, 10, ps, nil, persons)
	r := d.Model.(*Root)
	d.Send(uitest.Keys("j", "enter")...) // 9 is first, then 8
	if r.Depth() != 2 || !strings.Contains(d.Screen(), "person · unionid "+ps[8].UnionID) {
		t.Fatalf("enter should open the person:\n%s", d.Screen())
	}
	d.Send(uitest.Key("esc"))
	if r.Depth() != 1 || !strings.Contains(d.Screen(), "news › followers") {
		t.Fatalf("esc should come back:\n%s", d.Screen())
	}
	d.Send(uitest.Key("esc")) // on the last page esc does nothing
	if r.Depth() != 1 {
		t.Fatal("esc popped the last page")
	}
}

func TestRootJumpLooksUpAPastedIDAndReportsUnknownOnes(t *testing.T) {
	ps := fakeProfiles(3)
	persons := slicePersons{ps[1].OpenID: {Query: ps[1].OpenID, Kind: cache.KindOpenID, UnionID: ps[1].UnionID,
		Apps: []cache.PersonApp{{AppRef: cache.AppRef{Name: "news"}, Profiles: []cache.Profile{ps[1]}}}}}
	d, _ := followersRoot(t, 120, 10, ps, nil, persons)
	r := d.Model.(*Root)
	d.Send(uitest.Key("g"))
	if s := d.Screen(); !strings.Contains(s, ": █") {
		t.Fatalf("g should open the jump prompt:\n%s", s)
	}
	d.Send(tea.PasteMsg{Content: " " + ps[1].OpenID + "\n"}, uitest.Key("enter"))
	if r.Depth() != 2 || !strings.Contains(d.Screen(), "person · unionid "+ps[1].UnionID) {
		t.Fatalf("jump should open the person:\n%s", d.Screen())
	}
	d.Send(uitest.Key("esc"), uitest.Key(":"))
	d.Send(uitest.Type("nosuchid\x1b[2J")...)
	d.Send(uitest.Key("enter"))
	s := d.Screen()
	if r.Depth() != 1 || !strings.Contains(s, "nosuchid␛[2J: look up nosuchid␛[2J: no cached follower has this id") {
		t.Fatalf("unknown id should be reported in the footer:\n%s", s)
	}
}

func TestRootHelpOverlayListsEveryKeyAndAnyKeyClosesIt(t *testing.T) {
	d, _ := followersRoot(t, 120, 30, fakeProfiles(5), nil, slicePersons{})
	d.Send(uitest.Key("?"))
	s := d.Screen()
	lines(t, s, 120, 30)
	for _, want := range []string{"home", "top (g is jump, not top)", "end/G", "ctrl+d", "s", "sort by next column",
		"u", "show/hide unfollowed", ":/g", "jump to an openid or unionid", "ctrl+c"} {
		if !strings.Contains(s, want) {
			t.Errorf("full help lacks %q:\n%s", want, s)
		}
	}
	d.Send(uitest.Key("x"))
	if strings.Contains(d.Screen(), "jump to an openid or unionid") {
		t.Fatal("a key should close the help")
	}
}

// TestFooterAndHelpFitNarrowTerminals: at 80×24 and 60×15 the footer still
// says ? help and q quit, and the help box keeps its borders, lists every
// key (none cut to "…") and scrolls to the last one.
func TestFooterAndHelpFitNarrowTerminals(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news")
	for _, sz := range [][2]int{{80, 24}, {60, 15}, {40, 10}} {
		width, height := sz[0], sz[1]
		t.Run(fmt.Sprintf("%dx%d", width, height), func(t *testing.T) {
			d := &uitest.Driver{Model: newHomeRoot(w, store, NewSyncs(nil), Options{})}
			d.Send(tea.WindowSizeMsg{Width: width, Height: height})
			d.Run(d.Model.Init())
			for _, page := range []string{"home", "followers"} {
				if page == "followers" {
					d.Send(uitest.Key("enter"))
				}
				ls := lines(t, d.Screen(), width, height)
				footer := ls[height-1]
				if !strings.Contains(footer, "? help") || !strings.Contains(footer, "q quit") || strings.Contains(footer, "…") {
					t.Errorf("%s footer at %d: %q", page, width, footer)
				}
				d.Send(uitest.Key("?"))
				seen := map[string]bool{}
				for range 20 {
					ls := lines(t, d.Screen(), width, height)
					for _, l := range ls[:height-1] {
						t := strings.TrimSpace(l)
						if t == "" {
							continue
						}
						seen[squash(t)] = true
					}
					d.Send(uitest.Key("pgdown"))
				}
				all := strings.Join(slices.Collect(maps.Keys(seen)), "\n")
				for _, want := range []string{"ctrl+c quit now", "home top (g is jump, not top)", "end/G bottom"} {
					if !strings.Contains(all, want) {
						t.Errorf("%s help at %dx%d never shows %q:\n%s", page, width, height, want, all)
					}
				}
				if page == "followers" && !strings.Contains(all, "e export the view") {
					t.Errorf("followers help at %dx%d lacks export:\n%s", width, height, all)
				}
				for l := range seen {
					if strings.HasPrefix(l, "│") && !strings.HasSuffix(l, "│") {
						t.Errorf("help at %dx%d lost its right border: %q", width, height, l)
					}
					if strings.Contains(l, "…") {
						t.Errorf("help at %dx%d cut a line: %q", width, height, l)
					}
				}
				d.Send(uitest.Key("x"))
			}
		})
	}
}

func TestRootResizeReflowsToTheNewSize(t *testing.T) {
	d, _ := followersRoot(t, 120, 10, fakeProfiles(50), nil, nil)
	for _, sz := range [][2]int{{80, 20}, {40, 5}, {200, 3}} {
		d.Send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		ls := lines(t, d.Screen(), sz[0], sz[1])
		if !strings.Contains(ls[0], "news") {
			t.Errorf("%v: first line %q", sz, ls[0])
		}
	}
}

func TestRootQuitRunsCleanupBeforeQuitting(t *testing.T) {
	var cleaned atomic.Bool
	release := make(chan struct{})
	r := NewRoot(Options{Theme: ThemePlain, Cleanup: func() { <-release; cleaned.Store(true) }})
	r.Open(NewFollowersFromIndex(r.Common(), newsSpec(nil, nil), IndexProfiles(fakeProfiles(3))))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 80, Height: 6})
	cmd := d.SendOnly(uitest.Key("q"))
	if r.Common().Ctx.Err() == nil {
		t.Error("quit should cancel the shared context at once")
	}
	if !strings.Contains(d.Screen(), "quitting — saving sync progress") {
		t.Errorf("footer should say we are quitting:\n%s", d.Screen())
	}
	done := make(chan struct{})
	go func() { d.Run(cmd); close(done) }()
	select {
	case <-done:
		t.Fatal("quit did not wait for the cleanup")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-done
	if !cleaned.Load() || !d.Quit {
		t.Fatalf("cleaned %v, quit %v", cleaned.Load(), d.Quit)
	}
}

func TestRootThemes(t *testing.T) {
	if ThemeFromEnv(func(string) string { return "1" }) != ThemeNoColor {
		t.Error("NO_COLOR=1 should select the colourless theme")
	}
	if ThemeFromEnv(func(string) string { return "" }) != ThemeAuto {
		t.Error("an empty NO_COLOR should not count")
	}
	// NO_COLOR: no colour attribute at all, but the cursor row still shows.
	for _, st := range []lipgloss.Style{NoColorStyles().Selected, NoColorStyles().Present, NoColorStyles().Warn} {
		if st.GetForeground() != (lipgloss.NoColor{}) || st.GetBackground() != (lipgloss.NoColor{}) {
			t.Errorf("NoColorStyles carries a colour: %v", st)
		}
	}
	if !NoColorStyles().Selected.GetReverse() {
		t.Error("the cursor row needs reverse video without colour")
	}
	dark, light := NewStyles(true), NewStyles(false)
	if dark.Selected.GetBackground() == light.Selected.GetBackground() {
		t.Error("dark and light themes should differ")
	}
	// The root switches palettes when the terminal answers.
	r := NewRoot(Options{})
	r.Update(tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")})
	if r.Common().Styles.Selected.GetBackground() != light.Selected.GetBackground() {
		t.Error("a white background should select the light palette")
	}
	if cmd := r.Init(); cmd == nil {
		t.Error("the auto theme should ask for the background colour")
	}
}

// TestRootDeliversAResultOnlyToThePageThatAskedForIt stacks two Followers
// views, both still loading: the index addressed to the lower one reaches it
// and leaves the upper one loading, and a result for a page popped meanwhile
// reaches nobody. No page checks who a result is for: the root does.
func TestRootDeliversAResultOnlyToThePageThatAskedForIt(t *testing.T) {
	r := NewRoot(Options{Theme: ThemePlain, Now: func() time.Time { return testNow }, Loc: time.UTC})
	lower := NewFollowers(r.Common(), newsSpec(fakeProfiles(5), nil))
	r.Open(lower)
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 120, Height: 10})
	spec := newsSpec(fakeProfiles(8), nil)
	spec.App, spec.AppID = "shop", "wxshop"
	upper := NewFollowers(r.Common(), spec)
	d.SendOnly(PushMsg{Page: upper}) // its load is left out: it stays loading

	d.Send(followersLoadedMsg{owner: lower, idx: IndexProfiles(fakeProfiles(5))})
	if upper.idx != nil || !strings.Contains(d.Screen(), "shop › followers\nloading followers…") {
		t.Fatalf("the lower view's index changed the upper one:\n%s", d.Screen())
	}
	if lower.idx == nil || lower.idx.Len() != 5 {
		t.Fatalf("the lower view did not get its index: %v", lower.idx)
	}

	d.Send(PopMsg{})
	d.Send(followersLoadedMsg{owner: upper, idx: IndexProfiles(fakeProfiles(8))})
	if lower.idx.Len() != 5 || upper.idx != nil || r.Depth() != 1 {
		t.Fatalf("a result for the popped view reached a page: lower has %d followers, upper %v", lower.idx.Len(), upper.idx)
	}
	if s := d.Screen(); !strings.Contains(s, "news › followers") {
		t.Fatalf("the lower view should show its followers:\n%s", s)
	}
}

// TestJumpNoteGoesOnceThePersonOpens: "looking up …" is a note for while
// the lookup runs; once the Person view opens the footer has its keys back.
func TestJumpNoteGoesOnceThePersonOpens(t *testing.T) {
	ps := fakeProfiles(3)
	persons := slicePersons{ps[1].OpenID: {Query: ps[1].OpenID, Kind: cache.KindOpenID, UnionID: ps[1].UnionID,
		Apps: []cache.PersonApp{{AppRef: cache.AppRef{Name: "news"}, Profiles: []cache.Profile{ps[1]}}}}}
	d, _ := followersRoot(t, 120, 10, ps, nil, persons)
	d.Send(uitest.Key(":"), tea.PasteMsg{Content: ps[1].OpenID}, uitest.Key("enter"))
	s := d.Screen()
	if !strings.Contains(s, "person · unionid "+ps[1].UnionID) {
		t.Fatalf("the jump did not open the person:\n%s", s)
	}
	if footer := s[strings.LastIndex(s, "\n")+1:]; strings.Contains(footer, "looking up") || !strings.Contains(footer, "esc back") {
		t.Errorf("footer after the person opened: %q", footer)
	}
}
