package wechattest_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

// datacube calls datacube/<name> for the range begin..end.
func (e *env) datacube(name, token, begin, end string) answer {
	body, _ := json.Marshal(map[string]string{"begin_date": begin, "end_date": end})
	return e.post("/datacube/"+name, tok(token), string(body))
}

type summaryRow struct {
	RefDate    string `json:"ref_date"`
	UserSource int    `json:"user_source"`
	NewUser    int64  `json:"new_user"`
	CancelUser int64  `json:"cancel_user"`
	Cumulate   int64  `json:"cumulate_user"`
}

func rows(t *testing.T, a answer) []summaryRow {
	t.Helper()
	var body struct {
		List *[]summaryRow `json:"list"`
	}
	if err := json.Unmarshal(a.raw, &body); err != nil || body.List == nil {
		t.Fatalf("not a datacube list: %v %s", err, a.raw)
	}
	return *body.List
}

func dates(rs []summaryRow) []string {
	var out []string
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1] != r.RefDate {
			out = append(out, r.RefDate)
		}
	}
	return out
}

// day is a date n days from d (yyyy-MM-dd).
func day(d string, n int) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		panic(err)
	}
	return t.AddDate(0, 0, n).Format("2006-01-02")
}

// The env's clock starts on 2025-06-02 at 10:00 China time, the day after
// the world's default today: yesterday is 2025-06-01, and 2025-05-31 ends at
// the spec's follower count.
const yesterday = "2025-06-01"

func TestUserSummaryGivesARowPerDayAndSourceThatSumToTheDay(t *testing.T) {
	e := demo(t, 20000)
	news := e.apps["news"].AppID
	a := mustOK(t, "getusersummary", e.datacube("getusersummary", e.token("news"), day(yesterday, -6), yesterday))
	if _, has := a.m["errcode"]; has {
		t.Fatalf("a data answer carries errcode: %s", a.raw)
	}
	rs := rows(t, a)
	want := []string{}
	for i := -6; i <= 0; i++ {
		want = append(want, day(yesterday, i))
	}
	if got := dates(rs); !slices.Equal(got, want) {
		t.Fatalf("dates %v, want %v", got, want)
	}
	sources := map[int]bool{}
	perDay := map[string]int{}
	sums := map[string][2]int64{}
	for _, r := range rs {
		sources[r.UserSource] = true
		perDay[r.RefDate]++
		s := sums[r.RefDate]
		sums[r.RefDate] = [2]int64{s[0] + r.NewUser, s[1] + r.CancelUser}
	}
	for _, src := range []int{0, 1, 17, 30} {
		if !sources[src] {
			t.Errorf("no row of user_source %d in a week of a 20000-follower account", src)
		}
	}
	for _, d := range want {
		if perDay[d] < 3 {
			t.Errorf("%s has %d rows; a real account has several sources a day", d, perDay[d])
		}
		truth, ok := e.w.Growth(news, d)
		if !ok || sums[d] != [2]int64{truth.New(), truth.Cancel()} {
			t.Errorf("%s sums to %v, World.Growth says %+v", d, sums[d], truth)
		}
	}
}

func TestUserCumulateFollowsTheDailyNetAndEndsAtTheFollowerCount(t *testing.T) {
	e := demo(t, 20000)
	news := e.apps["news"].AppID
	tk := e.token("news")
	const end = "2025-05-31" // the day before the world's today
	cum := rows(t, mustOK(t, "getusercumulate", e.datacube("getusercumulate", tk, day(end, -6), end)))
	sum := rows(t, mustOK(t, "getusersummary", e.datacube("getusersummary", tk, day(end, -6), end)))
	if len(cum) != 7 {
		t.Fatalf("%d cumulate rows, want one a day: %v", len(cum), cum)
	}
	if last := cum[6]; last.RefDate != end || last.Cumulate != int64(len(e.w.Followers(news))) {
		t.Fatalf("last row %+v, want %s at %d followers", last, end, len(e.w.Followers(news)))
	}
	net := map[string]int64{}
	for _, r := range sum {
		net[r.RefDate] += r.NewUser - r.CancelUser
	}
	for i := 1; i < len(cum); i++ {
		if cum[i].UserSource != 0 || cum[i].Cumulate-cum[i-1].Cumulate != net[cum[i].RefDate] {
			t.Fatalf("%s: cumulate %d after %d, but the day's net is %d", cum[i].RefDate, cum[i].Cumulate, cum[i-1].Cumulate, net[cum[i].RefDate])
		}
	}
}

