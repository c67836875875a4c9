package cli

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/wechat/wechattest"
)

const batchgetPath = "/cgi-bin/user/info/batchget"
const usergetPath = "/cgi-bin/user/get"

func oneAppWorld(seed int64, name string, followers, unfollowed int, platform string) *wechattest.World {
	return wechattest.NewWorld(wechattest.WorldSpec{Seed: seed, Apps: []wechattest.AppSpec{
		{Name: name, Platform: platform, Followers: followers, Unfollowed: unfollowed},
	}})
}

// A 100 000-follower account synced through -1s, HTTP 500s and an expired
// token ends with exactly the world in the cache.
func TestFaultySyncOf100kFollowersExportsTheWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("100 000 followers: not with -short")
	}
	s := newSimSetup(t, oneAppWorld(7, "news", 100_000, 500, "P1"), "")
	news := s.app(t, "news")
	s.srv.Inject(wechattest.Fault{Path: batchgetPath, Errcode: -1, After: 100, Times: 2})
	s.srv.Inject(wechattest.Fault{Path: batchgetPath, HTTPStatus: 500, After: 400, Times: 2})
	s.srv.Inject(wechattest.Fault{Path: usergetPath, Errcode: -1, After: 3, Times: 1})
	s.srv.Inject(wechattest.Fault{Path: usergetPath, HTTPStatus: 502, After: 6, Times: 1})

	// Expire the token once the sync is well under way.
	expired := make(chan struct{})
	go func() {
		defer close(expired)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if s.srv.Calls(batchgetPath) >= 600 {
				s.srv.ExpireTokens(news.AppID)
				return
			}
		}
	}()
	r := s.mustSync(t)
	<-expired
	if !strings.Contains(r.stdout, "news: 100000/100000 followers, 100000 profiles fetched") {
		t.Errorf("summary line: %q", r.stdout)
	}
	if strings.Contains(r.stdout, ", 0 retries, ") {
		t.Errorf("the summary counts no retries after injected faults: %q", r.stdout)
	}
	if tokens := s.srv.Calls("/cgi-bin/stable_token"); tokens < 2 {
		t.Errorf("%d stable_token calls: the expired token was not refetched", tokens)
	}
	checkExport(t, s.export(t), s.world, nil)
}

// A second sync of an unchanged account costs only the user/get pages.
func TestWarmResyncFetchesNoProfiles(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(3, 2000), "")
	s.mustSync(t)
	pages, batches := s.srv.Calls(usergetPath), s.srv.Calls(batchgetPath)
	if batches == 0 {
		t.Fatal("the first sync made no batchget call")
	}
	r := s.mustSync(t)
	if got := s.srv.Calls(batchgetPath) - batches; got != 0 {
		t.Errorf("the warm re-sync made %d batchget calls, want 0", got)
	}
	if got := s.srv.Calls(usergetPath) - pages; got != pages {
		t.Errorf("the warm re-sync made %d user/get calls, the first %d", got, pages)
	}
	if !strings.Contains(r.stdout, "still fresh in the cache") {
		t.Errorf("the summary does not say the profiles were fresh: %q", r.stdout)
	}
	checkExport(t, s.export(t), s.world, nil)
}

// Unfollows between two syncs are marked, new followers added, nobody lost.
func TestResyncMarksUnfollowsAndAddsNewFollowers(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(4, 1500), "")
	s.mustSync(t)
	gone := map[string][]string{}
	for _, a := range s.world.Apps() {
		// Follow first: some of the new followers are former ones coming
		// back, and one who left and came back between two syncs looks
		// unchanged to a cache-first sync (subscribe_time aside).
		before := s.world.Followers(a.AppID)
		s.world.Follow(a.AppID, 30)
		for _, id := range before[:25] {
			if err := s.world.Unfollow(a.AppID, id); err != nil {
				t.Fatal(err)
			}
			gone[a.AppID] = append(gone[a.AppID], id)
		}
	}
	s.mustSync(t)
	checkExport(t, s.export(t), s.world, gone)
}

