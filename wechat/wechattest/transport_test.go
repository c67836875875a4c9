package wechattest_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var errmsgRE = regexp.MustCompile(`^[^\n]+ rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

// calls is a spread of successes and errors over every endpoint.
func allKindsOfCalls(e *env) map[string]answer {
	news := e.apps["news"]
	tk := e.token("news")
	follower := e.w.Followers(news.AppID)[0]
	return map[string]answer{
		"token ok":           e.fetchToken("news"),
		"token bad grant":    e.get("/cgi-bin/token", url.Values{"grant_type": {"x"}, "appid": {news.AppID}, "secret": {news.Secret}}),
		"stable ok":          e.stable("news", false),
		"stable GET":         e.get("/cgi-bin/stable_token", nil),
		"stable garbage":     e.post("/cgi-bin/stable_token", nil, "{"),
		"user/get ok":        e.userGet(tk, ""),
		"user/get no token":  e.get("/cgi-bin/user/get", nil),
		"user/get bad token": e.userGet("nonsense", ""),
		"user/info ok":       e.get("/cgi-bin/user/info", tok(tk, "openid", follower)),
		"user/info foreign":  e.get("/cgi-bin/user/info", tok(tk, "openid", e.w.Followers(e.apps["shop"].AppID)[0])),
		"batchget ok":        e.batch(tk, follower),
		"batchget empty":     e.batch(tk),
		"batchget garbage":   e.post("/cgi-bin/user/info/batchget", tok(tk), "not json"),
		"quota get":          e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"/cgi-bin/user/get"}`),
		"quota get bad":      e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"cgi-bin/user/get"}`),
		"clear quota":        e.post("/cgi-bin/clear_quota", tok(tk), `{"appid":"`+news.AppID+`"}`),
		"tags/get":           e.get("/cgi-bin/tags/get", tok(tk)),
		"getblacklist":       e.blacklist(tk, ""),
		"getblacklist bad":   e.blacklist(tk, "nonsense"),
		"usersummary":        e.datacube("getusersummary", tk, "2025-05-01", "2025-05-07"),
		"usersummary 8 days": e.datacube("getusersummary", tk, "2025-05-01", "2025-05-08"),
		"usercumulate":       e.datacube("getusercumulate", tk, "2025-05-01", "2025-05-07"),
		"usercumulate date":  e.datacube("getusercumulate", tk, "2025-05-01", "7 May"),
		"updateremark":       e.post("/cgi-bin/user/info/updateremark", tok(tk), `{"openid":"`+follower+`","remark":"ok"}`),
	}
}

func TestEveryAnswerIsHTTP200WithWeChatContentType(t *testing.T) {
	e := demo(t, 20)
	for name, a := range allKindsOfCalls(e) {
		if a.status != 200 {
			t.Errorf("%s: HTTP %d, want 200", name, a.status)
		}
		if a.ctype != wechatCT {
			t.Errorf("%s: Content-Type %q, want %q", name, a.ctype, wechatCT)
		}
		if a.m == nil {
			t.Errorf("%s: body is not a JSON object: %s", name, a.raw)
		}
	}
}

func TestErrorBodiesAreErrcodeAndErrmsgWithRid(t *testing.T) {
	e := demo(t, 20)
	errors := 0
	for name, a := range allKindsOfCalls(e) {
		if a.errcode() == 0 {
			continue
		}
		errors++
		if len(a.m) != 2 {
			t.Errorf("%s: error body has keys other than errcode and errmsg: %s", name, a.raw)
		}
		if !errmsgRE.MatchString(a.str("errmsg")) {
			t.Errorf("%s: errmsg %q lacks the rid suffix", name, a.str("errmsg"))
		}
	}
	if errors < 8 {
		t.Fatalf("only %d error answers; the spread should hold more", errors)
	}
}

func TestDataSuccessesCarryNoErrcodeButActionsSayOK(t *testing.T) {
	e := demo(t, 20)
	calls := allKindsOfCalls(e)
	for _, name := range []string{"token ok", "stable ok", "user/get ok", "user/info ok", "batchget ok", "tags/get", "getblacklist", "usersummary", "usercumulate"} {
		if _, has := calls[name].m["errcode"]; has || calls[name].m == nil {
			t.Errorf("%s: data success must not carry errcode: %s", name, calls[name].raw)
		}
	}
	for _, name := range []string{"clear quota", "updateremark", "quota get"} {
		a := calls[name]
		if _, has := a.m["errcode"]; !has || a.errcode() != 0 || a.str("errmsg") != "ok" {
			t.Errorf("%s: action success must be errcode 0 errmsg ok: %s", name, a.raw)
		}
	}
}

func TestMissingAccessTokenIs41001OnEveryAPI(t *testing.T) {
	e := demo(t, 5)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/cgi-bin/user/get", ""},
		{"GET", "/cgi-bin/user/info", ""},
		{"POST", "/cgi-bin/user/info/batchget", `{"user_list":[{"openid":"x"}]}`},
		{"POST", "/cgi-bin/clear_quota", `{"appid":"x"}`},
		{"POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/cgi-bin/user/get"}`},
		{"GET", "/cgi-bin/tags/get", ""},
		{"POST", "/cgi-bin/tags/members/getblacklist", `{"begin_openid":""}`},
		{"POST", "/datacube/getusersummary", `{"begin_date":"2025-05-01","end_date":"2025-05-01"}`},
		{"POST", "/datacube/getusercumulate", `{"begin_date":"2025-05-01","end_date":"2025-05-01"}`},
		{"POST", "/cgi-bin/user/info/updateremark", `{}`},
	} {
		wantErr(t, c.path, e.do(c.method, c.path, url.Values{"access_token": {""}}, c.body), 41001)
	}
}

func TestUnparseableBodyIs47001(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	for _, path := range []string{"/cgi-bin/user/info/batchget", "/cgi-bin/clear_quota", "/cgi-bin/openapi/quota/get", "/cgi-bin/user/info/updateremark",
		"/cgi-bin/tags/members/getblacklist", "/datacube/getusersummary", "/datacube/getusercumulate"} {
		wantErr(t, path, e.post(path, tok(tk), `{"user_list":[`), 47001)
	}
	wantErr(t, "stable_token", e.post("/cgi-bin/stable_token", nil, `grant_type=client_credential`), 47001)
}

func TestUnknownPathIsAPlain404(t *testing.T) {
	e := demo(t, 5)
	a := e.get("/cgi-bin/user/gett", nil)
	if a.status != 404 || strings.Contains(a.ctype, "json") {
		t.Fatalf("unknown path: HTTP %d %q", a.status, a.ctype)
	}
}
