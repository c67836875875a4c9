package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// growthHistory is 120 days of news ending 2024-05-31 (yesterday as of
// testNow, in China time): a steady +10 a day, a campaign on 05-20 (+600)
// and a mass unfollow on 05-25 (-280).
func growthHistory() []cache.GrowthDay {
	var out []cache.GrowthDay
	cum := int64(20000)
	last := time.Date(2024, 5, 31, 0, 0, 0, 0, chinaTime)
	for d := last.AddDate(0, 0, -119); !d.After(last); d = d.AddDate(0, 0, 1) {
		day := cache.GrowthDay{Date: d.Format(time.DateOnly), New: 15, Cancel: 5, HasSummary: true, HasCumulate: true, FetchedAt: testNow}
		switch day.Date {
		case "2024-05-20":
			day.New = 605
		case "2024-05-25":
			day.Cancel = 295
		}
		cum += day.Net()
		day.Cumulate = cum
		out = append(out, day)
	}
	return out
}

// fakeRefresh is a GrowthFunc that copies the history's days of the range
// into lists, as syncer.Growth fills the cache, and remembers each range.
type fakeRefresh struct {
	lists *memLists
	err   error

	mu    sync.Mutex
	asked [][2]string
}

func (r *fakeRefresh) refresh(_ context.Context, appID string, first, last time.Time) error {
	r.mu.Lock()
	r.asked = append(r.asked, [2]string{first.In(chinaTime).Format(time.DateOnly), last.In(chinaTime).Format(time.DateOnly)})
	r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.lists.mu.Lock()
	defer r.lists.mu.Unlock()
	r.lists.growth[appID] = nil
	for _, d := range growthHistory() {
		if d.Date >= first.In(chinaTime).Format(time.DateOnly) && d.Date <= last.In(chinaTime).Format(time.DateOnly) {
			r.lists.growth[appID] = append(r.lists.growth[appID], d)
		}
	}
	return nil
}

func (r *fakeRefresh) calls() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][2]string(nil), r.asked...)
}

func growthRoot(t *testing.T, w, h int, refresh *fakeRefresh, readOnly bool) (*uitest.Driver, *memLists) {
	t.Helper()
	ps, black := taggedProfiles(70)
	lists := &memLists{tags: map[string]cache.TagList{"wxnews": testTags}, black: map[string][]string{"wxnews": black},
		growth: map[string][]cache.GrowthDay{}}
	var fn GrowthFunc
	if refresh != nil {
		refresh.lists = lists
		fn = refresh.refresh
	}
	r := NewRoot(Options{Theme: ThemePlain, Now: func() time.Time { return testNow }, Loc: time.UTC,
		Lists: lists, Growth: fn, ReadOnly: readOnly})
	r.Open(NewFollowers(r.Common(), newsSpec(ps, nil)))
	d := &uitest.Driver{Model: r}
	d.Send(tea.WindowSizeMsg{Width: w, Height: h})
	d.Run(r.Init())
	d.Send(uitest.Key("i"), uitest.Key("tab"))
	return d, lists
}

// The growth tab reads the cache, asks once for a refresh through the seam,
// and draws the daily net around a zero line, with the campaign and the
// mass unfollow named, the totals, the followers and the listing's own
// follows; [ and ] change the range, r asks again.
func TestInsightsGrowthTabDrawsTheDailyNetAndNamesTheSpikeAndTheDrop(t *testing.T) {
	refresh := &fakeRefresh{}
	d, _ := growthRoot(t, 160, 45, refresh, false)
	s := d.Screen()
	lines(t, s, 160, 45)
	if got := refresh.calls(); len(got) != 1 || got[0] != [2]string{"2024-05-02", "2024-05-31"} {
		t.Fatalf("opening the tab asked %v, want one refresh of 2024-05-02..2024-05-31", got)
	}
	// 30 days: 28 ordinary (+10), the campaign (+600) and the drop (-280).
	var newU, cancel int64
	var cum []int64
	for _, d := range growthHistory()[90:] {
		newU, cancel, cum = newU+d.New, cancel+d.Cancel, append(cum, d.Cumulate)
	}
	for _, want := range []string{
		"[growth]", "net followers a day (datacube) · 30 days",
		fmt.Sprintf("followers %s → %s", formatCount(int(cum[0])), formatCount(int(cum[29]))),
		fmt.Sprintf("new %s · cancelled %s · net +%d", formatCount(int(newU)), formatCount(int(cancel)), newU-cancel),
		"+600 ┤", "-280 ┤", "0 ┼", "05-02", "05-31",
		"▲ 05-20 +600 (largest gain)", "▼ 05-25 -280 (largest loss)",
		"followers ", "listing ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("growth tab lacks %q:\n%s", want, s)
		}
	}
	// The spike's column is the tallest: a full block in the top row.
	top := lineWith(t, s, "+600 ┤")
	if strings.Count(top, "█") == 0 || strings.Count(top, "█") > 2 {
		t.Errorf("the top row should hold only the campaign's bar: %q", top)
	}

	d.Send(uitest.Key("]"))
	s = d.Screen()
	if got := refresh.calls(); len(got) != 2 || got[1] != [2]string{"2024-04-02", "2024-05-31"} || !strings.Contains(s, "· 60 days") {
		t.Fatalf("] should show 60 days and ask for them: asked %v\n%s", got, s)
	}
	d.Send(uitest.Key("["), uitest.Key("["))
	if s := d.Screen(); !strings.Contains(s, "· 14 days") || strings.Contains(s, "05-17") {
		t.Errorf("[ twice should show 14 days (05-18..05-31):\n%s", s)
	}
	n := len(refresh.calls())
	d.Send(uitest.Key("r"))
	if got := refresh.calls(); len(got) != n+1 || got[n] != [2]string{"2024-05-18", "2024-05-31"} {
		t.Errorf("r asked %v, want one more refresh of the 14 days", got)
	}
	d.Send(uitest.Key("tab"))
	if s := d.Screen(); !strings.Contains(s, "followed per month") {
		t.Errorf("tab should go back to the months and scenes:\n%s", s)
	}
}

