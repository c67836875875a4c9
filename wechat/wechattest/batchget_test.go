package wechattest_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"wxscope/wechat/wechattest"
)

func userList(t *testing.T, a answer) []map[string]any {
	t.Helper()
	list, ok := a.m["user_info_list"].([]any)
	if !ok {
		t.Fatalf("no user_info_list: %s", a.raw)
	}
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i] = v.(map[string]any)
	}
	return out
}

func TestBatchgetAcceptsOneToHundredOnly(t *testing.T) {
	e := demo(t, 150)
	tk := e.token("news")
	f := e.w.Followers(e.apps["news"].AppID)
	wantErr(t, "empty list", e.batch(tk), 40032)
	wantErr(t, "101 openids", e.batch(tk, f[:101]...), 40032)
	if got := userList(t, mustOK(t, "100", e.batch(tk, f[:100]...))); len(got) != 100 {
		t.Fatalf("100 openids gave %d users", len(got))
	}
	if got := userList(t, mustOK(t, "1", e.batch(tk, f[0]))); len(got) != 1 {
		t.Fatalf("1 openid gave %d users", len(got))
	}
}

func TestBatchgetWithoutUserListIs47001(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	for name, body := range map[string]string{
		"no user_list":       `{"openids":["x"]}`,
		"user_list null":     `{"user_list":null}`,
		"user_list a string": `{"user_list":"oabc"}`,
		"not json":           `user_list=oabc`,
		"empty body":         ``,
	} {
		wantErr(t, name, e.post("/cgi-bin/user/info/batchget", tok(tk), body), 47001)
	}
}

func TestBatchgetWithOneBadOpenidFailsWholeCall(t *testing.T) {
	e := demo(t, 20)
	tk := e.token("news")
	f := e.w.Followers(e.apps["news"].AppID)
	for name, bad := range map[string]string{
		"malformed":     "[" + f[1][1:],
		"another app's": e.w.Followers(e.apps["shop"].AppID)[0],
		"empty":         "",
	} {
		a := e.batch(tk, f[0], bad, f[2])
		wantErr(t, name, a, 40003)
		if strings.Contains(string(a.raw), f[0]) {
			t.Errorf("%s: the failed call leaked a partial result: %s", name, a.raw)
		}
	}
}

func TestBatchgetAnswersFormerFollowersWithSubscribeAndOpenidOnly(t *testing.T) {
	e := demo(t, 20)
	tk := e.token("news")
	gone := e.w.FormerFollowers(e.apps["news"].AppID)[0]
	got := userList(t, mustOK(t, "batch", e.batch(tk, gone)))[0]
	if want := map[string]any{"subscribe": json.Number("0"), "openid": gone}; !reflect.DeepEqual(got, want) {
		t.Fatalf("former follower: %v, want %v", got, want)
	}
}

func TestBatchgetKeepsRequestOrderAndEchoesDuplicates(t *testing.T) {
	e := demo(t, 20)
	tk := e.token("news")
	news := e.apps["news"].AppID
	f, gone := e.w.Followers(news), e.w.FormerFollowers(news)
	req := []string{f[5], f[1], gone[0], f[5], f[9]}
	got := userList(t, mustOK(t, "batch", e.batch(tk, req...)))
	if len(got) != len(req) {
		t.Fatalf("%d answers for %d openids", len(got), len(req))
	}
	for i, u := range got {
		if u["openid"] != req[i] {
			t.Fatalf("answer %d is %v, want %s", i, u["openid"], req[i])
		}
	}
}

