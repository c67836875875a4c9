package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// flaky answers with fail for the first n calls, then with okUser.
func flaky(n int, fail func(w http.ResponseWriter)) http.HandlerFunc {
	var calls atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if int(calls.Add(1)) <= n {
			fail(w)
			return
		}
		okUser(w, r)
	}
}

func TestTransientFailuresBackOffAndRetry(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter){
		"system error -1": func(w http.ResponseWriter) { write(w, `{"errcode":-1,"errmsg":"system error"}`) },
		"HTTP 500":        func(w http.ResponseWriter) { w.WriteHeader(500) },
		"HTTP 502":        func(w http.ResponseWriter) { w.WriteHeader(502) },
		"connection drop": hangUp,
		"HTML from proxy": func(w http.ResponseWriter) { write(w, "<html>busy</html>") },
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, flaky(3, fail))
			c, rec := newTestClient(t, f.srv.URL, func(cfg *Config) {
				cfg.BackoffBase = 100 * time.Millisecond
				cfg.BackoffMax = 300 * time.Millisecond
				// net/http silently retries a GET on a reused connection
				// that drops; fresh connections make every drop visible.
				cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			})
			u, err := c.UserInfo(context.Background(), "o1")
			if err != nil || u.OpenID != "o1" {
				t.Fatalf("UserInfo = %+v, %v; want success on the 4th try", u, err)
			}
			if n := f.count(PathUserInfo); n != 4 {
				t.Fatalf("%d calls, want 4", n)
			}
			sleeps := rec.Sleeps()
			// Steps 100, 200, 300 (capped) ms, each jittered into [step/2, step].
			steps := []time.Duration{100, 200, 300}
			if len(sleeps) != 3 {
				t.Fatalf("waits %v, want 3", sleeps)
			}
			for i, d := range sleeps {
				step := steps[i] * time.Millisecond
				if d < step/2 || d > step {
					t.Errorf("wait %d = %v, want within [%v, %v]", i+1, d, step/2, step)
				}
			}
			if got := strings.Join(rec.Retries(), ","); got != "cgi-bin/user/info#1,cgi-bin/user/info#2,cgi-bin/user/info#3" {
				t.Errorf("OnRetry saw %s", got)
			}
		})
	}
}

func TestTransientRetriesAreBounded(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":-1,"errmsg":"system error rid: 1-2-3"}`)
	})
	c, rec := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxRetries = 3 })
	_, err := c.UserInfo(context.Background(), "o1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != -1 {
		t.Fatalf("err = %v, want *APIError -1", err)
	}
	if n := f.count(PathUserInfo); n != 4 {
		t.Fatalf("%d calls, want 1 + 3 retries", n)
	}
	if len(rec.Sleeps()) != 3 {
		t.Fatalf("%d waits, want 3", len(rec.Sleeps()))
	}
}

func TestBackoffHasJitterAndACap(t *testing.T) {
	c, _ := newTestClient(t, "http://127.0.0.1:1", func(cfg *Config) {
		cfg.BackoffBase = time.Second
		cfg.BackoffMax = 10 * time.Second
	})
	seen := map[time.Duration]bool{}
	for range 200 {
		d := c.backoff(30) // far past the cap; must not overflow
		if d < 5*time.Second || d > 10*time.Second {
			t.Fatalf("backoff(30) = %v, want within [5s, 10s]", d)
		}
		seen[c.backoff(2)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("backoff(2) took %d distinct values in 200 draws; want jitter", len(seen))
	}
}

func TestNonTransientHTTPStatusIsNotRetried(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) })
	c, _ := newTestClient(t, f.srv.URL)
	_, err := c.UserInfo(context.Background(), "o1")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 403 {
		t.Fatalf("err = %v, want *StatusError 403", err)
	}
	if f.count(PathUserInfo) != 1 {
		t.Fatalf("a 403 was retried")
	}
}

