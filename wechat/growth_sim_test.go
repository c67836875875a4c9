package wechat_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

var china = time.FixedZone("UTC+8", 8*3600)

// simClient's clock reads 2025-06-01 17:00 China time, the world's default
// today: yesterday, 2025-05-31, ends at the spec's followers.
var simYesterday = time.Date(2025, 5, 31, 0, 0, 0, 0, china)

func TestTagsOnTheSimulatorNameEveryTagButTheDeletedOne(t *testing.T) {
	w := wechattest.DemoWorld(11, 2000)
	c, _, _ := simClient(t, w, nil)
	appid := w.Apps()[0].AppID
	tags, err := c.Tags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, tag := range tags {
		names[tag.ID] = tag.Name
	}
	if names[2] != "星标组" {
		t.Fatalf("no system tag 2 星标组 in %+v", tags)
	}
	if _, ok := names[wechattest.DeletedTagID]; ok {
		t.Fatalf("the deleted tag is listed: %+v", tags)
	}
	for i, want := range w.Tags(appid) {
		if tags[i] != (wechat.Tag{ID: want.ID, Name: want.Name, Count: want.Count}) {
			t.Fatalf("tag %d = %+v, simulator says %+v", i, tags[i], want)
		}
	}
	// A follower's tag ids resolve to names, except the deleted one.
	profiles, err := c.BatchGet(context.Background(), w.Followers(appid)[:100])
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range profiles {
		for _, id := range u.TagIDList {
			if _, ok := names[id]; !ok && id != wechattest.DeletedTagID {
				t.Fatalf("%s carries tag %d without a name", u.OpenID, id)
			}
		}
	}
}

func TestBlacklistIteratorOnTheSimulatorWalksEveryPage(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		opts                   []wechattest.Option
		followers, blacklisted int
		pages                  int // including the empty answer that ends the list
	}{
		{"1000 a page", nil, 4000, 2600, 4},
		{"10000 a page", []wechattest.Option{wechattest.WithBlacklistPageSize(10000)}, 10500, 10200, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 5, Apps: []wechattest.AppSpec{
				{Name: "a", Followers: tc.followers, Blacklisted: tc.blacklisted}}})
			c, srv, _ := simClient(t, w, tc.opts)
			srv.Inject(wechattest.Fault{Path: "/cgi-bin/tags/members/getblacklist", Errcode: -1, After: 1})
			var got []string
			pages := 0
			for p, err := range c.Blacklist(context.Background(), "") {
				if err != nil {
					t.Fatalf("after %d pages: %v", pages, err)
				}
				pages++
				if p.Total != tc.blacklisted {
					t.Fatalf("page %d: total %d", pages, p.Total)
				}
				got = append(got, p.OpenIDs...)
			}
			if !slices.Equal(got, w.Blacklist(w.Apps()[0].AppID)) || len(got) != tc.blacklisted {
				t.Fatalf("listed %d, want the simulator's %d in order", len(got), tc.blacklisted)
			}
			// The pages, the empty answer, and one retry of the injected -1.
			if pages != tc.pages || srv.Calls("/cgi-bin/tags/members/getblacklist") != tc.pages+1 {
				t.Fatalf("%d pages in %d calls, want %d in %d", pages, srv.Calls("/cgi-bin/tags/members/getblacklist"), tc.pages, tc.pages+1)
			}
		})
	}
}

func TestUserSummaryOnTheSimulatorSumsEverySourceOfADay(t *testing.T) {
	w := wechattest.DemoWorld(11, 20000)
	c, _, _ := simClient(t, w, nil)
	appid := w.Apps()[0].AppID
	ctx := context.Background()
	begin := simYesterday.AddDate(0, 0, -6)
	rows, err := c.UserSummary(ctx, begin, simYesterday)
	if err != nil {
		t.Fatal(err)
	}
	days := wechat.SumDays(rows)
	if len(days) != 7 || len(rows) < 3*7 {
		t.Fatalf("%d rows over %d days; want several sources on each of 7", len(rows), len(days))
	}
	cum, err := c.UserCumulate(ctx, begin, simYesterday)
	if err != nil || len(cum) != 7 {
		t.Fatalf("cumulate: %d rows, %v", len(cum), err)
	}
	for i, d := range days {
		truth, _ := w.Growth(appid, d.RefDate)
		if d.NewUser != truth.New() || d.CancelUser != truth.Cancel() || cum[i].RefDate != d.RefDate || cum[i].CumulateUser != truth.Cumulate {
			t.Fatalf("%s: %+v and %+v, simulator says %+v", d.RefDate, d, cum[i], truth)
		}
		if i > 0 && cum[i].CumulateUser-cum[i-1].CumulateUser != d.Net() {
			t.Fatalf("%s: followers moved by %d, net %d", d.RefDate, cum[i].CumulateUser-cum[i-1].CumulateUser, d.Net())
		}
	}
	if last := cum[6]; last.RefDate != "2025-05-31" || last.CumulateUser != int64(len(w.Followers(appid))) {
		t.Fatalf("yesterday %+v, want %d followers", last, len(w.Followers(appid)))
	}
}

