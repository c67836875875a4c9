package wechattest_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"unicode"

	"wxscope/wechat/wechattest"
)

func (e *env) blacklist(token, begin string) answer {
	body, _ := json.Marshal(map[string]string{"begin_openid": begin})
	return e.post("/cgi-bin/tags/members/getblacklist", tok(token), string(body))
}

func (e *env) tags(token string) answer { return e.get("/cgi-bin/tags/get", tok(token)) }

// tagList decodes a tags/get answer.
func tagList(t *testing.T, a answer) []wechattest.Tag {
	t.Helper()
	var body struct{ Tags []wechattest.Tag }
	if err := json.Unmarshal(a.raw, &body); err != nil {
		t.Fatalf("tags/get: %v: %s", err, a.raw)
	}
	return body.Tags
}

func TestTagsGetNamesEveryTagFollowersCarryExceptTheDeletedOne(t *testing.T) {
	e := demo(t, 2000)
	news := e.apps["news"].AppID
	a := mustOK(t, "tags/get", e.tags(e.token("news")))
	listed := map[int64]string{}
	cjk := false
	for _, tag := range tagList(t, a) {
		listed[tag.ID] = tag.Name
		for _, r := range tag.Name {
			cjk = cjk || unicode.Is(unicode.Han, r)
		}
	}
	if listed[2] != "星标组" || !cjk {
		t.Fatalf("want system tag 2 星标组 and CJK names: %s", a.raw)
	}
	if _, ok := listed[wechattest.DeletedTagID]; ok {
		t.Fatalf("the deleted tag %d is listed: %s", wechattest.DeletedTagID, a.raw)
	}
	if !slices.Equal(tagList(t, a), e.w.Tags(news)) {
		t.Fatalf("tags/get %s differs from World.Tags %v", a.raw, e.w.Tags(news))
	}
	carriers := 0
	for _, o := range e.w.Followers(news) {
		u, _ := e.w.User(news, o)
		for _, id := range u.TagIDList {
			if id == wechattest.DeletedTagID {
				carriers++
			} else if _, ok := listed[id]; !ok {
				t.Fatalf("%s carries tag %d, which tags/get does not list", o, id)
			}
		}
	}
	if carriers == 0 || carriers > 100 {
		t.Fatalf("%d of 2000 followers carry the deleted tag; want a few", carriers)
	}
}

// The fact sheet marks tags/get, updateremark and datacube "verified
// accounts only"; the user APIs keep answering (see the package doc).
func TestAnUnverifiedAccountGets48001OnTheVerifiedOnlyAPIs(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 4, Apps: []wechattest.AppSpec{
		{Name: "plain", Followers: 50, Blacklisted: 5, Unverified: true},
		{Name: "verified", Followers: 50},
	}})
	e := newEnv(t, w)
	plain := e.apps["plain"]
	if !plain.Unverified || e.apps["verified"].Unverified {
		t.Fatalf("Apps() does not report verification: %+v", w.Apps())
	}
	tk := e.token("plain")
	follower := w.Followers(plain.AppID)[0]
	wantErr(t, "tags/get", e.tags(tk), 48001)
	wantErr(t, "updateremark", e.updateRemark(tk, follower, "x"), 48001)
	wantErr(t, "getusersummary", e.datacube("getusersummary", tk, "2025-05-25", "2025-05-31"), 48001)
	wantErr(t, "getusercumulate", e.datacube("getusercumulate", tk, "2025-05-25", "2025-05-31"), 48001)
	// Permission comes before the body is read.
	wantErr(t, "getusersummary with a bad date", e.datacube("getusersummary", tk, "x", "y"), 48001)
	mustOK(t, "user/get", e.userGet(tk, ""))
	mustOK(t, "batchget", e.batch(tk, follower))
	mustOK(t, "getblacklist", e.blacklist(tk, ""))
	mustOK(t, "another app", e.tags(e.token("verified")))

	if err := w.SetUnverified(plain.AppID, false); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "tags/get once verified", e.tags(tk))
	mustOK(t, "getusersummary once verified", e.datacube("getusersummary", tk, "2025-05-25", "2025-05-31"))
}

