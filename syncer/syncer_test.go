package syncer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/wechat"
	"wxscope/wechat/wechattest"
)

// The TUI's syncs take their engine options from the same place as the sync
// command's, so max_age = "0s" refetches there too.
func TestEngineOptionsTurnMaxAgeZeroIntoRefetchEverything(t *testing.T) {
	cfg := &config.Config{Concurrency: 7}
	if got := engineOptions(cfg, nil, time.Second); got.MaxAge >= 0 || got.Concurrency != 7 || got.ProgressEvery != time.Second {
		t.Errorf("max_age 0s: engine options %+v, want a negative MaxAge (refetch every profile), concurrency 7, every 1s", got)
	}
	cfg.MaxAge = time.Hour
	if got := engineOptions(cfg, nil, time.Second); got.MaxAge != time.Hour {
		t.Errorf("max_age 1h: engine MaxAge %v, want 1h", got.MaxAge)
	}
}

// Holds of one Syncer nest, and while any is held a second Syncer on the
// same cache (another process, or a headless sync beside the TUI) is refused
// with who holds it; once the last hold ends, it gets in.
func TestHoldsNestAndKeepAnotherSyncerOut(t *testing.T) {
	cfg := &config.Config{Cache: filepath.Join(t.TempDir(), "wxscope.db")}
	tui := New(cfg, nil, Options{Command: "wxscope (TUI)"})
	headless := New(cfg, nil, Options{Command: "wxscope sync"})
	r1, err := tui.Hold()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := tui.Hold()
	if err != nil {
		t.Fatal(err)
	}
	_, err = headless.Hold()
	if !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "wxscope (TUI) (pid ") {
		t.Fatalf("second syncer while the TUI holds the lock: %v, want ErrRunning naming the TUI", err)
	}
	r1()
	r1() // a release is idempotent
	if _, err := headless.Hold(); !errors.Is(err, ErrRunning) {
		t.Fatalf("with one hold left the lock was let go: %v", err)
	}
	r2()
	r3, err := headless.Hold()
	if err != nil {
		t.Fatalf("after the last release: %v", err)
	}
	r3()
}

// A Syncer with KeepClients is one token source per app: its syncs and its
// Client calls share one client, so the token is fetched once, however
// many syncs run; without it every sync builds a client and fetches again.
// The retries a progress report counts are still those of its own sync.
func TestKeepClientsFetchesOneTokenPerApp(t *testing.T) {
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 3, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 300},
	}})
	srv := wechattest.NewServer(world)
	defer srv.Close()
	a := world.Apps()[0]
	app := config.App{Name: a.Name, AppID: a.AppID, Token: config.TokenStable, SecretEnv: "S", Secret: config.NewSecret(a.Secret)}
	cfg := &config.Config{Cache: filepath.Join(t.TempDir(), "wxscope.db"), APIBase: srv.URL, Concurrency: 2, Apps: []config.App{app}}
	store, err := cache.Open(cfg.Cache, cache.Options{Mode: cache.Shared})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	for _, keep := range []bool{false, true} {
		before := srv.Calls("/" + wechat.PathStableToken)
		s := New(cfg, store, Options{KeepClients: keep})
		for range 3 {
			var last cache.Progress
			if err := s.Sync(context.Background(), app, func(p cache.Progress) { last = p }, time.Hour); err != nil {
				t.Fatal(err)
			}
			if last.Retries != 0 {
				t.Errorf("keep %v: a sync without faults reports %d retries", keep, last.Retries)
			}
		}
		c1, err := s.Client(app)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c1.FollowerPage(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		c2, _ := s.Client(app)
		fetched := srv.Calls("/"+wechat.PathStableToken) - before
		switch {
		case keep && (fetched != 1 || c1 != c2):
			t.Errorf("KeepClients: %d token fetches for 3 syncs and a Client call (want 1), same client %v", fetched, c1 == c2)
		case !keep && fetched != 4:
			t.Errorf("without KeepClients: %d token fetches for 3 syncs and a Client call, want 4", fetched)
		}
	}
}
