package wechattest_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

func TestDailyQuotaIsSettablePerAppAndPath(t *testing.T) {
	e := demo(t, 5)
	news := e.apps["news"].AppID
	e.s.SetDailyQuota(news, "/cgi-bin/user/info/batchget", 2)
	tk := e.token("news")
	f := e.w.Followers(news)[0]
	mustOK(t, "1", e.batch(tk, f))
	mustOK(t, "2", e.batch(tk, f))
	wantErr(t, "3", e.batch(tk, f), 45009)
	mustOK(t, "user/info is a different quota", e.get("/cgi-bin/user/info", tok(tk, "openid", f)))
	mustOK(t, "shop's batchget quota is its own", e.batch(e.token("shop"), e.w.Followers(e.apps["shop"].AppID)[0]))

	e.s.SetDailyQuota("", "/cgi-bin/user/get", 0) // every app
	wantErr(t, "all-apps quota of 0", e.userGet(e.token("shop"), ""), 45009)
}

func TestMinuteLimitGives45011UntilTheNextClockMinute(t *testing.T) {
	e := demo(t, 5)
	e.clock.Set(start.Add(50 * time.Second)) // 10:00:50
	news := e.apps["news"].AppID
	e.s.SetMinuteLimit(news, "/cgi-bin/user/get", 3)
	tk := e.token("news")
	for range 3 {
		mustOK(t, "within the limit", e.userGet(tk, ""))
	}
	wantErr(t, "4th in the minute", e.userGet(tk, ""), 45011)
	e.clock.Advance(9 * time.Second) // 10:00:59
	wantErr(t, "same minute", e.userGet(tk, ""), 45011)
	e.clock.Advance(time.Second) // 10:01:00
	mustOK(t, "next minute", e.userGet(tk, ""))
}

func TestDailyQuotasResetAtMidnightBeijingTime(t *testing.T) {
	e := demo(t, 5)
	e.clock.Set(time.Date(2025, 6, 2, 15, 59, 0, 0, time.UTC)) // 23:59 in UTC+8
	e.s.SetDailyQuota("", "/cgi-bin/user/get", 1)
	tk := e.token("news")
	mustOK(t, "first", e.userGet(tk, ""))
	wantErr(t, "second", e.userGet(tk, ""), 45009)
	e.clock.Advance(59 * time.Second)
	wantErr(t, "23:59:59", e.userGet(tk, ""), 45009)
	e.clock.Advance(time.Second)
	mustOK(t, "00:00 UTC+8", e.userGet(tk, ""))
	if e.s.Calls("/cgi-bin/user/get") != 4 {
		t.Fatalf("Calls counts every request whatever the quota: %d", e.s.Calls("/cgi-bin/user/get"))
	}
}

func TestDailyResetZoneIsConfigurable(t *testing.T) {
	e := demo(t, 5, wechattest.WithDailyReset(time.UTC))
	e.clock.Set(time.Date(2025, 6, 2, 16, 30, 0, 0, time.UTC)) // past Beijing midnight
	e.s.SetDailyQuota("", "/cgi-bin/user/get", 1)
	tk := e.token("news")
	mustOK(t, "first", e.userGet(tk, ""))
	e.clock.Set(time.Date(2025, 6, 2, 23, 59, 0, 0, time.UTC))
	tk = e.token("news") // the old one is over 7200 s old
	wantErr(t, "still the same UTC day", e.userGet(tk, ""), 45009)
	e.clock.Set(time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC))
	mustOK(t, "UTC midnight", e.userGet(tk, ""))
}