// The whole history holds together for accounts of any size: it starts
// from nothing, never goes below zero, moves by each day's net, and ends
// the day before the world's today at the spec's followers.
func TestGrowthHistoryIsConsistentForEverySize(t *testing.T) {
	for _, n := range []int{0, 1, 7, 399, 400, 600, 5000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := wechattest.NewWorld(wechattest.WorldSpec{Seed: int64(n), Apps: []wechattest.AppSpec{{Name: "a", Followers: n}}})
			appid := w.Apps()[0].AppID
			first := ""
			for d := "2010-01-01"; first == ""; d = day(d, 1) {
				if _, ok := w.Growth(appid, d); ok {
					first = d
				}
			}
			prev := int64(0)
			for d := first; d <= "2026-06-01"; d = day(d, 1) {
				g, ok := w.Growth(appid, d)
				if !ok {
					t.Fatalf("%s: no figures", d)
				}
				if g.Cumulate < 0 || g.Cumulate-prev != g.New()-g.Cancel() || g.Sources[0].UserSource != 0 {
					t.Fatalf("%s: %+v after %d", d, g, prev)
				}
				if d == "2025-05-31" && g.Cumulate != int64(n) {
					t.Fatalf("%s ends at %d followers, want %d", d, g.Cumulate, n)
				}
				prev = g.Cumulate
			}
			spike, drop := w.GrowthEvents(appid)
			if (spike != "") != (n >= 400) || (drop != "") != (n >= 600) {
				t.Fatalf("%d followers: spike %q, mass unfollow %q", n, spike, drop)
			}
		})
	}
}

func TestCampaignSpikeAndMassUnfollowStandOut(t *testing.T) {
	e := demo(t, 20000)
	news := e.apps["news"].AppID
	tk := e.token("news")
	spike, drop := e.w.GrowthEvents(news)
	if spike == "" || drop == "" || spike == drop || spike >= "2025-06-01" || drop < "2025-05-01" {
		t.Fatalf("spike %q, mass unfollow %q: want two days in the month before today", spike, drop)
	}
	perDay := func(d string) (newU, cancel, qr, other int64) {
		for _, r := range rows(t, mustOK(t, d, e.datacube("getusersummary", tk, d, d))) {
			newU += r.NewUser
			cancel += r.CancelUser
			if r.UserSource == 30 {
				qr += r.NewUser
			}
			if r.UserSource == 0 {
				other += r.CancelUser
			}
		}
		return
	}
	ordinary, _, _, _ := perDay(day(spike, -1))
	n, _, qr, _ := perDay(spike)
	if n < 10*ordinary || qr < n/2 {
		t.Fatalf("spike %s: %d follows (%d by QR code) against %d the day before", spike, n, qr, ordinary)
	}
	n, c, _, other := perDay(drop)
	if n-c >= 0 || c < 20000/60 || other < c/2 {
		t.Fatalf("mass unfollow %s: %d follows, %d unfollows (%d under source 0)", drop, n, c, other)
	}
}

func TestDatacubeRangeOver7DaysIs61501(t *testing.T) {
	e := demo(t, 100)
	tk := e.token("news")
	for _, name := range []string{"getusersummary", "getusercumulate"} {
		mustOK(t, name+" 7 days", e.datacube(name, tk, "2025-05-01", "2025-05-07"))
		mustOK(t, name+" 1 day", e.datacube(name, tk, "2025-05-01", "2025-05-01"))
		wantErr(t, name+" 8 days", e.datacube(name, tk, "2025-05-01", "2025-05-08"), 61501)
		wantErr(t, name+" end before begin", e.datacube(name, tk, "2025-05-07", "2025-05-01"), 61501)
	}
}

