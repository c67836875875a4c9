package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStableTokenIsPostedAsJSONWithoutForceRefresh(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL)
	for range 3 {
		if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
			t.Fatal(err)
		}
	}
	bodies := f.bodiesOf(PathStableToken)
	if len(bodies) != 1 || f.count(PathToken) != 0 {
		t.Fatalf("stable_token calls %d, token calls %d; want 1 and 0", len(bodies), f.count(PathToken))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil {
		t.Fatalf("stable_token body is not JSON: %v", err)
	}
	want := map[string]any{"grant_type": "client_credential", "appid": testAppID, "secret": testSecret, "force_refresh": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stable_token body %s = %v, want %v", k, got[k], v)
		}
	}
	if q := f.queriesOf(PathUserInfo)[0]; !strings.Contains(q, "access_token=tok-1-abcdef") {
		t.Errorf("user/info query %q does not carry the fetched token", q)
	}
}

func TestForceRefreshTokenAsksForForceRefresh(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL)
	if err := c.ForceRefreshToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal([]byte(f.bodiesOf(PathStableToken)[0]), &got)
	if got["force_refresh"] != true {
		t.Fatalf("force_refresh = %v, want true", got["force_refresh"])
	}
}

func TestClassicTokenIsAGetWithCredentialsInTheQuery(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenMode = TokenClassic })
	if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	if f.count(PathStableToken) != 0 || f.count(PathToken) != 1 {
		t.Fatalf("stable %d / classic %d calls, want 0 / 1", f.count(PathStableToken), f.count(PathToken))
	}
	q, _ := url.ParseQuery(f.queriesOf(PathToken)[0])
	if q.Get("grant_type") != "client_credential" || q.Get("appid") != testAppID || q.Get("secret") != testSecret {
		t.Fatalf("classic token query = %v", q)
	}
}

func TestTokenIsCachedUntilShortlyBeforeExpiry(t *testing.T) {
	cases := []struct {
		mode      string
		expiresIn int
		reuseFor  time.Duration // reused strictly before this
	}{
		{TokenStable, 7200, 6900 * time.Second},  // expires_in - 300
		{TokenClassic, 7200, 5700 * time.Second}, // expires_in - 1500
		{TokenStable, 400, 200 * time.Second},    // never less than half
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			f := newFakeAPI(t, okUser)
			f.tokenFn = func(w http.ResponseWriter, r *http.Request) {
				write(w, `{"access_token":"tok-abcdef","expires_in":`+strconv.Itoa(tc.expiresIn)+`}`)
			}
			clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
			c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenMode = tc.mode; cfg.Now = clock.Now })
			ctx := context.Background()
			c.UserInfo(ctx, "o1")
			clock.Advance(tc.reuseFor - time.Second)
			c.UserInfo(ctx, "o1")
			if n := f.tokenCount(); n != 1 {
				t.Fatalf("token fetched %d times within its safe lifetime, want 1", n)
			}
			clock.Advance(2 * time.Second)
			c.UserInfo(ctx, "o1")
			if n := f.tokenCount(); n != 2 {
				t.Fatalf("token fetched %d times after its safe lifetime, want 2", n)
			}
		})
	}
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	f := newFakeAPI(t, okUser)
	f.tokenGap = 100 * time.Millisecond
	c, _ := newTestClient(t, f.srv.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.UserInfo(context.Background(), "o1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCount(); n != 1 {
		t.Fatalf("20 concurrent callers fetched the token %d times, want 1", n)
	}
}

func TestCallerGivesUpOnASlowTokenFetchWithoutHurtingOthers(t *testing.T) {
	f := newFakeAPI(t, okUser)
	f.tokenGap = 300 * time.Millisecond
	c, _ := newTestClient(t, f.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.UserInfo(context.Background(), "o2"); done <- err }()
	if _, err := c.UserInfo(ctx, "o1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("impatient caller got %v, want DeadlineExceeded", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("patient caller sharing the fetch got %v", err)
	}
}

func TestTokenErrorsRefetchTheTokenAndRetryOnce(t *testing.T) {
	for _, code := range []string{"40001", "40014", "42001"} {
		t.Run(code, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("access_token") == "tok-1-abcdef" {
					write(w, `{"errcode":`+code+`,"errmsg":"token trouble rid: 1-2-3"}`)
					return
				}
				okUser(w, r)
			})
			c, rec := newTestClient(t, f.srv.URL)
			u, err := c.UserInfo(context.Background(), "o1")
			if err != nil || u.OpenID != "o1" {
				t.Fatalf("UserInfo = %+v, %v; want success after one refetch", u, err)
			}
			if f.tokenCount() != 2 || f.count(PathUserInfo) != 2 {
				t.Fatalf("tokens %d, calls %d; want 2 and 2", f.tokenCount(), f.count(PathUserInfo))
			}
			if len(rec.Sleeps()) != 0 {
				t.Errorf("a token retry waited %v; it should not back off", rec.Sleeps())
			}
		})
	}
}

func TestPersistentTokenErrorIsRetriedOnlyOnce(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":42001,"errmsg":"access_token expired rid: 1-2-3"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	_, err := c.UserInfo(context.Background(), "o1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 42001 || apiErr.Path != PathUserInfo {
		t.Fatalf("err = %v, want *APIError 42001 on %s", err, PathUserInfo)
	}
	if f.count(PathUserInfo) != 2 || f.tokenCount() != 2 {
		t.Fatalf("calls %d, tokens %d; want exactly 2 and 2", f.count(PathUserInfo), f.tokenCount())
	}
}