func TestUnionidOnlyForBoundAppsAndSamePlatformMeansSameUnionid(t *testing.T) {
	e := demo(t, 400)
	ids := map[string]string{}
	for _, name := range []string{"news", "shop", "events", "legacy"} {
		ids[name] = e.apps[name].AppID
	}
	w := e.w
	// Find persons who follow news and each of the others.
	shared := map[string]int{}
	for _, o := range w.Followers(ids["news"]) {
		p, _ := w.Person(ids["news"], o)
		nu, _ := w.User(ids["news"], o)
		for _, other := range []string{"shop", "events", "legacy"} {
			ou, _ := w.User(ids[other], w.OpenID(ids[other], p))
			if ou.Subscribe != 1 {
				continue
			}
			shared[other]++
			switch other {
			case "shop":
				if ou.UnionID == "" || ou.UnionID != nu.UnionID {
					t.Fatalf("news and shop (both P1) give person %d unionids %q and %q", p, nu.UnionID, ou.UnionID)
				}
			case "events":
				if ou.UnionID != "" {
					t.Fatalf("unbound events emitted unionid %q", ou.UnionID)
				}
			case "legacy":
				if ou.UnionID == "" || ou.UnionID == nu.UnionID {
					t.Fatalf("legacy (P2) gives person %d unionid %q; news (P1) %q", p, ou.UnionID, nu.UnionID)
				}
			}
		}
	}
	for _, other := range []string{"shop", "events", "legacy"} {
		if shared[other] < 20 {
			t.Errorf("news and %s share only %d followers; the demo world should overlap", other, shared[other])
		}
	}
	// And the wire agrees with the world.
	tk := e.token("events")
	for _, u := range userList(t, mustOK(t, "events batch", e.batch(tk, w.Followers(ids["events"])[:50]...))) {
		if _, has := u["unionid"]; has {
			t.Fatalf("unbound app answered a unionid: %v", u)
		}
	}
	for _, u := range userList(t, mustOK(t, "news batch", e.batch(e.token("news"), w.Followers(ids["news"])[:50]...))) {
		if uid, _ := u["unionid"].(string); len(uid) != 28 {
			t.Fatalf("bound app follower without a 28-char unionid: %v", u)
		}
	}
}

func TestLegacyBlanksAreEmittedByDefaultAndOmittedInDocMode(t *testing.T) {
	legacy := []string{"nickname", "sex", "language", "city", "province", "country", "headimgurl"}
	base := []string{"subscribe", "openid", "subscribe_time", "unionid", "remark", "groupid", "tagid_list", "subscribe_scene", "qr_scene", "qr_scene_str"}
	for _, on := range []bool{true, false} {
		e := demo(t, 5, wechattest.WithLegacyBlanks(on))
		f := e.w.Followers(e.apps["news"].AppID)[0]
		u := userList(t, mustOK(t, "batch", e.batch(e.token("news"), f)))[0]
		for _, k := range base {
			if _, ok := u[k]; !ok {
				t.Errorf("legacy=%v: missing %s in %v", on, k, u)
			}
		}
		for _, k := range legacy {
			v, ok := u[k]
			if ok != on {
				t.Errorf("legacy=%v: field %s present=%v", on, k, ok)
			}
			if ok && v != "" && v != json.Number("0") && v != "zh_CN" {
				t.Errorf("legacy field %s is not blank: %v", k, v)
			}
		}
	}
}

func TestUserInfoAnswersWhatTheWorldKnows(t *testing.T) {
	e := demo(t, 30)
	news := e.apps["news"].AppID
	tk := e.token("news")
	for _, o := range append(e.w.Followers(news)[:10], e.w.FormerFollowers(news)[0]) {
		a := mustOK(t, "user/info", e.get("/cgi-bin/user/info", tok(tk, "openid", o, "lang", "zh_CN")))
		b := userList(t, mustOK(t, "batch", e.batch(tk, o)))[0]
		if !reflect.DeepEqual(a.m, b) {
			t.Fatalf("user/info %v differs from batchget %v", a.m, b)
		}
		u, _ := e.w.User(news, o)
		if a.str("openid") != u.OpenID || a.int("subscribe") != int64(u.Subscribe) || a.str("remark") != u.Remark || a.str("unionid") != u.UnionID {
			t.Fatalf("user/info %s vs world %+v", a.raw, u)
		}
	}
	wantErr(t, "no openid", e.get("/cgi-bin/user/info", tok(tk)), 41009)
	wantErr(t, "garbage openid", e.get("/cgi-bin/user/info", url.Values{"access_token": {tk}, "openid": {"o123"}}), 40003)
}
