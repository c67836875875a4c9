package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

var testOthers = []OtherApp{
	{Name: "shop", AppID: "wxshop", Bound: true},
	{Name: "events", AppID: "wxevents", Bound: false},
}

func newsSpec(ps []cache.Profile, pres Presence) FollowersSpec {
	return FollowersSpec{App: "news", AppID: "wxnews", Bound: true, Reader: sliceFollowers(ps),
		Others: testOthers, Presence: pres}
}

func followersRoot(t *testing.T, w, h int, ps []cache.Profile, pres Presence, persons PersonFinder) (*uitest.Driver, *Followers) {
	t.Helper()
	var f *Followers
	d := newTestRoot(w, h, persons, func(c *Common) Page {
		f = NewFollowers(c, newsSpec(ps, pres))
		return f
	})
	return d, f
}

func TestFollowersShowsNewestFollowersFirstWithCounts(t *testing.T) {
	ps := fakeProfiles(30)
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	ls := lines(t, d.Screen(), 160, 12)
	// 30 followers, 4 unfollowed (i%7==6: 6, 13, 20, 27).
	if !strings.Contains(ls[0], "news › followers · 26 · 4 unfollowed hidden") {
		t.Errorf("title = %q", ls[0])
	}
	if !strings.Contains(ls[0], "by follow time ↓") || !strings.Contains(ls[0], "26 rows · row 1") {
		t.Errorf("title lacks sort or position: %q", ls[0])
	}
	if !strings.Contains(ls[1], "followed ↓") {
		t.Errorf("header lacks the sort indicator: %q", ls[1])
	}
	// Newest is i=29 (day 29); i=27 is unfollowed and hidden, then 28.
	if !strings.HasPrefix(ls[2], "▸ "+ps[29].OpenID) || !strings.Contains(ls[2], "2024-01-30") {
		t.Errorf("first row = %q, want %s on 2024-01-30 under the cursor", ls[2], ps[29].OpenID)
	}
	if f.Selected() != ps[29].OpenID {
		t.Errorf("Selected = %q", f.Selected())
	}
}

func TestFollowersShowsWholeIdsWhenWideAndTruncatesWhenNarrow(t *testing.T) {
	ps := fakeProfiles(5)
	d, _ := followersRoot(t, 160, 8, ps, nil, nil)
	if s := d.Screen(); !strings.Contains(s, ps[4].OpenID) || !strings.Contains(s, ps[4].UnionID) {
		t.Fatalf("wide screen lacks whole ids:\n%s", s)
	}
	d.Send(tea.WindowSizeMsg{Width: 70, Height: 8})
	s := d.Screen()
	lines(t, s, 70, 8)
	// Cut without the prefix every openid of the app shares (oNw3kT00000):
	// what tells one from another shows.
	if strings.Contains(s, ps[4].OpenID) || !strings.Contains(s, "…4AbCd") || strings.Contains(s, "oNw3kT") {
		t.Fatalf("narrow screen should cut ids to …and what tells them apart:\n%s", s)
	}
}

func TestFollowersPresenceColumnsTellPresentMissingAndUnknown(t *testing.T) {
	ps := fakeProfiles(10)[:10]
	pres := setPresence{"wxshop/" + ps[8].UnionID: true}
	d, _ := followersRoot(t, 160, 14, ps, pres, nil)
	var row8, row7, row9 string
	for _, l := range strings.Split(d.Screen(), "\n") {
		switch {
		case strings.Contains(l, ps[8].OpenID):
			row8 = l
		case strings.Contains(l, ps[7].OpenID):
			row7 = l
		case strings.Contains(l, ps[9].OpenID):
			row9 = l
		}
	}
	// Columns: shop (bound) then events (not bound: always –).
	row8, row7, row9 = squeeze(row8), squeeze(row7), squeeze(row9)
	if !strings.Contains(row8, "PROFILE_CARD ✓ –") {
		t.Errorf("row 8 should be ✓ in shop, – in events: %q", row8)
	}
	if !strings.Contains(row7, "SEARCH · –") {
		t.Errorf("row 7 should be · (missing) in shop: %q", row7)
	}
	if !strings.Contains(row9, "QR_CODE – – ⚠ no unionid") || !strings.Contains(row9, "⚠ no unionid") {
		t.Errorf("row 9 has no unionid: both – and a warning: %q", row9)
	}
}

