package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// adProfiles are followers with realistic openids (one shared per-app
// prefix, oD3fzU) and the longest scene name WeChat sends.
func adProfiles() []cache.Profile {
	ps := fakeProfiles(20)
	for i := range ps {
		ps[i].OpenID = "oD3fzU" + ps[i].OpenID[6:]
		ps[i].OpenID = ps[i].OpenID[:6] + string(rune('a'+i)) + ps[i].OpenID[7:]
		if i%2 == 0 {
			ps[i].SubscribeScene = "ADD_SCENE_WECHAT_ADVERTISEMENT"
		}
	}
	return ps
}

func header(t *testing.T, screen string, w, h int) string { return lines(t, screen, w, h)[1] }

// TestFollowersNarrowLayoutKeepsWhatMatters: the column the list is sorted
// by stays; narrow presence columns give way before the ids; ids lose the
// prefix every id of the app shares, not what tells them apart; with room
// to spare the scene shows whole; every sort arrow comes after its name.
func TestFollowersNarrowLayoutKeepsWhatMatters(t *testing.T) {
	ps := adProfiles()
	d, f := followersRoot(t, 160, 12, ps, nil, nil)
	if s := d.Screen(); !strings.Contains(s, "WECHAT_ADVERTISEMENT ") {
		t.Errorf("at 160 columns the scene is cut though the remark has room:\n%s", s)
	}
	d.Send(uitest.Keys("s", "s", "s")...) // openid, unionid, scene
	if f.sortKey != SortScene {
		t.Fatalf("sort key %v, want scene", f.sortKey)
	}
	d.Send(tea.WindowSizeMsg{Width: 100, Height: 12})
	if h := header(t, d.Screen(), 100, 12); !strings.Contains(h, "scene ↑") {
		t.Errorf("sorted by scene at 100 columns, the scene column is gone: %q", h)
	}
	d.Send(tea.WindowSizeMsg{Width: 60, Height: 12})
	s := d.Screen()
	ls := lines(t, s, 60, 12)
	if h := ls[1]; !strings.Contains(h, "scene ↑") || !regexp.MustCompile(`sh… +ev…`).MatchString(h) {
		t.Errorf("at 60 columns the header should keep the scene and narrow the presence columns: %q", h)
	}
	for _, l := range ls[2:7] {
		if strings.Contains(l, "oD3fzU") || !regexp.MustCompile(`…[a-t]000`).MatchString(l) {
			t.Errorf("at 60 columns an openid shows the shared prefix, or not what tells it apart: %q", l)
		}
	}
	// The arrow after the name, whatever the column.
	for _, k := range []string{"s", "s"} { // remark, shop
		d.Send(uitest.Key(k))
	}
	d.Send(tea.WindowSizeMsg{Width: 160, Height: 12})
	h := header(t, d.Screen(), 160, 12)
	if !strings.Contains(h, "shop ↓") || strings.Contains(h, "↓shop") {
		t.Errorf("the sort arrow should follow the name: %q", h)
	}
}

// TestFollowersScrollSidewaysShowsWhatANarrowTerminalLeavesOut: → scrolls
// the columns after the openid to the left, so what the width left out
// comes into view (the scene, here); ← brings them back; the header says
// ‹ and › where columns are off screen.
func TestFollowersScrollSidewaysShowsWhatANarrowTerminalLeavesOut(t *testing.T) {
	ps := adProfiles()
	d, _ := followersRoot(t, 80, 12, ps, nil, nil)
	h := header(t, d.Screen(), 80, 12)
	if strings.Contains(h, "scene") || !strings.HasSuffix(strings.TrimRight(h, " "), "›") {
		t.Fatalf("at 80 columns the scene should be left out, and › say so: %q", h)
	}
	d.Send(tea.KeyPressMsg{Code: tea.KeyRight})
	h = header(t, d.Screen(), 80, 12)
	if !strings.HasPrefix(h, "‹ openid") || strings.Contains(h, "unionid") || !strings.Contains(h, "scene") {
		t.Errorf("→ should scroll the unionid off and the scene in: %q", h)
	}
	d.Send(uitest.Key("h"))
	if h := header(t, d.Screen(), 80, 12); !strings.Contains(h, "unionid") || strings.HasPrefix(h, "‹") {
		t.Errorf("h should scroll back: %q", h)
	}
	d.Send(uitest.Key("h"))
	if f := lastLine(d.Screen()); !strings.Contains(f, "the first columns show") {
		t.Errorf("← at the start: footer %q", f)
	}
	d.Send(tea.WindowSizeMsg{Width: 80, Height: 40}, uitest.Key("?"))
	if s := squash(d.Screen()); !strings.Contains(s, "→/l scroll the columns right") {
		t.Errorf("the help does not say how to scroll sideways:\n%s", d.Screen())
	}
}

// TestFollowersHighlightsFilterMatches: what the filter matched is drawn
// in the match style in the visible rows: in an id as typed, in a remark
// in any case, and on the cursor's row too.
func TestFollowersHighlightsFilterMatches(t *testing.T) {
	ps := adProfiles()
	ps[3].Remark = "VIP 客户"
	ps[8].Remark = "vip guest"
	r := NewRoot(Options{Theme: ThemeNoColor, Now: func() time.Time { return testNow }, Loc: time.UTC})
	r.Open(NewFollowers(r.Common(), newsSpec(ps, nil)))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: 160, Height: 12})
	d.Run(r.Init())
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("vip")...)
	d.Send(uitest.Key("enter"))
	st := r.c.Styles
	if out := r.Render(); !strings.Contains(out, st.Match.Render("VIP")) ||
		!strings.Contains(out, st.Match.Inherit(st.Selected).Render("vip")) {
		t.Errorf("the remarks' matches are not highlighted, on the cursor's row and another:\n%q", out)
	}
	d.Send(uitest.Key("esc"), uitest.Key("/"))
	d.Send(uitest.Type(ps[5].OpenID[6:12])...)
	d.Send(uitest.Key("enter"))
	sel := r.c.Styles.Match.Inherit(r.c.Styles.Selected).Render(ps[5].OpenID[6:12])
	if out := r.Render(); !strings.Contains(out, sel) {
		t.Errorf("the cursor row's id match is not highlighted (want %q):\n%q", sel, out)
	}
}