func TestClearQuotaResetsDailyCountersTenTimesAMonth(t *testing.T) {
	e := demo(t, 5)
	news := e.apps["news"]
	e.s.SetDailyQuota("", "/cgi-bin/user/get", 1)
	tk := e.token("news")
	shop := e.token("shop")
	mustOK(t, "shop uses its quota", e.userGet(shop, ""))
	body := `{"appid":"` + news.AppID + `"}`
	for i := range 10 {
		mustOK(t, "user/get", e.userGet(tk, ""))
		wantErr(t, "exhausted", e.userGet(tk, ""), 45009)
		if i%2 == 0 {
			mustOK(t, "clear", e.post("/cgi-bin/clear_quota", tok(tk), body))
		} else {
			mustOK(t, "clear v2", e.post("/cgi-bin/clear_quota/v2", url.Values{"appid": {news.AppID}, "appsecret": {news.Secret}}, ""))
		}
	}
	mustOK(t, "after the 10th clear", e.userGet(tk, ""))
	wantErr(t, "11th clear", e.post("/cgi-bin/clear_quota", tok(tk), body), 48006)
	wantErr(t, "shop's quota was not cleared", e.userGet(shop, ""), 45009)
	wantErr(t, "another app's appid", e.post("/cgi-bin/clear_quota", tok(tk), `{"appid":"`+e.apps["shop"].AppID+`"}`), 40013)
	wantErr(t, "v2 wrong secret", e.post("/cgi-bin/clear_quota/v2", url.Values{"appid": {news.AppID}, "appsecret": {"x"}}, ""), 40125)

	e.clock.Set(time.Date(2025, 7, 1, 0, 0, 0, 0, time.FixedZone("UTC+8", 8*3600)))
	mustOK(t, "clears come back next month", e.post("/cgi-bin/clear_quota", tok(e.token("news")), body))
}

func TestQuotaGetReportsLimitUsedAndRemain(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	for range 3 {
		mustOK(t, "user/get", e.userGet(tk, ""))
	}
	a := mustOK(t, "quota/get", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"/cgi-bin/user/get"}`))
	var got struct {
		Errcode int
		Quota   struct {
			DailyLimit int `json:"daily_limit"`
			Used       int
			Remain     int
		}
		RateLimit *struct {
			CallCount     int `json:"call_count"`
			RefreshSecond int `json:"refresh_second"`
		} `json:"rate_limit"`
	}
	if err := json.Unmarshal(a.raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Quota.DailyLimit != 500 || got.Quota.Used != 3 || got.Quota.Remain != 497 || got.RateLimit == nil {
		t.Fatalf("quota of user/get: %s", a.raw)
	}
	for path, want := range map[string]int{"/cgi-bin/token": 2000, "/cgi-bin/user/info": 5000000, "/cgi-bin/stable_token": 500000} {
		a := mustOK(t, path, e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"`+path+`"}`))
		q := a.m["quota"].(map[string]any)
		if q["daily_limit"] != json.Number(strconv.Itoa(want)) {
			t.Errorf("%s: daily_limit %v, want %d", path, q["daily_limit"], want)
		}
	}
	a = mustOK(t, "stable quota", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"/cgi-bin/stable_token"}`))
	if rl := a.m["rate_limit"].(map[string]any); rl["call_count"] != json.Number("10000") {
		t.Errorf("stable_token minute limit: %s", a.raw)
	}
	e.s.SetMinuteLimit("", "/cgi-bin/user/info/batchget", 50)
	a = mustOK(t, "batchget quota", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"/cgi-bin/user/info/batchget"}`))
	if rl := a.m["rate_limit"].(map[string]any); rl["call_count"] != json.Number("50") || rl["refresh_second"] != json.Number("60") {
		t.Fatalf("rate_limit: %s", a.raw)
	}
	wantErr(t, "no leading slash", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"cgi-bin/user/get"}`), 76003)
	wantErr(t, "with host", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"https://api.weixin.qq.com/cgi-bin/user/get"}`), 76003)
	wantErr(t, "sns", e.post("/cgi-bin/openapi/quota/get", tok(tk), `{"cgi_path":"/sns/userinfo"}`), 76022)
}

func TestNegativeDailyQuotaLiftsTheLimit(t *testing.T) {
	e := demo(t, 5)
	e.s.SetDailyQuota(e.apps["news"].AppID, "/cgi-bin/user/get", -1) // lifted
	tk := e.token("news")
	for range 600 {
		mustOK(t, "user/get without limit", e.userGet(tk, ""))
	}
}