func TestInsightsGrowthTabFitsSmallTerminals(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 15}, {40, 10}} {
		d, _ := growthRoot(t, size[0], size[1], &fakeRefresh{}, false)
		s := d.Screen()
		lines(t, s, size[0], size[1])
		if !strings.Contains(s, "┼") || !strings.Contains(s, "+600") {
			t.Errorf("%dx%d: no chart:\n%s", size[0], size[1], s)
		}
		d.Send(uitest.Key("]"), uitest.Key("]"))
		lines(t, d.Screen(), size[0], size[1])
	}
}

// Read-only, the tab shows what the cache holds and asks nothing; a
// refresh that fails says why (an unverified account), over whatever the
// cache had.
func TestInsightsGrowthTabWithoutARefreshAndWithAFailingOne(t *testing.T) {
	d, lists := growthRoot(t, 120, 30, nil, true)
	if s := d.Screen(); !strings.Contains(s, "no datacube figures cached") || !strings.Contains(s, "what wxscope growth cached") {
		t.Errorf("read-only with nothing cached:\n%s", s)
	}
	lists.mu.Lock()
	lists.growth["wxnews"] = growthHistory()[100:]
	lists.mu.Unlock()
	d.Send(uitest.Key("]"), uitest.Key("["))
	if s := d.Screen(); !strings.Contains(s, "▲ 05-20 +600") || !strings.Contains(s, "·") {
		t.Errorf("read-only with 20 days cached: want them drawn, the days before shown as ·\n%s", s)
	}

	fail := &fakeRefresh{err: errors.New("news: WeChat gives the daily follower figures to verified accounts only (datacube answered 48001), so there are none to show for it")}
	d, _ = growthRoot(t, 160, 30, fail, false)
	if s := d.Screen(); !strings.Contains(s, "48001") || !strings.Contains(s, "no datacube figures cached") {
		t.Errorf("a refresh answered 48001:\n%s", s)
	}
}

func TestRenderGrowthNeverDrawsOutsideItsBox(t *testing.T) {
	hist := growthHistory()
	for _, days := range []int{1, 7, 30, 90} {
		first, last := growthRange(testNow, days)
		g := NewGrowthChart(first, last, hist, nil)
		for _, w := range []int{1, 10, 33, 80, 200} {
			for _, h := range []int{1, 3, 9, 40} {
				out := RenderGrowth(PlainStyles(), g, "status", w, h)
				lines(t, out, w, min(h, strings.Count(out, "\n")+1))
				if n := strings.Count(out, "\n") + 1; n > h {
					t.Fatalf("%d days in %dx%d: %d lines", days, w, h, n)
				}
			}
		}
	}
	if out := RenderGrowth(PlainStyles(), GrowthChart{}, "", 0, 10); out != "" {
		t.Errorf("zero width drew %q", out)
	}
}

// The listing's own follows per day come from the index's follow times,
// bucketed by China-time day.
func TestGrowthChartCountsTheListingsFollowsPerDay(t *testing.T) {
	first, last := growthRange(testNow, 3) // 05-29 .. 05-31, China time
	at := func(s string) int64 {
		t, _ := time.ParseInLocation("2006-01-02 15:04", s, chinaTime)
		return t.Unix()
	}
	ps := []cache.Profile{
		{OpenID: "a", SubscribeTime: at("2024-05-29 00:00")},
		{OpenID: "b", SubscribeTime: at("2024-05-29 23:59")},
		{OpenID: "c", SubscribeTime: at("2024-05-31 12:00"), UnfollowedAt: at("2024-05-31 13:00")},
		{OpenID: "d", SubscribeTime: at("2024-05-28 23:59")},
		{OpenID: "e", SubscribeTime: at("2024-06-01 00:00")},
	}
	g := NewGrowthChart(first, last, nil, IndexProfiles(ps))
	if fmt.Sprint(g.Listed) != "[2 0 1]" || len(g.Days) != 3 || g.Days[0].Date != "2024-05-29" || g.known() != 0 {
		t.Errorf("listed %v over %d days from %s, %d known", g.Listed, len(g.Days), g.Days[0].Date, g.known())
	}
}