func TestFollowersFilterShowsFilteringThenTheCount(t *testing.T) {
	ps := fakeProfiles(200)
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	d.Send(uitest.Key("/"))
	if !f.CapturesInput() {
		t.Fatal("filter box should have the input")
	}
	// A keystroke starts a background match: the screen says so at once.
	cmd := d.SendOnly(uitest.Key("r"))
	if s := d.Screen(); !strings.Contains(s, `filter "r" → filtering…`) {
		t.Fatalf("want filtering… while the match runs:\n%s", s)
	}
	d.Run(cmd)
	d.Send(uitest.Type("emark 1")...)
	// remark 1, 10..19, 100..199 among multiples of 5 still following.
	want := 0
	for i, p := range ps {
		if p.UnfollowedAt == 0 && strings.Contains(p.Remark, "remark 1") && i >= 0 {
			want++
		}
	}
	if f.Rows() != want {
		t.Fatalf("rows = %d, want %d", f.Rows(), want)
	}
	s := d.Screen()
	if !strings.Contains(s, `filter "remark 1" → `+formatCount(want)) {
		t.Fatalf("title lacks the count:\n%s", s)
	}
	// q is text while typing, not quit.
	d.Send(uitest.Key("q"))
	if d.Quit || d.Model.(*Root).Quitting() {
		t.Fatal("q quit while the filter box had the input")
	}
	d.Send(uitest.Key("backspace"), uitest.Key("enter"))
	if f.CapturesInput() {
		t.Fatal("enter should close the filter box")
	}
	d.Send(uitest.Key("esc"))
	if f.Rows() != 200-28 || strings.Contains(strings.Split(d.Screen(), "\n")[0], "filter") {
		t.Fatalf("esc should clear the filter: rows %d\n%s", f.Rows(), d.Screen())
	}
}

func TestFollowersStaleFilterResultIsDropped(t *testing.T) {
	ps := fakeProfiles(100)
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	d.Send(uitest.Key("/"))
	stale := d.SendOnly(uitest.Key("x")) // matches nothing
	d.Send(uitest.Key("backspace"))      // back to no filter, answered now
	d.Run(stale)                         // the old answer lands late
	if f.Rows() != 100-14 {
		t.Fatalf("a stale result replaced a newer one: rows = %d", f.Rows())
	}
}

