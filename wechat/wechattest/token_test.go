package wechattest_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"wxscope/wechat/wechattest"
)

func TestTokenRejectsBadCredentials(t *testing.T) {
	e := demo(t, 5)
	news := e.apps["news"]
	for _, c := range []struct {
		name                 string
		grant, appid, secret string
		code                 int
	}{
		{"bad grant_type", "authorization_code", news.AppID, news.Secret, 40002},
		{"unknown appid", "client_credential", "wx0000000000000000", news.Secret, 40013},
		{"wrong secret", "client_credential", news.AppID, e.apps["shop"].Secret, 40125},
		{"no appid", "client_credential", "", news.Secret, 41002},
	} {
		a := e.get("/cgi-bin/token", url.Values{"grant_type": {c.grant}, "appid": {c.appid}, "secret": {c.secret}})
		wantErr(t, c.name, a, c.code)
	}
}

func TestTokenSuccessIsTokenAndExpiresIn7200(t *testing.T) {
	e := demo(t, 5)
	a := mustOK(t, "token", e.fetchToken("news"))
	if len(a.m) != 2 || a.int("expires_in") != 7200 || len(a.str("access_token")) < 100 {
		t.Fatalf("token body: %s", a.raw)
	}
}

func TestRefetchKeepsPreviousTokenValidFor300SecondsThen40001(t *testing.T) {
	e := demo(t, 5)
	old := e.token("news")
	e.clock.Advance(time.Minute)
	fresh := e.token("news")
	if fresh == old {
		t.Fatal("a second /token call must mint a new token")
	}
	e.clock.Advance(299 * time.Second)
	mustOK(t, "old token 299 s after refetch", e.userGet(old, ""))
	e.clock.Advance(time.Second)
	wantErr(t, "old token 300 s after refetch", e.userGet(old, ""), 40001)
	mustOK(t, "new token", e.userGet(fresh, ""))
}

func TestTokenOlderThanExpiresInIs42001(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	e.clock.Advance(7199 * time.Second)
	mustOK(t, "token at 7199 s", e.userGet(tk, ""))
	e.clock.Advance(time.Second)
	wantErr(t, "token at 7200 s", e.userGet(tk, ""), 42001)
}

func TestGarbageTokenIs40014(t *testing.T) {
	e := demo(t, 5)
	e.token("news")
	wantErr(t, "garbage", e.userGet("93_definitely-not-a-token", ""), 40014)
}

func TestTokenOfOneAppNeverServesAnother(t *testing.T) {
	e := demo(t, 5)
	tk := e.token("news")
	shopFollower := e.w.Followers(e.apps["shop"].AppID)[0]
	wantErr(t, "shop openid with news token", e.get("/cgi-bin/user/info", tok(tk, "openid", shopFollower)), 40003)
}

func TestTokenDailyQuotaIs2000Then45009(t *testing.T) {
	if testing.Short() {
		t.Skip("2000 HTTP calls")
	}
	e := demo(t, 5)
	for i := range 2000 {
		mustOK(t, "token call "+strconv.Itoa(i+1), e.fetchToken("news"))
	}
	wantErr(t, "token call 2001", e.fetchToken("news"), 45009)
	mustOK(t, "another app's quota is its own", e.fetchToken("shop"))
}

func TestTokenEndpointsHonourIPWhitelist(t *testing.T) {
	e := demo(t, 5)
	e.s.SetIPWhitelist(e.apps["news"].AppID, "10.1.2.3")
	a := e.fetchToken("news")
	wantErr(t, "not whitelisted", a, 40164)
	if want := "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: "; a.str("errmsg")[:len(want)] != want {
		t.Errorf("errmsg %q", a.str("errmsg"))
	}
	wantErr(t, "stable not whitelisted", e.stable("news", false), 40164)
	e.s.SetIPWhitelist(e.apps["news"].AppID, "127.0.0.1")
	mustOK(t, "whitelisted", e.fetchToken("news"))
}

func TestStableTokenIsTheSameWhileValid(t *testing.T) {
	e := demo(t, 5)
	first := mustOK(t, "stable", e.stable("news", false))
	if first.int("expires_in") != 7200 {
		t.Fatalf("fresh stable token: %s", first.raw)
	}
	e.clock.Advance(1000 * time.Second)
	again := mustOK(t, "stable again", e.stable("news", false))
	if again.str("access_token") != first.str("access_token") {
		t.Fatal("stable_token minted a new token while the old one had 6200 s left")
	}
	if again.int("expires_in") != 6200 {
		t.Fatalf("expires_in %d, want the remaining 6200", again.int("expires_in"))
	}
}

func TestStableTokenRotatesInItsLast300Seconds(t *testing.T) {
	e := demo(t, 5)
	old := mustOK(t, "stable", e.stable("news", false)).str("access_token")
	e.clock.Advance(6900 * time.Second) // exactly 300 s left: still the same
	if got := mustOK(t, "stable", e.stable("news", false)); got.str("access_token") != old || got.int("expires_in") != 300 {
		t.Fatalf("at 300 s left: %s", got.raw)
	}
	e.clock.Advance(time.Second)
	got := mustOK(t, "stable", e.stable("news", false))
	if got.str("access_token") == old || got.int("expires_in") != 7200 {
		t.Fatalf("at 299 s left the token must rotate: %s", got.raw)
	}
	mustOK(t, "the old stable token still works until it expires", e.userGet(old, ""))
}