func TestMinuteLimitWaitsForTheNextMinute(t *testing.T) {
	f := newFakeAPI(t, flaky(1, func(w http.ResponseWriter) {
		write(w, `{"errcode":45011,"errmsg":"api minute-quota reach limit  mustslower  retry next minute"}`)
	}))
	clock := &fakeClock{t: time.Date(2025, 5, 6, 12, 0, 42, 0, time.UTC)}
	c, rec := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Now = clock.Now })
	if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	if s := rec.Sleeps(); len(s) != 1 || s[0] != 18*time.Second {
		t.Fatalf("waits %v, want exactly [18s] (to 12:01:00)", s)
	}
	if f.count(PathUserInfo) != 2 {
		t.Fatalf("%d calls, want 2", f.count(PathUserInfo))
	}
}

func TestMinuteLimitWaitIsCancellable(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)
	})
	clock := &fakeClock{t: time.Date(2025, 5, 6, 12, 0, 0, 0, time.UTC)} // a full minute to wait
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Now = clock.Now; cfg.Sleep = nil })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.UserInfo(ctx, "o1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v to stop the wait", d)
	}
}

func TestMinuteLimitWaitsAreBounded(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)
	})
	c, rec := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxMinuteWaits = 2 })
	_, err := c.UserInfo(context.Background(), "o1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 45011 {
		t.Fatalf("err = %v, want *APIError 45011", err)
	}
	if len(rec.Sleeps()) != 2 || f.count(PathUserInfo) != 3 {
		t.Fatalf("waits %d, calls %d; want 2 and 3", len(rec.Sleeps()), f.count(PathUserInfo))
	}
}

func TestDailyQuotaIsAQuotaErrorWithTheNextChinaMidnight(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":45009,"errmsg":"reach max api daily quota limit rid: 6-7-8"}`)
	})
	// 15:30 UTC is 23:30 in China: the quota resets in half an hour.
	clock := &fakeClock{t: time.Date(2025, 3, 10, 15, 30, 0, 0, time.UTC)}
	c, rec := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Now = clock.Now })
	_, err := c.FollowerPage(context.Background(), "")
	if !errors.Is(err, ErrDailyQuota) {
		t.Fatalf("err = %v, want ErrDailyQuota", err)
	}
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Path != PathUserGet {
		t.Fatalf("err = %v, want *QuotaError for %s", err, PathUserGet)
	}
	if want := time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC); !qe.ResetAt.Equal(want) {
		t.Errorf("ResetAt = %v, want %v", qe.ResetAt, want)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 45009 {
		t.Errorf("QuotaError does not carry the *APIError 45009")
	}
	if f.count(PathUserGet) != 1 || len(rec.Sleeps()) != 0 {
		t.Errorf("a spent daily quota was retried")
	}
}

func TestNextQuotaResetIsChinaMidnight(t *testing.T) {
	cases := []struct{ now, want time.Time }{
		{time.Date(2025, 3, 10, 15, 59, 59, 0, time.UTC), time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC)},
		{time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC), time.Date(2025, 3, 11, 16, 0, 0, 0, time.UTC)},
		{time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 16, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		if got := nextQuotaReset(tc.now); !got.Equal(tc.want) {
			t.Errorf("nextQuotaReset(%v) = %v, want %v", tc.now, got.UTC(), tc.want)
		}
	}
}

func TestAPIErrorShowsErrmsgVerbatimAndIsInspectable(t *testing.T) {
	const msg = "api unauthorized hint: [aBc-12] rid: 6612-0a0b-1c2d"
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, `{"errcode":48001,"errmsg":"`+msg+`"}`)
	})
	c, _ := newTestClient(t, f.srv.URL)
	_, err := c.UserInfo(context.Background(), "o1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if apiErr.Code != 48001 || apiErr.Msg != msg || apiErr.Path != PathUserInfo || apiErr.AppID != testAppID {
		t.Fatalf("APIError = %+v", apiErr)
	}
	for _, want := range []string{msg, "48001", testAppID, PathUserInfo} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if f.count(PathUserInfo) != 1 {
		t.Errorf("48001 was retried")
	}
}