func TestDatacubeDateThatIsNotYYYYMMDDIs61500(t *testing.T) {
	e := demo(t, 100)
	tk := e.token("news")
	for _, bad := range []string{"2025/05/01", "20250501", "2025-5-1", "2025-02-30", "", " 2025-05-01", "2025-05-01T00:00:00+08:00"} {
		wantErr(t, fmt.Sprintf("begin %q", bad), e.datacube("getusersummary", tk, bad, "2025-05-02"), 61500)
		wantErr(t, fmt.Sprintf("end %q", bad), e.datacube("getusercumulate", tk, "2025-04-30", bad), 61500)
	}
	wantErr(t, "no dates", e.post("/datacube/getusersummary", tok(tk), `{}`), 61500)
	wantErr(t, "not JSON", e.post("/datacube/getusersummary", tok(tk), `begin_date=2025-05-01`), 47001)
}

func TestDatacubeRangeEndingTodayOrLaterIsEmpty(t *testing.T) {
	e := demo(t, 1000)
	tk := e.token("news")
	const today = "2025-06-02"
	for _, name := range []string{"getusersummary", "getusercumulate"} {
		for _, r := range [][2]string{{day(today, -3), today}, {today, today}, {day(today, 1), day(today, 3)}} {
			a := mustOK(t, name, e.datacube(name, tk, r[0], r[1]))
			if string(a.raw) != `{"list":[]}` {
				t.Fatalf("%s %s..%s: %s, want an empty list", name, r[0], r[1], a.raw)
			}
		}
		if got := dates(rows(t, mustOK(t, name, e.datacube(name, tk, day(today, -3), day(today, -1))))); len(got) != 3 {
			t.Fatalf("%s ending yesterday: days %v", name, got)
		}
	}
}

func TestYesterdayAppearsAt8ChinaTime(t *testing.T) {
	e := demo(t, 1000)
	tk := e.token("news")
	china := time.FixedZone("UTC+8", 8*3600)
	e.clock.Set(time.Date(2025, 6, 2, 7, 59, 59, 0, china))
	for _, name := range []string{"getusersummary", "getusercumulate"} {
		got := dates(rows(t, mustOK(t, name, e.datacube(name, tk, "2025-05-29", "2025-06-01"))))
		if !slices.Equal(got, []string{"2025-05-29", "2025-05-30", "2025-05-31"}) {
			t.Fatalf("%s at 07:59:59: days %v, want yesterday missing", name, got)
		}
		if a := mustOK(t, name, e.datacube(name, tk, "2025-06-01", "2025-06-01")); string(a.raw) != `{"list":[]}` {
			t.Fatalf("%s of yesterday only, at 07:59:59: %s", name, a.raw)
		}
	}
	e.clock.Set(time.Date(2025, 6, 2, 8, 0, 0, 0, china))
	for _, name := range []string{"getusersummary", "getusercumulate"} {
		got := dates(rows(t, mustOK(t, name, e.datacube(name, tk, "2025-05-29", "2025-06-01"))))
		if !slices.Equal(got, []string{"2025-05-29", "2025-05-30", "2025-05-31", "2025-06-01"}) {
			t.Fatalf("%s at 08:00: days %v, want yesterday too", name, got)
		}
	}
}

func TestDatacubeTakesInjectedFaults(t *testing.T) {
	e := demo(t, 100)
	tk := e.token("news")
	e.s.Inject(wechattest.Fault{Path: "/datacube/getusersummary", Errcode: -1})
	wantErr(t, "injected", e.datacube("getusersummary", tk, "2025-05-01", "2025-05-07"), -1)
	mustOK(t, "after the fault", e.datacube("getusersummary", tk, "2025-05-01", "2025-05-07"))
}

func TestGrowthIsDeterministicFromTheSeed(t *testing.T) {
	a, b, c := wechattest.DemoWorld(5, 5000), wechattest.DemoWorld(5, 5000), wechattest.DemoWorld(6, 5000)
	ida, idc := a.Apps()[0].AppID, c.Apps()[0].AppID
	same, differ := true, false
	for d := "2025-04-01"; d <= "2025-05-31"; d = day(d, 1) {
		ga, _ := a.Growth(ida, d)
		gb, _ := b.Growth(ida, d)
		gc, _ := c.Growth(idc, d)
		same = same && slices.Equal(ga.Sources, gb.Sources) && ga.Cumulate == gb.Cumulate
		differ = differ || !slices.Equal(ga.Sources, gc.Sources)
	}
	if !same || !differ {
		t.Fatalf("same seed same figures: %v; another seed other figures: %v", same, differ)
	}
}