func TestBlacklistPagesLikeUserGetWithEitherPageSize(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		opts                   []wechattest.Option
		followers, blacklisted int
		sizes                  []int
	}{
		{"default 1000", nil, 3000, 2300, []int{1000, 1000, 300}},
		{"old docs' 10000", []wechattest.Option{wechattest.WithBlacklistPageSize(10000)}, 10500, 10200, []int{10000, 200}},
		{"exact pages", nil, 2500, 2000, []int{1000, 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 8, Apps: []wechattest.AppSpec{
				{Name: "a", Followers: tc.followers, Blacklisted: tc.blacklisted, Unfollowed: 10}}})
			e := newEnv(t, w, tc.opts...)
			tk := e.token("a")
			appid := e.apps["a"].AppID
			var got []string
			next := ""
			for i, size := range tc.sizes {
				a := mustOK(t, fmt.Sprint("page ", i+1), e.blacklist(tk, next))
				ids := pageOpenids(a)
				if a.int("total") != int64(tc.blacklisted) || a.int("count") != int64(size) || len(ids) != size {
					t.Fatalf("page %d: want %d of %d, got total %d count %d with %d ids",
						i+1, size, tc.blacklisted, a.int("total"), a.int("count"), len(ids))
				}
				if a.str("next_openid") != ids[len(ids)-1] {
					t.Fatalf("page %d: next_openid %q is not the page's last openid", i+1, a.str("next_openid"))
				}
				got = append(got, ids...)
				next = a.str("next_openid")
			}
			end := mustOK(t, "after the last page", e.blacklist(tk, next))
			if want := fmt.Sprintf(`{"total":%d,"count":0,"next_openid":""}`, tc.blacklisted); string(end.raw) != want {
				t.Fatalf("end of list: %s, want %s", end.raw, want)
			}
			if !slices.Equal(got, w.Blacklist(appid)) {
				t.Fatal("the pages differ from World.Blacklist")
			}
			followers := w.Followers(appid)
			slices.Sort(followers)
			for _, o := range got {
				if _, ok := slices.BinarySearch(followers, o); !ok {
					t.Fatalf("blacklisted %s is not a follower", o)
				}
			}
		})
	}
}

func TestBlacklistBeginOpenidMustBeOnTheBlacklist(t *testing.T) {
	e := demo(t, 500)
	news := e.apps["news"].AppID
	tk := e.token("news")
	listed := e.w.Blacklist(news)
	if len(listed) != 10 {
		t.Fatalf("demo news of 500 has %d blacklisted, want 2%%", len(listed))
	}
	var unlisted string
	for _, o := range e.w.Followers(news) {
		if !slices.Contains(listed, o) {
			unlisted = o
			break
		}
	}
	wantErr(t, "malformed", e.blacklist(tk, "not-an-openid"), 40003)
	wantErr(t, "a follower not blacklisted", e.blacklist(tk, unlisted), 40003)
	wantErr(t, "a former follower", e.blacklist(tk, e.w.FormerFollowers(news)[0]), 40003)
	wantErr(t, "another app's", e.blacklist(tk, e.w.Blacklist(e.apps["shop"].AppID)[0]), 49003)
	wantErr(t, "not JSON", e.post("/cgi-bin/tags/members/getblacklist", tok(tk), "begin_openid="), 47001)

	from := mustOK(t, "from the 4th", e.blacklist(tk, listed[3]))
	if !slices.Equal(pageOpenids(from), listed[4:]) {
		t.Fatalf("after %s: %v, want %v", listed[3], pageOpenids(from), listed[4:])
	}
	empty := mustOK(t, `begin_openid ""`, e.blacklist(tk, ""))
	absent := mustOK(t, "no begin_openid", e.post("/cgi-bin/tags/members/getblacklist", tok(tk), `{}`))
	if !slices.Equal(pageOpenids(empty), listed) || !slices.Equal(pageOpenids(absent), listed) {
		t.Fatal(`an empty or absent begin_openid does not start from the beginning`)
	}
}

func TestBlacklistTakesInjectedFaults(t *testing.T) {
	e := demo(t, 100)
	tk := e.token("news")
	e.s.Inject(wechattest.Fault{Path: "/cgi-bin/tags/members/getblacklist", Errcode: -1})
	wantErr(t, "injected", e.blacklist(tk, ""), -1)
	mustOK(t, "after the fault", e.blacklist(tk, ""))
}

func TestBlacklistFollowsUnfollowsAndSetBlacklisted(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 2, Apps: []wechattest.AppSpec{{Name: "a", Followers: 30, Blacklisted: 3}}})
	e := newEnv(t, w)
	appid := e.apps["a"].AppID
	tk := e.token("a")
	gone := w.Blacklist(appid)[0]
	if err := w.Unfollow(appid, gone); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.Blacklist(appid), gone) {
		t.Fatal("an unfollowed person is still blacklisted")
	}
	added := w.Followers(appid)[0]
	if slices.Contains(w.Blacklist(appid), added) {
		added = w.Followers(appid)[1]
	}
	if err := w.SetBlacklisted(appid, added, true); err != nil {
		t.Fatal(err)
	}
	a := mustOK(t, "getblacklist", e.blacklist(tk, ""))
	if a.int("total") != 3 || !slices.Contains(pageOpenids(a), added) || slices.Contains(pageOpenids(a), gone) {
		t.Fatalf("after an unfollow and an addition: %s", a.raw)
	}
	if w.SetBlacklisted(appid, gone, true) == nil {
		t.Fatal("blacklisting a former follower must fail")
	}
	if err := w.SetBlacklisted(appid, added, false); err != nil || slices.Contains(w.Blacklist(appid), added) {
		t.Fatalf("taking %s off: %v", added, err)
	}
	empty := wechattest.NewWorld(wechattest.WorldSpec{Seed: 2, Apps: []wechattest.AppSpec{{Name: "a", Followers: 30}}})
	e2 := newEnv(t, empty)
	if a := mustOK(t, "no blacklist", e2.blacklist(e2.token("a"), "")); string(a.raw) != `{"total":0,"count":0,"next_openid":""}` {
		t.Fatalf("an empty blacklist: %s", a.raw)
	}
}