// The growth command's walk: a month in 7-day calls finds the spike and the
// mass unfollow the simulator planted.
func TestAMonthOfUserSummaryOnTheSimulatorShowsTheSpikeAndTheDrop(t *testing.T) {
	w := wechattest.DemoWorld(11, 20000)
	c, _, _ := simClient(t, w, nil)
	var days []wechat.DaySummary
	for end := simYesterday; len(days) < 28; end = end.AddDate(0, 0, -7) {
		rows, err := c.UserSummary(context.Background(), end.AddDate(0, 0, -6), end)
		if err != nil {
			t.Fatal(err)
		}
		days = append(wechat.SumDays(rows), days...)
	}
	best, worst := days[0], days[0]
	for _, d := range days {
		if d.NewUser > best.NewUser {
			best = d
		}
		if d.Net() < worst.Net() {
			worst = d
		}
	}
	spike, drop := w.GrowthEvents(w.Apps()[0].AppID)
	if best.RefDate != spike || worst.RefDate != drop || worst.Net() >= 0 {
		t.Fatalf("biggest day %+v, worst %+v; simulator planted %s and %s", best, worst, spike, drop)
	}
}

func TestDatacubeOnTheSimulatorForAnUnverifiedAccountIsErrNoPermission(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{{Name: "a", Followers: 50, Unverified: true}}})
	c, _, _ := simClient(t, w, nil)
	ctx := context.Background()
	_, sumErr := c.UserSummary(ctx, simYesterday, simYesterday)
	_, cumErr := c.UserCumulate(ctx, simYesterday, simYesterday)
	_, tagErr := c.Tags(ctx)
	for path, err := range map[string]error{wechat.PathUserSummary: sumErr, wechat.PathUserCumulate: cumErr, wechat.PathTags: tagErr} {
		var apiErr *wechat.APIError
		if !errors.Is(err, wechat.ErrNoPermission) || !errors.As(err, &apiErr) || apiErr.Code != 48001 || apiErr.Path != path {
			t.Errorf("%s: err = %v, want ErrNoPermission (48001)", path, err)
		}
	}
}

func TestDatacubeOnTheSimulatorEndingTodayIsEmptyAndLongSpansAreNotSent(t *testing.T) {
	w := wechattest.DemoWorld(11, 2000)
	c, srv, _ := simClient(t, w, nil)
	ctx := context.Background()
	today := simYesterday.AddDate(0, 0, 1)
	rows, err := c.UserSummary(ctx, today.AddDate(0, 0, -3), today)
	if err != nil || len(rows) != 0 {
		t.Fatalf("a range ending today: %d rows, %v; want none", len(rows), err)
	}
	cum, err := c.UserCumulate(ctx, today.AddDate(0, 0, -3), today)
	if err != nil || len(cum) != 0 {
		t.Fatalf("cumulate ending today: %d rows, %v; want none", len(cum), err)
	}
	if _, err := c.UserSummary(ctx, simYesterday.AddDate(0, 0, -7), simYesterday); !errors.Is(err, wechat.ErrDateRange) {
		t.Fatalf("8 days: err = %v, want ErrDateRange", err)
	}
	if n := srv.Calls("/datacube/getusersummary"); n != 1 {
		t.Fatalf("%d getusersummary calls; the 8-day range must not be sent", n)
	}
	// Before 08:00 China time yesterday is not there yet.
	srv.Clock().Set(time.Date(2025, 6, 1, 7, 30, 0, 0, china))
	rows, err = c.UserSummary(ctx, simYesterday.AddDate(0, 0, -1), simYesterday)
	if err != nil || len(wechat.SumDays(rows)) != 1 || rows[0].RefDate != "2025-05-30" {
		t.Fatalf("at 07:30: %+v, %v; want only the day before yesterday", rows, err)
	}
}