func TestStableExpiresInIsNeverBelow300(t *testing.T) {
	e := demo(t, 5)
	for i := range 200 {
		a := mustOK(t, "stable", e.stable("news", false))
		if a.int("expires_in") < 300 {
			t.Fatalf("call %d: expires_in %d", i, a.int("expires_in"))
		}
		e.clock.Advance(time.Duration(37+i*13%211) * time.Second)
	}
}

func TestStableForceRefreshIsLimitedToTwentyADayThirtySecondsApart(t *testing.T) {
	e := demo(t, 5)
	cur := mustOK(t, "stable", e.stable("news", false)).str("access_token")
	e.clock.Advance(30 * time.Second)
	forced := mustOK(t, "force", e.stable("news", true)).str("access_token")
	if forced == cur {
		t.Fatal("force_refresh returned the old token")
	}
	wantErr(t, "token replaced by force_refresh", e.userGet(cur, ""), 40001)

	e.clock.Advance(29 * time.Second)
	if again := mustOK(t, "force too soon", e.stable("news", true)).str("access_token"); again != forced {
		t.Fatal("force_refresh within 30 s must return the current token unchanged")
	}
	cur = forced
	for i := 2; i <= 20; i++ {
		e.clock.Advance(30 * time.Second)
		next := mustOK(t, "force", e.stable("news", true)).str("access_token")
		if next == cur {
			t.Fatalf("force %d did not refresh", i)
		}
		cur = next
	}
	e.clock.Advance(time.Minute)
	if got := mustOK(t, "force 21", e.stable("news", true)).str("access_token"); got != cur {
		t.Fatal("the 21st force_refresh of the day must not refresh")
	}
	e.clock.Set(start.Add(24 * time.Hour))
	if got := mustOK(t, "force next day", e.stable("news", true)).str("access_token"); got == cur {
		t.Fatal("force_refresh must work again the next day")
	}
	// That call found the token expired and minted anyway; the next force
	// shows the day's count was reset.
	cur = mustOK(t, "stable next day", e.stable("news", false)).str("access_token")
	e.clock.Advance(30 * time.Second)
	if got := mustOK(t, "second force next day", e.stable("news", true)).str("access_token"); got == cur {
		t.Fatal("the force_refresh count must reset the next day")
	}
}

func TestStableAndClassicTokensAreIsolated(t *testing.T) {
	e := demo(t, 5)
	stable := mustOK(t, "stable", e.stable("news", false)).str("access_token")
	classic := e.token("news")
	e.token("news") // supersedes classic, must not touch stable
	e.clock.Advance(301 * time.Second)
	mustOK(t, "stable token after /token refetches", e.userGet(stable, ""))
	wantErr(t, "superseded classic token", e.userGet(classic, ""), 40001)

	classic = e.token("news")
	e.clock.Advance(30 * time.Second)
	if mustOK(t, "force", e.stable("news", true)).str("access_token") == stable {
		t.Fatal("force did not refresh")
	}
	mustOK(t, "classic token after a stable force_refresh", e.userGet(classic, ""))
	if got := mustOK(t, "stable", e.stable("news", false)).str("access_token"); got == classic {
		t.Fatal("stable_token handed out a /token token")
	}
}

func TestStableTokenNeedsPOST(t *testing.T) {
	e := demo(t, 5)
	news := e.apps["news"]
	wantErr(t, "GET stable_token", e.get("/cgi-bin/stable_token", url.Values{"grant_type": {"client_credential"}, "appid": {news.AppID}, "secret": {news.Secret}}), 43002)
}

func TestStableTokenChecksCredentialsLikeToken(t *testing.T) {
	e := demo(t, 5)
	news := e.apps["news"]
	wantErr(t, "bad secret", e.post("/cgi-bin/stable_token", nil, `{"grant_type":"client_credential","appid":"`+news.AppID+`","secret":"nope"}`), 40125)
	wantErr(t, "bad appid", e.post("/cgi-bin/stable_token", nil, `{"grant_type":"client_credential","appid":"wx1","secret":"nope"}`), 40013)
	wantErr(t, "bad grant", e.post("/cgi-bin/stable_token", nil, `{"grant_type":"x","appid":"`+news.AppID+`","secret":"`+news.Secret+`"}`), 40002)
}

func TestExpireTokensMakesEveryTokenOfTheApp42001(t *testing.T) {
	e := demo(t, 5)
	classic := e.token("news")
	stable := mustOK(t, "stable", e.stable("news", false)).str("access_token")
	shop := e.token("shop")
	e.s.ExpireTokens(e.apps["news"].AppID)
	wantErr(t, "classic", e.userGet(classic, ""), 42001)
	wantErr(t, "stable", e.userGet(stable, ""), 42001)
	mustOK(t, "other app", e.userGet(shop, ""))
	fresh := mustOK(t, "stable after expiry", e.stable("news", false)).str("access_token")
	mustOK(t, "fresh stable token", e.userGet(fresh, ""))
}

func TestStableForceGraceIsConfigurable(t *testing.T) {
	e := demo(t, 5, wechattest.WithStableForceGrace(time.Minute))
	old := mustOK(t, "stable", e.stable("news", false)).str("access_token")
	mustOK(t, "force", e.stable("news", true))
	e.clock.Advance(59 * time.Second)
	mustOK(t, "replaced token within the grace", e.userGet(old, ""))
	e.clock.Advance(time.Second)
	wantErr(t, "replaced token after the grace", e.userGet(old, ""), 40001)
}