// TestFollowersFilterMatchesIdsExactlyAndRemarksInAnyCase: ids are
// case-sensitive (two openids that differ in case are two people), so the
// filter matches them as typed; remarks are text, matched in any case.
func TestFollowersFilterMatchesIdsExactlyAndRemarksInAnyCase(t *testing.T) {
	ps := fakeProfiles(50)
	ps[7].OpenID = "oNw3kTvIp007AbCdEfGhIjKlMnOp"
	ps[10].Remark = "vip guest"
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{ps[3].OpenID[6:14], []string{ps[3].OpenID}},
		{strings.ToLower(ps[3].OpenID[6:14]), nil},
		{ps[4].UnionID[:14], []string{ps[4].OpenID}},
		{strings.ToUpper(ps[4].UnionID[:14]), nil},
		{"REMARK 45", []string{ps[45].OpenID}},
		{"VIP", []string{ps[10].OpenID}},
		{"vIp", []string{ps[10].OpenID, ps[7].OpenID}},
	} {
		d, f := followersRoot(t, 160, 60, ps, nil, nil)
		d.Send(uitest.Key("/"))
		d.Send(uitest.Type(tc.q)...)
		var got []string
		for i := range f.Rows() {
			got = append(got, f.idx.OpenID(int(f.rows.At(i))))
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("filter %q: rows %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestFilterBoxMovesItsCursor: ← and → move through the text a character
// at a time (CJK included), typing goes in at the cursor, and backspace
// and delete take the character before and under it.
func TestFilterBoxMovesItsCursor(t *testing.T) {
	ps := fakeProfiles(20)
	ps[3].Remark = "上北京"
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("北")...)
	d.Send(tea.KeyPressMsg{Code: tea.KeyLeft})
	d.Send(uitest.Type("上")...)
	if f.query != "上北" || f.Rows() != 1 || f.Selected() != ps[3].OpenID {
		t.Fatalf("北 ← 上: query %q, %d rows", f.query, f.Rows())
	}
	d.Send(tea.KeyPressMsg{Code: tea.KeyRight}, uitest.Key("backspace"))
	if f.query != "上" {
		t.Errorf("→ backspace: query %q, want 上", f.query)
	}
	d.Send(tea.KeyPressMsg{Code: tea.KeyHome}, tea.KeyPressMsg{Code: tea.KeyDelete})
	if f.query != "" {
		t.Errorf("home delete: query %q, want empty", f.query)
	}
	d.Send(uitest.Type("京")...)
	d.Send(tea.KeyPressMsg{Code: tea.KeyLeft}, tea.KeyPressMsg{Code: tea.KeyLeft})
	d.Send(uitest.Type("北")...)
	if f.query != "北京" {
		t.Errorf("← past the start then typing: query %q, want 北京", f.query)
	}
	if s := d.Screen(); !strings.Contains(s, "\n/ 北京  ") {
		t.Errorf("the box does not show the text:\n%s", s)
	}
}

func TestFollowersUnfollowedToggleShowsDimmedDatedRows(t *testing.T) {
	ps := fakeProfiles(14)
	d, f := followersRoot(t, 160, 20, ps, nil, nil)
	if f.Rows() != 12 {
		t.Fatalf("rows = %d, want 12 following", f.Rows())
	}
	d.Send(uitest.Key("u"))
	if f.Rows() != 14 {
		t.Fatalf("rows = %d after u, want 14", f.Rows())
	}
	s := d.Screen()
	if !strings.Contains(s, "unfollowed 2024-06-05") || !strings.Contains(s, "+ 2 unfollowed") {
		t.Fatalf("unfollowed rows should say when:\n%s", s)
	}
}

func TestFollowersSortCyclesColumnsAndReverses(t *testing.T) {
	ps := fakeProfiles(40)
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	d.Send(uitest.Key("s"))
	if s := d.Screen(); !strings.Contains(s, "by openid ↑") || !strings.Contains(s, "openid ↑") {
		t.Fatalf("want openid ascending:\n%s", s)
	}
	if f.Selected() != ps[39].OpenID {
		t.Errorf("the cursor should stay on the same person across a sort, got %s", f.Selected())
	}
	d.Send(uitest.Key("home"))
	if f.Selected() != ps[0].OpenID {
		t.Errorf("top after sort by openid = %s, want %s", f.Selected(), ps[0].OpenID)
	}
	d.Send(uitest.Key("S"), uitest.Key("home"))
	if f.Selected() != ps[39].OpenID || !strings.Contains(d.Screen(), "by openid ↓") {
		t.Errorf("reversed top = %s, want %s", f.Selected(), ps[39].OpenID)
	}
	d.Send(uitest.Keys("s", "s", "s", "s")...) // unionid, scene, remark, shop
	if s := d.Screen(); !strings.Contains(s, "by in shop ↓") || !strings.Contains(s, "shop ↓") {
		t.Fatalf("want the shop column sorted:\n%s", s)
	}
}

func TestFollowersMovementKeys(t *testing.T) {
	ps := fakeProfiles(100)                         // 86 following
	d, f := followersRoot(t, 160, 12, ps, nil, nil) // 9 rows a page
	pos := func() int { return f.cursor }
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"j", 1}, {"down", 2}, {"k", 1}, {"ctrl+d", 5}, {"ctrl+u", 1}, {"pgdown", 10},
		{"pgup", 1}, {"end", 85}, {"home", 0}, {"G", 85}, {"up", 84},
	} {
		d.Send(uitest.Key(tc.key))
		if pos() != tc.want {
			t.Fatalf("after %s cursor = %d, want %d", tc.key, pos(), tc.want)
		}
	}
	s := d.Screen()
	lines(t, s, 160, 12)
	if !strings.Contains(s, "86 rows · row 85") {
		t.Fatalf("status lacks position:\n%s", s)
	}
}

