package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// TestNarrowFindingsAndInsightsCanBeReadWhole: at 60 columns the home rows
// keep their sync column (the age of the last sync goes instead), the
// findings under the table say how many lines do not fit and where they
// all are, and the Insights view scrolls to its last scene.
func TestNarrowFindingsAndInsightsCanBeReadWhole(t *testing.T) {
	w := newHomeWorld()
	store := openHomeCache(t, w, "news")
	d := &uitest.Driver{Model: newHomeRoot(w, store, NewSyncs(nil), Options{})}
	d.Send(tea.WindowSizeMsg{Width: 60, Height: 9})
	d.Run(d.Model.Init())
	ls := lines(t, d.Screen(), 60, 9)
	if !strings.Contains(rowOf(t, d.Screen(), "news"), "done") || !strings.Contains(rowOf(t, d.Screen(), "shop"), "s to sync") {
		t.Errorf("at 60 columns the rows lose their sync column:\n%s", d.Screen())
	}
	if l := ls[7]; !strings.Contains(l, "more line") || !strings.Contains(l, "d shows them all") {
		t.Errorf("the findings are cut without a word:\n%s", d.Screen())
	}

	ps := fakeProfiles(60)
	scenes := []string{"ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD", "ADD_SCENE_PAID",
		"ADD_SCENE_WECHAT_ADVERTISEMENT", "ADD_SCENE_LIVESTREAM", "ADD_SCENE_CHANNELS", "ADD_SCENE_OTHERS"}
	for i := range ps {
		ps[i].SubscribeScene = scenes[i%len(scenes)]
		if i == 0 {
			ps[i].SubscribeScene = "ADD_SCENE_RARE_LAST"
		}
	}
	d2 := newTestRoot(60, 15, nil, func(c *Common) Page {
		return NewInsights(c, "news › followers", IndexProfiles([]cache.Profile(ps)), nil)
	})
	if s := d2.Screen(); strings.Contains(s, "RARE_LAST") || !strings.Contains(s, "↑/↓ scroll") {
		t.Fatalf("at 60×15 the insights should not fit and say how to scroll:\n%s", s)
	}
	for range 5 {
		d2.Send(uitest.Key("pgdown"))
	}
	if s := d2.Screen(); !strings.Contains(s, "RARE_LAST") {
		t.Errorf("scrolling never reaches the last scene:\n%s", s)
	}
	lines(t, d2.Screen(), 60, 15)
}
