package syncer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// A client that cannot be built (here, a token_command of blanks) fails the
// sync with one sentence that names the app once: "news: news: …" was the
// client's error prefixed by the sentence again.
func TestAClientThatCannotBeBuiltNamesTheAppOnce(t *testing.T) {
	cfg := &config.Config{File: "config.toml", Cache: filepath.Join(t.TempDir(), "wxscope.db"), APIBase: "http://127.0.0.1:1", Concurrency: 1}
	app := config.App{Name: "news", AppID: "wx1111111111111111", Token: config.TokenFromCommand, TokenCommand: "   "}
	cfg.Apps = []config.App{app}
	store, err := cache.Open(cfg.Cache, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = New(cfg, store, Options{}).Sync(context.Background(), app, nil, time.Second)
	var f *Failure
	if !errors.As(err, &f) || strings.Contains(f.Error(), "news: news") || !strings.HasPrefix(f.Error(), "news: ") {
		t.Fatalf("sync with an unbuildable client: %v", err)
	}
}

// A full disk is said to be one, naming the cache, however the error
// reached the sync: a syscall.Errno is a net.Error too, which made it
// "cannot reach the API at … (no space left on device)".
func TestAFullDiskIsSaidToBeOne(t *testing.T) {
	cfg := &config.Config{File: "config.toml", Cache: "/data/wxscope.db", APIBase: "https://api.weixin.qq.com"}
	app := config.App{Name: "news", AppID: "wx1111111111111111"}
	for _, err := range []error{
		&cache.DiskFullError{Path: cfg.Cache, Err: &os.PathError{Op: "write", Path: cfg.Cache, Err: syscall.ENOSPC}},
		fmt.Errorf("sync of app news: write profiles: %w", &os.PathError{Op: "write", Path: cfg.Cache, Err: syscall.ENOSPC}),
		fmt.Errorf("record the state: %w", syscall.EDQUOT),
	} {
		got := Explain(cfg, app, err)
		if !strings.HasPrefix(got, "news: the disk holding the cache /data/wxscope.db is full") || strings.Contains(got, "reach") {
			t.Errorf("Explain(%v) = %q", err, got)
		}
	}
}

// Running names the lock's holder only while it is held: a record left by
// a killed sync (the kernel let its lock go) is nobody.
func TestRunningNamesTheHolderOnlyWhileTheLockIsHeld(t *testing.T) {
	cfg := &config.Config{Cache: filepath.Join(t.TempDir(), "wxscope.db")}
	if h := Running(cfg.Cache); h != nil {
		t.Fatalf("no lock file: %+v", h)
	}
	release, err := New(cfg, nil, Options{Command: "wxscope sync --app news"}).Hold()
	if err != nil {
		t.Fatal(err)
	}
	if h := Running(cfg.Cache); h == nil || h.Command != "wxscope sync --app news" || h.PID != os.Getpid() {
		t.Fatalf("while held: %+v", h)
	}
	release()
	// What a kill -9 leaves: the record, no lock.
	if err := os.WriteFile(LockPath(cfg.Cache), []byte(`{"pid":1,"command":"wxscope sync","since":"2026-01-02T03:04:05Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if h := Running(cfg.Cache); h != nil {
		t.Fatalf("a record without its lock: %+v", h)
	}
}

func TestSyncsAppReadsTheAppsOfASyncCommand(t *testing.T) {
	for _, c := range []struct {
		command, app string
		want         bool
	}{
		{"wxscope sync", "news", true},
		{"wxscope sync --app news --app shop", "shop", true},
		{"wxscope sync --app news", "shop", false},
		{"wxscope (TUI)", "shop", true},
		{"", "news", true},
	} {
		if got := SyncsApp(&cache.Holder{Command: c.command}, c.app); got != c.want {
			t.Errorf("SyncsApp(%q, %q) = %v", c.command, c.app, got)
		}
	}
}

// Running takes the lock for a moment to see whether anyone holds it: a
// sync starting in that moment is not refused for it.
func TestASyncIsNotRefusedForRunningsProbe(t *testing.T) {
	cfg := &config.Config{Cache: filepath.Join(t.TempDir(), "wxscope.db")}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				Running(cfg.Cache)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 200 {
		release, err := New(cfg, nil, Options{Command: "wxscope sync"}).Hold()
		if err != nil {
			t.Fatalf("hold %d while Running probes: %v", i, err)
		}
		release()
	}
}