func TestFollowersSanitisesHostileRemarks(t *testing.T) {
	ps := fakeProfiles(1)
	ps[0].Remark = "VIP 客户 🎁\x1b]52;c;cm0gLXJm\x07\x1b[2J\u202eevil"
	d, _ := followersRoot(t, 160, 6, ps, nil, nil)
	raw := d.Model.View().Content
	if strings.ContainsAny(raw, "\x1b\x07\u202e") {
		t.Fatalf("view carries an escape or bidi control: %q", raw)
	}
	if !strings.Contains(raw, "VIP 客户 🎁evil") {
		t.Fatalf("the remark's text should survive:\n%s", raw)
	}
}

// squeeze collapses runs of spaces, to assert on column order, not widths.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestFollowersLoadsFromItsSourceAndSaysWhenEmpty(t *testing.T) {
	d, f := followersRoot(t, 100, 6, nil, nil, nil)
	if f.Rows() != 0 || !strings.Contains(d.Screen(), "no followers cached yet") {
		t.Fatalf("empty app:\n%s", d.Screen())
	}
	r := NewRoot(Options{Theme: ThemePlain})
	r.Open(NewFollowers(r.Common(), newsSpec(fakeProfiles(3), nil)))
	d = &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 100, Height: 6})
	if !strings.Contains(d.Screen(), "loading followers…") {
		t.Fatalf("before Init's load lands:\n%s", d.Screen())
	}
	d.Run(r.Init())
	if !strings.Contains(d.Screen(), "3 rows") {
		t.Fatalf("after the load:\n%s", d.Screen())
	}
}

// partialFollowers is a Followers view of 12 500 followers, large enough to
// show its first rows while it reads the rest, after its first message.
func partialFollowers(t *testing.T) (f *Followers, ps []cache.Profile, next tea.Cmd) {
	t.Helper()
	old := partialFrom
	t.Cleanup(func() { partialFrom = old })
	partialFrom = firstRows
	ps = fakeProfiles(firstRows + 2500)
	spec := newsSpec(ps, nil)
	spec.SizeHint = len(ps)
	f = NewFollowers(benchCommon(), spec)
	f.SetSize(160, 12)
	msg := f.Init()()
	first, ok := msg.(followersFirstMsg)
	if !ok {
		t.Fatalf("the first message is a %T, not the first rows", msg)
	}
	return f, ps, f.Update(first)
}

func TestFollowersShowTheFirstRowsWhileTheRestAreRead(t *testing.T) {
	f, ps, next := partialFollowers(t)
	if !f.Loading() || f.Rows() != firstRows-firstRows/7 {
		t.Fatalf("loading %t with %d rows", f.Loading(), f.Rows())
	}
	v := ansi.Strip(f.View())
	ls := strings.Split(v, "\n")
	if !strings.Contains(ls[0], "of 12 500… · the first 10 000 in the cache's order meanwhile") {
		t.Errorf("title while loading = %q", ls[0])
	}
	// In the cache's order: the first row read is the first row shown.
	if !strings.HasPrefix(ls[2], "▸ "+ps[0].OpenID) {
		t.Errorf("first row while loading = %q, want %s", ls[2], ps[0].OpenID)
	}
	// Moving works; the filter waits for the whole index.
	f.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	f.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	at := f.Selected()
	if at != ps[2].OpenID {
		t.Errorf("after two ↓ the cursor is on %s, want %s", at, ps[2].OpenID)
	}
	cmd := f.Update(tea.KeyPressMsg{Code: '/', Text: "/"})
	if fl, ok := cmd().(FlashMsg); !ok || !strings.Contains(fl.Text, "still reading the followers") || f.CapturesInput() {
		t.Errorf("/ while loading gave %#v (editing %t)", cmd(), f.CapturesInput())
	}
	// The rest arrives: sorted by follow time, the cursor on the same person.
	var loaded tea.Msg
	for _, c := range next().(tea.BatchMsg) {
		if m, ok := c().(followersLoadedMsg); ok {
			loaded = m
			break
		}
	}
	if loaded == nil {
		t.Fatal("no loaded message after the first rows")
	}
	f.Update(loaded)
	following := 0
	for i := range ps {
		if ps[i].Subscribed {
			following++
		}
	}
	if f.Loading() || f.Rows() != following {
		t.Fatalf("loaded: loading %t, %d rows", f.Loading(), f.Rows())
	}
	if f.Selected() != at {
		t.Errorf("once loaded the cursor is on %s, want %s", f.Selected(), at)
	}
	if v := ansi.Strip(f.View()); !strings.Contains(v, "by follow time ↓") {
		t.Errorf("loaded view:\n%s", v)
	}
}

