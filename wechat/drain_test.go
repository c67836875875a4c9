package wechat_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// simClient starts a simulator on w and a client for app 0 of w whose clock
// is the simulator's manual clock: the client's waits advance it instead of
// sleeping, so 45011 and token lifetimes play out instantly.
func simClient(t *testing.T, w *wechattest.World, opts []wechattest.Option, cfgs ...func(*wechat.Config)) (*wechat.Client, *wechattest.Server, *retryLog) {
	t.Helper()
	clock := wechattest.NewClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	srv := wechattest.NewServer(w, append([]wechattest.Option{wechattest.WithClock(clock)}, opts...)...)
	t.Cleanup(srv.Close)
	app := w.Apps()[0]
	log := &retryLog{}
	cfg := wechat.Config{
		AppID:         app.AppID,
		Secret:        app.Secret,
		APIBase:       srv.URL,
		RatePerSecond: 1e6,
		Burst:         1000,
		BackoffBase:   time.Millisecond,
		BackoffMax:    10 * time.Millisecond,
		Now:           clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			clock.Advance(d)
			return ctx.Err()
		},
		OnRetry: log.add,
	}
	for _, f := range cfgs {
		f(&cfg)
	}
	c, err := wechat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, log
}

type retryLog struct {
	mu    sync.Mutex
	count map[string]int
}

func (l *retryLog) add(path string, attempt int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count = map[string]int{}
	}
	l.count[path]++
}

func (l *retryLog) of(path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[path]
}

func TestDrainWithFaultsGetsEveryFollowerOnce(t *testing.T) {
	const followers = 25000
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 7, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: followers, Unfollowed: 1200},
	}})
	c, srv, retries := simClient(t, w, []wechattest.Option{wechattest.WithPageSize(3000)})
	appid := w.Apps()[0].AppID

	srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/get", Errcode: -1, After: 2, Times: 2})
	srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/get", HTTPStatus: 500, After: 4, Times: 1})
	srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/info/batchget", Errcode: -1, After: 20, Times: 3})
	srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/info/batchget", HTTPStatus: 502, After: 90, Times: 2})
	srv.Inject(wechattest.Fault{Path: "/cgi-bin/user/info/batchget", Errcode: 45011, After: 150, Times: 1})

	ctx := context.Background()
	seen := map[string]int{}
	profiles := map[string]wechat.User{}
	var mu sync.Mutex
	pages := 0
	for p, err := range c.Followers(ctx, "") {
		if err != nil {
			t.Fatalf("listing stopped after %d pages: %v", pages, err)
		}
		pages++
		if pages == 5 {
			srv.ExpireTokens(appid) // every token now answers 42001
		}
		for _, id := range p.OpenIDs {
			seen[id]++
		}
		// Hydrate the page as the sync does: batches of 100, 4 in flight.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for batch := range slices.Chunk(p.OpenIDs, wechat.MaxBatch) {
			g.Go(func() error {
				got, err := c.BatchGet(gctx, batch)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for id, u := range got {
					if _, dup := profiles[id]; dup {
						t.Errorf("profile of %s fetched twice", id)
					}
					profiles[id] = u
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("hydrating page %d: %v", pages, err)
		}
	}

	want := w.Followers(appid)
	if len(seen) != followers || len(want) != followers {
		t.Fatalf("listed %d distinct followers, world has %d, want %d", len(seen), len(want), followers)
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("follower %s listed %d times", id, seen[id])
		}
	}
	if len(profiles) != followers {
		t.Fatalf("hydrated %d profiles, want %d", len(profiles), followers)
	}
	for _, id := range want {
		u := profiles[id]
		truth, ok := w.User(appid, id)
		if !ok || u.OpenID != id || u.Subscribe != 1 || u.UnionID == "" || u.UnionID != truth.UnionID ||
			u.Remark != truth.Remark || u.SubscribeTime != truth.SubscribeTime || u.SubscribeScene != truth.SubscribeScene ||
			!slices.Equal(u.TagIDList, truth.TagIDList) {
			t.Fatalf("profile of %s = %+v, simulator says %+v", id, u, truth)
		}
	}
	// 9 pages of 3000 (the last partial) and the empty answer that ends the
	// list, plus the 3 faulted calls and one retry after the token expiry.
	if pages != 10 {
		t.Errorf("%d pages, want 10", pages)
	}
	if got := retries.of(wechat.PathUserGet); got < 3 {
		t.Errorf("OnRetry saw %d user/get retries, want >= 3", got)
	}
	if got := retries.of(wechat.PathBatchGet); got < 6 {
		t.Errorf("OnRetry saw %d batchget retries, want >= 6", got)
	}
	// One fetch at the start and one after the expiry, however many calls
	// in flight met 42001 together.
	if n := srv.Calls("/cgi-bin/stable_token"); n != 2 {
		t.Errorf("%d stable_token calls, want 2", n)
	}
	if calls := srv.Calls("/cgi-bin/user/info/batchget"); calls < 250 || calls > 270 {
		t.Errorf("%d batchget calls for 250 batches", calls)
	}
}

