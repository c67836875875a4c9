package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func linksRoot(t *testing.T, w, h int, spec func(*cache.Store) LinksSpec) (*uitest.Driver, *Links) {
	t.Helper()
	s := linksStore(t)
	var l *Links
	d := newTestRoot(w, h, storePersons{s, linkApps}, func(c *Common) Page {
		l = NewLinks(c, spec(s))
		return l
	})
	return d, l
}

func plainLinks(s *cache.Store) LinksSpec {
	return LinksSpec{Reader: storeLinks{s, linkApps}}
}

func lineWith(t *testing.T, screen, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " ▸"), prefix) && !strings.Contains(l, "shade:") {
			return l
		}
	}
	t.Fatalf("no line starts with %q:\n%s", prefix, screen)
	return ""
}

func TestLinksHeatMapShowsSharedPersonsAndFlagsUnboundAndOtherPlatform(t *testing.T) {
	d, _ := linksRoot(t, 120, 24, plainLinks)
	screen := d.Screen()
	lines(t, screen, 120, 24)
	if !strings.Contains(screen, "links · 15 persons with a unionid") {
		t.Errorf("title lacks the person count:\n%s", screen)
	}
	if !strings.Contains(screen, "░ none  ▒ some  ▓ most  █ all") {
		t.Errorf("no legend:\n%s", screen)
	}
	// news and shop share u00…u03: 4 of shop's 6 persons is "most".
	news := strings.Fields(lineWith(t, screen, "news "))
	if want := []string{"news", "10", "▓", "4", "—", "░", "0"}; strings.Join(news, " ") != strings.Join(want, " ") {
		t.Errorf("news row = %q, want %q", news, want)
	}
	// events has no unionid, so no person, on its diagonal too (as doctor
	// shows it): its 4 followers are in the note.
	if ev := lineWith(t, screen, "events "); !strings.Contains(ev, "⚠ not bound to an open platform: 4 followers, no unionids") || strings.Count(ev, "—") != 4 {
		t.Errorf("events row should show — and that it is not bound and its 4 followers: %q", ev)
	}

	if lg := lineWith(t, screen, "legacy "); !strings.Contains(lg, "⚠ another open platform? (P2: shares nobody with P1)") {
		t.Errorf("legacy row should be flagged as another platform: %q", lg)
	}
	if sh := lineWith(t, screen, "shop "); strings.Contains(sh, "⚠") {
		t.Errorf("shop row has a note it should not have: %q", sh)
	}
	if !strings.Contains(screen, "[all 15]") || !strings.Contains(screen, "[missing in shop 6]") ||
		!strings.Contains(screen, "[in 1 app only 11]") || !strings.Contains(screen, "[no unionid 2]") {
		t.Errorf("chips lack counts:\n%s", screen)
	}
}

func TestLinksFilterMissingInShopListsOnlyPersonsShopLacks(t *testing.T) {
	d, l := linksRoot(t, 120, 30, func(s *cache.Store) LinksSpec {
		return LinksSpec{Reader: storeLinks{s, linkApps}, Filter: GroupFilter{Kind: GroupsMissingIn, App: "wxshop"}}
	})
	screen := d.Screen()
	if l.Filter() != (GroupFilter{Kind: GroupsMissingIn, App: "wxshop"}) || l.listLen() != 6 {
		t.Fatalf("filter %+v with %d rows, want missing in shop with 6:\n%s", l.Filter(), l.listLen(), screen)
	}
	// u04…u09 (news only) lack shop; v00…v02 are legacy's, on another
	// platform, where they have other unionids: not counted, and the view
	// says why.
	for i := 4; i < 10; i++ {
		if !strings.Contains(screen, uid("P1", i)) {
			t.Errorf("missing %s:\n%s", uid("P1", i), screen)
		}
	}
	for i := range 3 {
		if strings.Contains(screen, uid("P2", i)) {
			t.Errorf("%s is of another platform than shop's and should not be listed:\n%s", uid("P2", i), screen)
		}
	}
	if !strings.Contains(squash(screen), squash("not counted: 3 persons of P2, on another open platform than shop (P1): there they have other unionids")) {
		t.Errorf("the view does not say why legacy's persons are not counted:\n%s", screen)
	}
	for _, u := range []string{uid("P1", 0), uid("P1", 10)} {
		if strings.Contains(screen, u) {
			t.Errorf("%s is in shop and should not be listed:\n%s", u, screen)
		}
	}
	row := lineWith(t, screen, uid("P1", 4))
	if !strings.Contains(row, "news ✓") || !strings.Contains(row, "shop ·") || !strings.Contains(row, "events –") {
		t.Errorf("row marks = %q", row)
	}
}

func TestLinksTabCyclesFiltersAndTheListFollows(t *testing.T) {
	d, l := linksRoot(t, 120, 30, plainLinks)
	d.Send(uitest.Key("tab"))
	if f := l.Filter(); f.Kind != GroupsMissingIn || f.App != "wxnews" || l.listLen() != 2 {
		t.Fatalf("after tab: %+v with %d rows, want missing in news with 2 (u10, u11; not legacy's)", f, l.listLen())
	}
	shiftTab := tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	d.Send(shiftTab, shiftTab)
	if f := l.Filter(); f.Kind != GroupsConflict && f.Kind != GroupsNoUnionID {
		t.Fatalf("shift+tab from the first chip should wrap to the last, got %+v", f)
	}
}