// A reader who did not move while the rest were read finds the cursor at
// the top of the sorted list, not on whoever the cache listed first.
func TestFollowersLoadedKeepTheCursorAtTheTop(t *testing.T) {
	f, _, next := partialFollowers(t)
	for _, c := range next().(tea.BatchMsg) {
		if m, ok := c().(followersLoadedMsg); ok {
			f.Update(m)
			break
		}
	}
	if f.Loading() {
		t.Fatal("still loading")
	}
	if ls := strings.Split(ansi.Strip(f.View()), "\n"); !strings.HasPrefix(ls[2], "▸ ") {
		t.Errorf("the cursor is not on the first row:\n%s", strings.Join(ls, "\n"))
	}
}

// TestFollowersFilterBackspaceAndRetypeMatchAFreshFilter: the matches the
// view remembers (a backspace to a query typed a moment ago, a query
// narrowing the longest remembered one it contains) give the rows a filter
// typed afresh gives.
func TestFollowersFilterBackspaceAndRetypeMatchAFreshFilter(t *testing.T) {
	ps := fakeProfiles(300)
	ps[7].OpenID = "oNw3kTvIp007AbCdEfGhIjKlMnOp"
	ps[10].Remark = "vip guest"
	ps[11].Remark = "VIP"
	rowsOf := func(f *Followers) []uint32 { return slices.Clone(f.rows.Slice()) }
	fresh := func(q string) []uint32 {
		d, f := followersRoot(t, 160, 60, ps, nil, nil)
		d.Send(uitest.Key("/"))
		d.Send(uitest.Type(q)...)
		return rowsOf(f)
	}
	d, f := followersRoot(t, 160, 60, ps, nil, nil)
	d.Send(uitest.Key("/"))
	q := ""
	for _, k := range []string{"v", "I", "p", "backspace", "backspace", "i", "p", "backspace", "backspace", "backspace", "1", "2", "backspace", "backspace", "o", "N"} {
		if k == "backspace" {
			q = q[:len(q)-1]
			d.Send(uitest.Key("backspace"))
		} else {
			q += k
			d.Send(uitest.Type(k)...)
		}
		if got, want := rowsOf(f), fresh(q); !slices.Equal(got, want) {
			t.Fatalf("after %q (query %q): %d rows, a fresh filter %d", k, q, len(got), len(want))
		}
	}
}

func TestFilterMemoKeepsTheLastFewAndNarrowsTheLongest(t *testing.T) {
	var m filterMemo
	a, b, c := []uint64{1}, []uint64{2}, []uint64{3}
	m.add("v", a)
	m.add("vi", b)
	m.add("", c)
	if m.get("vi")[0] != 2 || m.get("v")[0] != 1 || m.get("") != nil || m.get("V") != nil {
		t.Fatal("get should give each query's own match, and none for an empty or other-case query")
	}
	if w := m.within("xvip"); w == nil || w[0] != 2 {
		t.Fatalf("within(xvip) = %v, want vi's match", w)
	}
	if m.within("VIP") != nil {
		t.Fatal("a query containing one only up to case cannot narrow it")
	}
	for _, q := range []string{"w", "x", "y", "z"} {
		m.add(q, c)
	}
	if m.get("v") != nil || m.get("vi") != nil || m.get("z") == nil || len(m.queries) != filterMemoSize {
		t.Fatalf("memo holds %v, want the last %d", m.queries, filterMemoSize)
	}
	m.reset()
	if m.get("z") != nil {
		t.Fatal("reset should forget everything")
	}
}
