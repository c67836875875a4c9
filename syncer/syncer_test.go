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
		got := failureSentence(cfg, app, err)
		if !strings.HasPrefix(got, "news: the disk holding the cache /data/wxscope.db is full") || strings.Contains(got, "reach") {
			t.Errorf("failureSentence(%v) = %q", err, got)
		}
	}
}