func TestLinksNoUnionIDListsBoundAppsAndOpensTheirFollowers(t *testing.T) {
	var got []openedFollowers
	d, l := linksRoot(t, 120, 30, func(s *cache.Store) LinksSpec {
		return LinksSpec{Reader: storeLinks{s, linkApps}, Followers: opener(&got), Filter: GroupFilter{Kind: GroupsNoUnionID}}
	})
	screen := d.Screen()
	if l.listLen() != 1 || !strings.Contains(screen, "▸ shop          2 followers without a unionid") {
		t.Fatalf("want one row for shop's 2 followers:\n%s", screen)
	}
	if strings.Contains(screen, "events     ") && strings.Contains(screen, "4 followers without") {
		t.Errorf("events is not bound: its followers are not a no-unionid finding:\n%s", screen)
	}
	d.Send(uitest.Key("enter"))
	if len(got) != 1 || got[0] != (openedFollowers{"wxshop", SubsetNoUnionID}) {
		t.Fatalf("opened %+v, want shop's followers without unionid", got)
	}
	if !strings.Contains(d.Screen(), "followers of wxshop, subset 1") {
		t.Errorf("the followers page is not on top:\n%s", d.Screen())
	}
}

func TestLinksEnterOnGroupOpensThePerson(t *testing.T) {
	d, _ := linksRoot(t, 140, 30, func(s *cache.Store) LinksSpec {
		return LinksSpec{Reader: storeLinks{s, linkApps}, Filter: GroupFilter{Kind: GroupsMissingIn, App: "wxshop"}}
	})
	d.Send(uitest.Key("down"), uitest.Key("enter"))
	screen := d.Screen()
	if !strings.Contains(screen, "person · unionid "+uid("P1", 5)) || !strings.Contains(screen, "does not follow shop") {
		t.Fatalf("want the person u05 missing in shop:\n%s", screen)
	}
	d.Send(uitest.Key("esc"))
	if !strings.Contains(d.Screen(), "▸ "+uid("P1", 5)) {
		t.Errorf("back on the list, the cursor should stay on u05:\n%s", d.Screen())
	}
}

func TestLinksMovementKeysMoveTheCursorThroughTheList(t *testing.T) {
	d, l := linksRoot(t, 120, 30, plainLinks)
	n, half := l.listLen(), max(l.pageRows()/2, 1)
	if n < 4 {
		t.Fatalf("want a list of several groups, got %d", n)
	}
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"j", 1}, {"down", 2}, {"k", 1}, {"ctrl+d", min(1+half, n-1)}, {"ctrl+u", 1},
		{"end", n - 1}, {"home", 0}, {"G", n - 1}, {"up", n - 2}, {"pgdown", n - 1},
	} {
		d.Send(uitest.Key(tc.key))
		if l.cursor != tc.want {
			t.Fatalf("after %s cursor = %d, want %d", tc.key, l.cursor, tc.want)
		}
	}
}

func TestLinksMouseWheelAndClickMoveTheCursor(t *testing.T) {
	d, l := linksRoot(t, 120, 40, plainLinks)
	d.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if l.cursor != 3 {
		t.Fatalf("wheel down: cursor %d, want 3", l.cursor)
	}
	d.Send(tea.MouseClickMsg{Button: tea.MouseLeft, Y: l.listTop() + 5})
	if l.cursor != 5 {
		t.Fatalf("click on the 6th row: cursor %d, want 5", l.cursor)
	}
	// A click on a chip selects its filter.
	chipY := 2 + len(linkApps)
	c := l.chipLines()[0].spans[1]
	d.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: c.x0 + 1, Y: chipY})
	if l.Filter().Kind != GroupsMissingIn {
		t.Fatalf("click on the second chip: filter %+v", l.Filter())
	}
}

func TestLinksSanitisesAppNamesAndShowsEmptyCache(t *testing.T) {
	s := linksStore(t)
	apps := []cache.AppRef{{AppID: "wxnews", Name: "news\x1b]0;pwned\x07"}, {AppID: "wxnone", Name: "none"}}
	d := newTestRoot(100, 20, nil, func(c *Common) Page { return NewLinks(c, LinksSpec{Reader: storeLinks{s, apps}}) })
	screen := d.Screen()
	if strings.Contains(screen, "\x1b") || strings.Contains(screen, "\x07") {
		t.Fatalf("an escape sequence reached the screen: %q", screen)
	}
	if !strings.Contains(lineWith(t, screen, "none "), "(not synced yet)") {
		t.Errorf("an app the cache never saw should say so:\n%s", screen)
	}
}

// TestLinksHeatMapNotesSayTheyAreCut: on a narrow terminal a row's note is
// cut with …, not in the middle of a word with nothing to say so.
func TestLinksHeatMapNotesSayTheyAreCut(t *testing.T) {
	d, _ := linksRoot(t, 60, 24, plainLinks)
	lg := lineWith(t, d.Screen(), "legacy ")
	if !strings.Contains(lg, "⚠ another") || !strings.HasSuffix(lg, "…") {
		t.Errorf("legacy's note at 60 columns: %q", lg)
	}
	for _, l := range strings.Split(d.Screen(), "\n") {
		if strings.Contains(l, "shade:") && !strings.HasSuffix(strings.TrimRight(l, " "), "…") {
			t.Errorf("the legend is cut without …: %q", l)
		}
	}
}