// user/get's daily quota runs out midway: the sync stops with exit 1 and a
// sentence saying when to resume; after midnight (Beijing time) the same
// command finishes, with every profile fetched exactly once.
func TestDailyQuotaStopsTheSyncAndItResumesAfterMidnight(t *testing.T) {
	start := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC) // 23:00 in Beijing
	clock := wechattest.NewClock(start)
	s := newSimSetup(t, oneAppWorld(11, "shop", 5000, 50, "P1"), "", wechattest.WithPageSize(1000), wechattest.WithClock(clock))
	shop := s.app(t, "shop")
	s.srv.SetDailyQuota(shop.AppID, usergetPath, 3)

	r := s.run(context.Background(), "sync", "--app", "shop")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", r.code, r.stderr)
	}
	want := "wxscope: shop: user/get daily quota spent; the sync resumes where it stopped after "
	if !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "run `wxscope sync --app shop` then") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, "stopped by the daily quota") {
		t.Errorf("stdout %q", r.stdout)
	}
	if pages := s.srv.Calls(usergetPath); pages != 4 { // 3 answered, the 4th refused
		t.Errorf("%d user/get calls before the stop, want 4", pages)
	}

	clock.Advance(2 * time.Hour) // past 00:00 +08:00: the quota resets
	s.mustSync(t, "--app", "shop")
	if got, want := s.srv.Calls(batchgetPath), 5000/100; got != want {
		t.Errorf("%d batchget calls over both runs, want %d: something was fetched twice or skipped", got, want)
	}
	// 5 pages and the empty call after them, plus the one refused: a page
	// listed before the stop is not listed again.
	if got := s.srv.Calls(usergetPath); got != 7 {
		t.Errorf("%d user/get calls over both runs, want 7", got)
	}
	checkExport(t, s.export(t), s.world, nil)
}

// The progress events of a sync reach the caller's view as the engine
// reports them, and the retries of the client are counted.
func TestSourceCountsTheClientsRetries(t *testing.T) {
	s := newSimSetup(t, oneAppWorld(5, "news", 300, 0, ""), "")
	s.srv.Inject(wechattest.Fault{Path: batchgetPath, Errcode: -1, Times: 1})
	var last cache.Progress
	cfg, err := (&Env{Getenv: func(k string) string { return s.vars[k] }}).loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	env := &Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return s.vars[k] }}
	err = syncApps(context.Background(), env, cfg, cfg.Apps, syncHooks{opts: func(o *cache.SyncOptions) {
		prev := o.Progress
		o.Progress = func(p cache.Progress) { last = p; prev(p) }
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !last.Final || last.Retries != 1 || last.Fetched != 300 {
		t.Errorf("final progress %+v, want 1 retry and 300 fetched", last)
	}
}

// Syncing one app needs only that app's secret.
func TestSyncOfOneAppNeedsOnlyItsSecret(t *testing.T) {
	s := newSimSetup(t, wechattest.DemoWorld(8, 200), "")
	news := s.app(t, "news")
	for k := range s.vars {
		if k != "WX_NEWS_SECRET" {
			delete(s.vars, k)
		}
	}
	r := s.mustSync(t, "--app", "news")
	if !strings.HasPrefix(r.stdout, "news: ") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout %q, want one summary line for news", r.stdout)
	}
	for _, row := range s.export(t) {
		if row.AppID != news.AppID {
			t.Fatalf("export holds %s, which was not synced", row.App)
		}
	}
	if r := s.run(context.Background(), "sync"); r.code != 2 || !strings.Contains(r.stderr, "WX_SHOP_SECRET") {
		t.Errorf("sync of all apps without shop's secret: exit %d, stderr %q", r.code, r.stderr)
	}
}

// max_age = "0s" refetches every profile on each sync, as the config's
// message promises (the engine's zero MaxAge would mean its 24 h default).
func TestMaxAgeZeroRefetchesEveryProfile(t *testing.T) {
	s := newSimSetup(t, oneAppWorld(9, "news", 700, 0, "P1"), `max_age = "0s"`)
	s.mustSync(t)
	batches := s.srv.Calls(batchgetPath)
	s.mustSync(t)
	if got := s.srv.Calls(batchgetPath) - batches; got != batches {
		t.Errorf("the second sync made %d batchget calls, the first %d: max_age 0s did not refetch", got, batches)
	}
}

// A headless sync paces the collector for its small live heap (GOGC 500,
// a soft limit of 140 MiB) and sets both back when it ends; GOGC set by
// the user keeps both as they were, GOMEMLIMIT keeps the limit.
func TestSyncPacesTheCollectorUnlessGOGCSaysOtherwise(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(160<<20)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	for _, c := range []struct {
		env   map[string]string
		gc    int
		limit int64
	}{
		{map[string]string{}, syncGCPercent, syncMemoryLimit},
		{map[string]string{"GOGC": "100"}, 100, 160 << 20},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, syncGCPercent, 160 << 20},
	} {
		env := &Env{Getenv: func(k string) string { return c.env[k] }}
		restore := paceCollectorForSync(env)
		gotGC, gotLimit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
		debug.SetGCPercent(gotGC)
		restore()
		if gotGC != c.gc || gotLimit != c.limit {
			t.Errorf("with %v: GOGC %d and a limit of %d MiB during the sync, want %d and %d", c.env, gotGC, gotLimit>>20, c.gc, c.limit>>20)
		}
		if g, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); g != 100 || l != 160<<20 {
			t.Errorf("with %v: GOGC %d and a limit of %d MiB after the sync, want them back", c.env, g, l>>20)
		}
		debug.SetGCPercent(100)
	}
}
