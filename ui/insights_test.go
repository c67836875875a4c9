package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func TestInsightsCountFollowersByMonthAndScene(t *testing.T) {
	// testNow is 2024-06-01: the window runs 2022-07 … 2024-06.
	at := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() }
	ps := []cache.Profile{
		{OpenID: "a", SubscribeTime: at(2024, 5, 31), SubscribeScene: "ADD_SCENE_QR_CODE"},
		{OpenID: "b", SubscribeTime: at(2024, 5, 1), SubscribeScene: "ADD_SCENE_QR_CODE"},
		{OpenID: "c", SubscribeTime: at(2024, 6, 1), SubscribeScene: "ADD_SCENE_SEARCH"},
		{OpenID: "d", SubscribeTime: at(2022, 7, 1), SubscribeScene: "ADD_SCENE_NEW_THING"},
		{OpenID: "e", SubscribeTime: at(2022, 6, 30), SubscribeScene: ""},
		{OpenID: "f", SubscribeTime: 0, SubscribeScene: "ADD_SCENE_QR_CODE"},
		{OpenID: "g", SubscribeTime: at(2024, 5, 2), SubscribeScene: "ADD_SCENE_QR_CODE", UnfollowedAt: at(2024, 5, 3)},
	}
	in := ComputeInsights(IndexProfiles(ps), nil, testNow, time.UTC)
	if in.Total != 6 {
		t.Errorf("Total = %d, want 6 (g unfollowed)", in.Total)
	}
	if got := in.Months[0]; !got.Start.Equal(time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC)) || got.N != 1 {
		t.Errorf("first month = %v %d, want 2022-07 with d", got.Start, got.N)
	}
	if in.Months[22].N != 2 || in.Months[23].N != 1 {
		t.Errorf("May and June 2024 = %d, %d, want 2, 1", in.Months[22].N, in.Months[23].N)
	}
	if in.Earlier != 1 || in.Unknown != 1 {
		t.Errorf("earlier %d unknown %d, want 1 and 1", in.Earlier, in.Unknown)
	}
	want := []SceneCount{{"ADD_SCENE_QR_CODE", 3}, {"", 1}, {"ADD_SCENE_NEW_THING", 1}, {"ADD_SCENE_SEARCH", 1}}
	if fmt.Sprint(in.Scenes) != fmt.Sprint(want) {
		t.Errorf("scenes = %v, want %v", in.Scenes, want)
	}
	// Given rows, exactly those count, unfollowed or not.
	if in := ComputeInsights(IndexProfiles(ps), []uint32{6}, testNow, time.UTC); in.Total != 1 || in.Months[22].N != 1 {
		t.Errorf("rows [g]: total %d, May %d, want 1 and 1", in.Total, in.Months[22].N)
	}
}

func TestInsightsPanelDrawsBarsSharesAndSanitisedUnknownScenes(t *testing.T) {
	ps := fakeProfiles(300)
	ps[0].SubscribeScene = "ADD_SCENE_\x1b[2JEVIL"
	ps[0].UnfollowedAt = 0
	in := ComputeInsights(IndexProfiles(ps), nil, testNow, time.UTC)
	screen := RenderInsights(PlainStyles(), in, 100, 24)
	lines(t, screen, 100, strings.Count(screen, "\n")+1)
	if strings.Contains(screen, "\x1b") {
		t.Fatalf("an escape sequence reached the panel: %q", screen)
	}
	for _, want := range []string{"followed per month · last 24 months", "by subscribe scene", "2024-01", "EVIL", "33.3 %", "█"} {
		if !strings.Contains(screen, want) {
			t.Errorf("panel lacks %q:\n%s", want, screen)
		}
	}
	// fakeProfiles splits scenes in thirds; 258 still follow.
	qr := lineWith(t, screen, "QR_CODE ")
	if !strings.Contains(qr, " 33.") && !strings.Contains(qr, " 32.") {
		t.Errorf("QR_CODE share should be about a third: %q", qr)
	}
}

func TestFollowersInsightsKeyShowsTheFilteredRows(t *testing.T) {
	ps := fakeProfiles(200)
	d, f := followersRoot(t, 120, 30, ps, nil, nil)
	d.Send(uitest.Key("/"))
	d.Send(uitest.Type("remark 1")...)
	d.Send(uitest.Key("enter"), uitest.Key("i"))
	v, ok := d.Model.(*Root).top().(*InsightsView)
	if !ok {
		t.Fatalf("i opened %T, want the insights", d.Model.(*Root).top())
	}
	if v.Insights().Total != f.Rows() {
		t.Errorf("insights count %d, the filtered view shows %d", v.Insights().Total, f.Rows())
	}
	if s := d.Screen(); !strings.Contains(s, `news › followers · filter "remark 1" › insights`) {
		t.Errorf("title should say whose insights:\n%s", s)
	}
	d.Send(uitest.Key("esc"))
	if _, ok := d.Model.(*Root).top().(*Followers); !ok {
		t.Fatal("esc should go back to the followers")
	}
}

func BenchmarkInsights1M(b *testing.B) {
	x := bigIndex()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ComputeInsights(x, nil, testNow, time.UTC)
	}
}

func BenchmarkInsights1MVisibleRows(b *testing.B) {
	x := bigIndex()
	rows := x.Visible(x.Order(SortFollowed, nil), true, nil, false)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ComputeInsights(x, rows, testNow, time.UTC)
	}
}