func TestTokenEndpointErrorIsAnAPIErrorWithoutTheSecret(t *testing.T) {
	f := newFakeAPI(t, okUser)
	f.tokenFn = func(w http.ResponseWriter, r *http.Request) {
		// A hostile or buggy gateway echoing the secret back.
		write(w, `{"errcode":40125,"errmsg":"invalid appsecret `+testSecret+`, rid: 66b5fb8f-1-2"}`)
	}
	c, _ := newTestClient(t, f.srv.URL)
	_, err := c.UserInfo(context.Background(), "o1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 40125 || apiErr.Path != PathStableToken {
		t.Fatalf("err = %v, want *APIError 40125 from stable_token", err)
	}
	if strings.Contains(err.Error(), testSecret) || strings.Contains(apiErr.Msg, testSecret) {
		t.Fatalf("error shows the AppSecret: %v", err)
	}
	if !strings.Contains(err.Error(), "AppSecret") {
		t.Errorf("error %q does not say what to check", err)
	}
	if f.count(PathUserInfo) != 0 || f.tokenCount() != 1 {
		t.Errorf("a wrong secret was retried: %d token calls", f.tokenCount())
	}
}

// tokenScript writes a shell script for TokenCommand and returns its path.
func tokenScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenCommandTrimmedStdoutIsTheToken(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) {
		cfg.Secret = ""
		cfg.TokenCommand = `printf '  cmdtok-%s\n\n' "$WXSCOPE_APPID"; echo "log line" >&2`
	})
	if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(f.queriesOf(PathUserInfo)[0])
	if got := q.Get("access_token"); got != "cmdtok-"+testAppID {
		t.Fatalf("access_token = %q, want the command's trimmed stdout", got)
	}
	if f.tokenCount() != 0 {
		t.Errorf("command mode called a token endpoint")
	}
}

func TestTokenCommandIsReusedThenRerunAfterATokenError(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "runs")
	script := tokenScript(t, `echo run >> "`+counter+`"; echo "cmdtok-$(wc -l < "`+counter+`" | tr -d ' ')"`)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == "cmdtok-2" {
			write(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		okUser(w, r)
	})
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenMode = TokenCommand; cfg.TokenCommand = script })
	ctx := context.Background()
	c.UserInfo(ctx, "o1")
	c.UserInfo(ctx, "o1")
	runs := func() int { b, _ := os.ReadFile(counter); return strings.Count(string(b), "run") }
	if runs() != 1 {
		t.Fatalf("command ran %d times for two calls, want 1 (cached)", runs())
	}
	c.ForceRefreshToken(ctx) // run 2 gives a token the API rejects
	if _, err := c.UserInfo(ctx, "o1"); err != nil {
		t.Fatalf("after a rejected command token: %v", err)
	}
	if runs() != 3 {
		t.Fatalf("command ran %d times, want 3 (rerun once after 40001)", runs())
	}
}

func TestTokenCommandFailureShowsStderrButNeverTheToken(t *testing.T) {
	script := tokenScript(t, `echo "cmdtok-leaky-9876"; echo "vault: permission denied for cmdtok-leaky-9876 and `+testSecret+`" >&2; exit 3`)
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenCommand = script })
	_, err := c.UserInfo(context.Background(), "o1")
	if err == nil {
		t.Fatal("a failing token command gave no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "vault: permission denied") || !strings.Contains(msg, "exit status 3") {
		t.Errorf("error %q lacks the command's stderr or exit status", msg)
	}
	if strings.Contains(msg, "cmdtok-leaky-9876") || strings.Contains(msg, testSecret) {
		t.Fatalf("error shows a secret: %q", msg)
	}
	if f.count(PathUserInfo) != 0 {
		t.Errorf("API called without a token")
	}
}

func TestTokenCommandTimesOut(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) {
		cfg.TokenCommand = "sleep 20; echo late"
		cfg.TokenCommandTimeout = 200 * time.Millisecond
	})
	start := time.Now()
	_, err := c.UserInfo(context.Background(), "o1")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %v", d)
	}
}

func TestTokenCommandMustPrintAToken(t *testing.T) {
	for name, cmd := range map[string]string{
		"empty":      "true",
		"two words":  "echo two words",
		"whitespace": "printf '  \\n'",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, okUser)
			c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenCommand = cmd })
			if _, err := c.UserInfo(context.Background(), "o1"); err == nil {
				t.Fatal("no error for a command that printed no usable token")
			} else if strings.Contains(err.Error(), "two words") {
				t.Fatalf("error echoes stdout: %v", err)
			}
			if f.count(PathUserInfo) != 0 {
				t.Fatal("API called with a bad token")
			}
		})
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no appid":          {Secret: "s3cretvalue"},
		"no secret":         {AppID: "wx1"},
		"unknown mode":      {AppID: "wx1", Secret: "s3cretvalue", TokenMode: "magic"},
		"command w/o cmd":   {AppID: "wx1", TokenMode: TokenCommand},
		"api_base not http": {AppID: "wx1", Secret: "s3cretvalue", APIBase: "ftp://example.com"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %v", name, cfg)
		} else if strings.Contains(err.Error(), cfg.Secret) && cfg.Secret != "" {
			t.Errorf("%s: error shows the secret", name)
		}
	}
}
