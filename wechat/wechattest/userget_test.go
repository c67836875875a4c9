package wechattest_test

import (
	"slices"
	"strconv"
	"testing"

	"wxscope/wechat/wechattest"
)

func TestUserGetPagesEndWithLastOpenidThenAnEmptyCall(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{{Name: "a", Followers: 7}}})
	e := newEnv(t, w, wechattest.WithPageSize(3))
	tk := e.token("a")
	want := w.Followers(e.apps["a"].AppID)

	var got []string
	next := ""
	for _, size := range []int{3, 3, 1} {
		a := mustOK(t, "page", e.userGet(tk, next))
		ids := pageOpenids(a)
		if a.int("total") != 7 || a.int("count") != int64(size) || len(ids) != size {
			t.Fatalf("page: want %d of 7: %s", size, a.raw)
		}
		if a.str("next_openid") != ids[len(ids)-1] {
			t.Fatalf("next_openid %q is not the last openid of the page %v", a.str("next_openid"), ids)
		}
		got = append(got, ids...)
		next = a.str("next_openid")
	}
	end := mustOK(t, "after the last page", e.userGet(tk, next))
	if string(end.raw) != `{"total":7,"count":0,"next_openid":""}` {
		t.Fatalf("end of list: %s", end.raw)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want Followers() %v", got, want)
	}
}

func TestUserGetWithZeroFollowersHasNoDataKey(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{{Name: "empty", Unfollowed: 2}}})
	e := newEnv(t, w)
	a := mustOK(t, "user/get", e.userGet(e.token("empty"), ""))
	if string(a.raw) != `{"total":0,"count":0,"next_openid":""}` {
		t.Fatalf("zero followers: %s", a.raw)
	}
}

func TestUserGetOrderIsFixedButNotChronological(t *testing.T) {
	e := demo(t, 300)
	news := e.apps["news"].AppID
	tk := e.token("news")
	first, second := e.listAll(tk), e.listAll(tk)
	if !slices.Equal(first, second) {
		t.Fatal("two listings of an unchanged account differ")
	}
	times := make([]int64, len(first))
	for i, o := range first {
		u, _ := e.w.User(news, o)
		times[i] = u.SubscribeTime
	}
	if slices.IsSorted(times) || slices.IsSortedFunc(times, func(a, b int64) int { return int(b - a) }) {
		t.Fatal("user/get is ordered by subscribe_time")
	}
	if slices.IsSorted(first) {
		t.Fatal("user/get is ordered by openid spelling")
	}
	added := e.w.Follow(news, 20)
	all := e.listAll(tk)
	if len(all) != len(first)+20 {
		t.Fatalf("after 20 follows: %d openids, want %d", len(all), len(first)+20)
	}
	if slices.Equal(all[len(first):], added) {
		t.Fatal("new followers all appear at the end; real ones do not")
	}
}

func TestUserGetEmptyOrAbsentNextOpenidStartsOver(t *testing.T) {
	e := demo(t, 30, wechattest.WithPageSize(10))
	tk := e.token("news")
	absent := mustOK(t, "absent", e.userGet(tk, ""))
	empty := mustOK(t, "empty", e.get("/cgi-bin/user/get", tok(tk, "next_openid", "")))
	if !slices.Equal(pageOpenids(absent), pageOpenids(empty)) || len(pageOpenids(empty)) != 10 {
		t.Fatalf("absent %v vs empty %v", pageOpenids(absent), pageOpenids(empty))
	}
}

func TestUserGetWithAStrangeCursorIs40003(t *testing.T) {
	e := demo(t, 30)
	news := e.apps["news"].AppID
	tk := e.token("news")
	for name, cursor := range map[string]string{
		"malformed":         "not-an-openid",
		"another app's":     e.w.Followers(e.apps["shop"].AppID)[0],
		"a former follower": e.w.FormerFollowers(news)[0],
		"one char off":      e.w.Followers(news)[3][:27] + "!",
	} {
		wantErr(t, name, e.userGet(tk, cursor), 40003)
	}
}

func TestUserGetTotalIsLive(t *testing.T) {
	e := demo(t, 25, wechattest.WithPageSize(10))
	news := e.apps["news"].AppID
	tk := e.token("news")
	p1 := mustOK(t, "page 1", e.userGet(tk, ""))
	if p1.int("total") != 25 {
		t.Fatalf("total %d", p1.int("total"))
	}
	rest := e.w.Followers(news)[15:]
	if err := e.w.Unfollow(news, rest[0]); err != nil {
		t.Fatal(err)
	}
	e.w.Follow(news, 3)
	p2 := mustOK(t, "page 2", e.userGet(tk, p1.str("next_openid")))
	if p2.int("total") != 27 {
		t.Fatalf("total after one unfollow and three follows: %d, want 27", p2.int("total"))
	}
}

func TestUserGetDailyQuotaIs500Then45009(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	for i := range 500 {
		mustOK(t, "user/get "+strconv.Itoa(i+1), e.userGet(tk, ""))
	}
	wantErr(t, "user/get 501", e.userGet(tk, ""), 45009)
	mustOK(t, "shop has its own quota", e.userGet(e.token("shop"), ""))
}