func TestDailyQuotaOnTheSimulatorStopsWithTheCursorToResumeFrom(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{{Name: "a", Followers: 500}}})
	c, srv, _ := simClient(t, w, []wechattest.Option{wechattest.WithPageSize(100)})
	appid := w.Apps()[0].AppID
	srv.SetDailyQuota(appid, "/cgi-bin/user/get", 2)

	var cursor string
	var got []string
	var err error
	for p, e := range c.Followers(context.Background(), "") {
		if e != nil {
			err = e
			break
		}
		got = append(got, p.OpenIDs...)
		cursor = p.NextOpenID
	}
	var qe *wechat.QuotaError
	if !errors.Is(err, wechat.ErrDailyQuota) || !errors.As(err, &qe) || qe.Path != wechat.PathUserGet {
		t.Fatalf("err = %v, want a *QuotaError for user/get", err)
	}
	if len(got) != 200 || qe.ResetAt.IsZero() {
		t.Fatalf("listed %d before the quota, reset %v", len(got), qe.ResetAt)
	}
	// The next day (past the reset) the listing resumes from the cursor.
	srv.Clock().Set(qe.ResetAt.Add(time.Minute))
	for p, e := range c.Followers(context.Background(), cursor) {
		if e != nil && !errors.Is(e, wechat.ErrDailyQuota) {
			t.Fatal(e)
		}
		got = append(got, p.OpenIDs...)
	}
	if want := w.Followers(appid)[:400]; !slices.Equal(got, want) {
		t.Fatalf("after resuming: %d ids, want the first 400 in order", len(got))
	}
}

func TestBatchWithAForeignOpenIDOnTheSimulatorIsErrInvalidOpenID(t *testing.T) {
	w := wechattest.DemoWorld(11, 300)
	c, srv, _ := simClient(t, w, nil)
	apps := w.Apps()
	own := w.Followers(apps[0].AppID)[:5]
	foreign := w.Followers(apps[1].AppID)[0]
	_, err := c.BatchGet(context.Background(), append(slices.Clone(own), foreign))
	if !errors.Is(err, wechat.ErrInvalidOpenID) {
		t.Fatalf("err = %v, want ErrInvalidOpenID", err)
	}
	got, err := c.BatchGet(context.Background(), own)
	if err != nil || len(got) != 5 {
		t.Fatalf("the batch without the foreign id: %d profiles, %v", len(got), err)
	}
	former := w.FormerFollowers(apps[0].AppID)[0]
	u, err := c.UserInfo(context.Background(), former)
	if err != nil || u.Subscribe != 0 || u.UnionID != "" {
		t.Fatalf("former follower: %+v, %v; want subscribe 0 without unionid", u, err)
	}
	if srv.Calls("/cgi-bin/stable_token") != 1 || srv.Calls("/cgi-bin/token") != 0 {
		t.Errorf("token calls: stable %d, classic %d; want 1 and 0", srv.Calls("/cgi-bin/stable_token"), srv.Calls("/cgi-bin/token"))
	}
}

func TestMinuteLimitOnTheSimulatorIsWaitedOut(t *testing.T) {
	w := wechattest.NewWorld(wechattest.WorldSpec{Seed: 5, Apps: []wechattest.AppSpec{{Name: "a", Followers: 50}}})
	c, srv, retries := simClient(t, w, nil)
	appid := w.Apps()[0].AppID
	srv.SetMinuteLimit(appid, "/cgi-bin/user/info", 3)
	start := srv.Clock().Now()
	for _, id := range w.Followers(appid)[:7] {
		if _, err := c.UserInfo(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if waited := srv.Clock().Now().Sub(start); waited < 2*time.Minute || waited > 3*time.Minute {
		t.Errorf("7 calls at 3 a minute moved the clock %v, want two minute boundaries", waited)
	}
	if retries.of(wechat.PathUserInfo) != 2 {
		t.Errorf("%d retries, want 2", retries.of(wechat.PathUserInfo))
	}
}