func TestRateLimitSpacesCalls(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.RatePerSecond = 20; cfg.Burst = 1 })
	c.UserInfo(context.Background(), "o1") // fetch the token outside the timing
	start := time.Now()
	for range 6 {
		if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
			t.Fatal(err)
		}
	}
	// 6 calls at 20/s with burst 1 need at least 5 intervals of 50 ms after
	// the first, minus slack for the bucket the token fetch refilled.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("6 calls at 20/s took %v, want >= 200ms", d)
	}
}

func TestMaxInFlightCapsConcurrentCalls(t *testing.T) {
	var cur, peak atomic.Int32
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		cur.Add(-1)
		okUser(w, r)
	})
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxInFlight = 3 })
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() { c.UserInfo(context.Background(), "o1") })
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrent calls = %d, want 3", p)
	}
}

func TestResponseBodyIsCapped(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"subscribe":1,"openid":"o1","remark":%q}`, strings.Repeat("x", 4000))
	})
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxBodyBytes = 1024 })
	_, err := c.UserInfo(context.Background(), "o1")
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
	if f.count(PathUserInfo) != 1 {
		t.Errorf("an oversized body was retried")
	}
}

func TestDefaultBodyCapFitsAFullPage(t *testing.T) {
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprintf("oABCDEFGHIJKLMNOPQRS%08d", i)) // 28 chars, like real openids
	}
	body := `{"total":20000,"count":10000,"data":{"openid":[` + strings.Join(ids, ",") + `]},"next_openid":"oABCDEFGHIJKLMNOPQRS00009999"}`
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { write(w, body) })
	c, _ := newTestClient(t, f.srv.URL)
	p, err := c.FollowerPage(context.Background(), "")
	if err != nil || len(p.OpenIDs) != 10000 || p.Last {
		t.Fatalf("page of 10000 (%d bytes): %d ids, last %v, err %v", len(body), len(p.OpenIDs), p.Last, err)
	}
}

func TestCancelledContextMakesNoCall(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.UserInfo(ctx, "o1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if f.count(PathUserInfo)+f.tokenCount() != 0 {
		t.Fatal("a cancelled context still called the API")
	}
}

func TestContextDeadlineStopsASlowCall(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c, _ := newTestClient(t, f.srv.URL)
	c.accessToken(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.UserInfo(ctx, "o1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("deadline took %v", d)
	}
	if f.count(PathUserInfo) != 1 {
		t.Errorf("a call cut by its deadline was retried")
	}
}

func TestAPIBaseWithAPathPrefixIsUsed(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "stable_token") {
			write(w, `{"access_token":"tok-gw-abcdef","expires_in":7200}`)
			return
		}
		okUser(w, r)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL+"/gw/")
	if _, err := c.UserInfo(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths, " "); got != "/gw/cgi-bin/stable_token /gw/cgi-bin/user/info" {
		t.Fatalf("request paths %q, want both under /gw/", got)
	}
}

func TestDefaultHTTPClientHasTimeouts(t *testing.T) {
	c, err := New(Config{AppID: "wx1", Secret: "s3cretvalue"})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.http.Transport.(*http.Transport)
	if c.http.Timeout <= 0 || !ok || tr.ResponseHeaderTimeout <= 0 || tr.TLSHandshakeTimeout <= 0 {
		t.Fatalf("default client lacks timeouts: %+v", c.http)
	}
	if c.base.String() != DefaultAPIBase {
		t.Errorf("default api_base = %s", c.base)
	}
}

func TestDefaultRateLimitNeverBindsASync(t *testing.T) {
	c, err := New(Config{AppID: "wx1", Secret: "s3cretvalue", MaxInFlight: 12})
	if err != nil {
		t.Fatal(err)
	}
	// Only the in-flight cap paces calls: any fixed rate would bind some
	// cap on a fast enough route (32 slots at 20 ms is 1600 calls/s).
	if got := c.limiter.Limit(); got != rate.Inf {
		t.Errorf("default rate %v/s, want no limit", got)
	}
	if got := c.limiter.Burst(); got != 12 {
		t.Errorf("default burst %d, want the in-flight cap 12", got)
	}
	for i := range 10_000 {
		if !c.limiter.Allow() {
			t.Fatalf("the default limiter refused call %d", i+1)
		}
	}
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	t.Run("transport error quoting the API URL", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { hangUp(w) })
		c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxRetries = 1 })
		_, err := c.UserInfo(context.Background(), "o1")
		assertNoSecret(t, err, "tok-1-abcdef", testSecret)
		var ue *url.Error
		if !errors.As(err, &ue) || !strings.Contains(ue.URL, "access_token=REDACTED") {
			t.Errorf("the *url.Error in the chain is not redacted: %v", ue)
		}
	})
	t.Run("transport error quoting the classic token URL", func(t *testing.T) {
		f := newFakeAPI(t, okUser)
		f.tokenFn = func(w http.ResponseWriter, r *http.Request) { hangUp(w) }
		c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.TokenMode = TokenClassic; cfg.MaxRetries = 1 })
		_, err := c.UserInfo(context.Background(), "o1")
		assertNoSecret(t, err, testSecret)
	})
	t.Run("errmsg echoing the token", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			write(w, `{"errcode":40014,"errmsg":"invalid access_token `+r.URL.Query().Get("access_token")+`"}`)
		})
		c, _ := newTestClient(t, f.srv.URL)
		_, err := c.UserInfo(context.Background(), "o1")
		assertNoSecret(t, err, "tok-1-abcdef", "tok-2-abcdef")
	})
	t.Run("printing the config or the client", func(t *testing.T) {
		f := newFakeAPI(t, okUser)
		c, _ := newTestClient(t, f.srv.URL)
		c.UserInfo(context.Background(), "o1")
		cfg := Config{AppID: testAppID, Secret: testSecret}
		for _, s := range []string{
			fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
			fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
			fmt.Sprintf("%+v", struct{ C Config }{cfg}),
		} {
			assertNoSecret(t, errors.New(s), "tok-1-abcdef", testSecret)
		}
	})
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			if strings.Contains(e.Error(), s) {
				t.Fatalf("error in chain shows a secret %q: %v", s, e)
			}
		}
	}
}

func TestRateLimitWaitPastTheDeadlineIsDeadlineExceeded(t *testing.T) {
	f := newFakeAPI(t, okUser)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.RatePerSecond = 0.5; cfg.Burst = 1 })
	c.UserInfo(context.Background(), "o1") // spends the burst
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.UserInfo(ctx, "o1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if n := f.count(PathUserInfo); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestReadBodyReadsWhatReadAllWould(t *testing.T) {
	for _, tc := range []struct {
		body        string
		size, limit int64
		want        string
		err         bool
	}{
		{"hello", 5, 100, "hello", false},
		{"hello", -1, 100, "hello", false},
		{"", 0, 100, "", false},
		{"hel", 5, 100, "", true},                     // cut short of its declared length
		{"hello world", 5, 100, "hello world", false}, // more than declared: read as ReadAll would
		{"hello world", -1, 5, "hello ", false},       // the limit and one byte, to tell it was passed
		{"hello world", 11, 5, "hello ", false},
	} {
		got, err := readBody(strings.NewReader(tc.body), tc.size, tc.limit)
		if (err != nil) != tc.err || (!tc.err && string(got) != tc.want) {
			t.Errorf("readBody(%q, %d, %d) = %q, %v", tc.body, tc.size, tc.limit, got, err)
		}
	}
}
