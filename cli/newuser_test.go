package cli

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/syncer"
	"wxscope/wechat/wechattest"
)

// What a new user meets, tried on the real binary: each mistake gives one
// clear sentence on stderr, the documented exit status, and no secret.
func TestNewUserMistakesGiveOneClearSentence(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	s := newSimSetup(t, wechattest.DemoWorld(2, 300), "")
	news := s.app(t, "news")

	typo := *s
	typo.cfg = writeConfig(t, strings.Replace(mustRead(t, s.cfg), "api_base", "api_bsae", 1))
	missing := *s
	missing.vars = map[string]string{}
	for k, v := range s.vars {
		if k != "WX_SHOP_SECRET" {
			missing.vars[k] = v
		}
	}
	wrong := *s
	wrong.vars = map[string]string{}
	for k, v := range s.vars {
		wrong.vars[k] = v
	}
	wrong.vars["WX_SHOP_SECRET"] = "0123456789abcdef0123456789abcdef"

	tests := []struct {
		name   string
		setup  *simSetup
		args   []string
		code   int
		stderr []string // substrings of the one line
	}{
		{"config typo", &typo, []string{"sync"}, 2, []string{typo.cfg + ":2: api_bsae", "api_base"}},
		{"missing secret", &missing, []string{"sync"}, 2, []string{"WX_SHOP_SECRET", `"shop"`}},
		{"wrong secret", &wrong, []string{"sync", "--app", "shop"}, 1,
			[]string{"shop: WeChat rejected the AppSecret (40125 invalid appsecret); check WX_SHOP_SECRET"}},
		{"unknown app for export", s, []string{"export", "--app", "nwes"}, 2, []string{`no app named "nwes"`, "news, shop, events, legacy"}},
		{"export before any sync", s, []string{"export"}, 1, []string{"nothing synced yet; run wxscope sync"}},
		{"bad format", s, []string{"export", "--format", "xlsx"}, 2, []string{`--format "xlsx" is not one of csv, jsonl`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.setup.runBinary(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			for _, want := range tt.stderr {
				if !strings.Contains(first, want) {
					t.Errorf("stderr %q: the first line does not say %q", r.stderr, want)
				}
			}
			for _, secret := range tt.setup.vars {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("the output shows a secret: %q", r.stderr)
				}
			}
		})
	}
	// The wrong secret of one app does not keep the others from syncing.
	r := wrong.runBinary(t, "sync")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "shop: WeChat rejected the AppSecret") {
		t.Errorf("sync of all with shop's secret wrong: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "news: 300/300 followers") {
		t.Errorf("news did not sync beside the failing shop: %q", r.stdout)
	}
	_ = news
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A cache another process holds: sync and export each say who holds it
// and what to do, within seconds, with exit 1.
func TestHeldCacheSaysWhoHoldsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	s := newSimSetup(t, wechattest.DemoWorld(2, 300), "")
	s.mustSync(t, "--app", "news")
	holder, err := cache.Open(s.cache, cache.Options{Command: "wxscope (the TUI)"})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()

	want := "is in use by wxscope (the TUI) (pid " + strconv.Itoa(os.Getpid()) + ", since "
	var wg sync.WaitGroup
	for _, args := range [][]string{{"sync"}, {"export"}} {
		wg.Go(func() {
			start := time.Now()
			r := s.runBinary(t, args...)
			if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "wait for it to finish or stop it") ||
				strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%v: exit %d, stderr %q, want one line saying %q", args, r.code, r.stderr, want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%v waited %s for the held cache", args, d)
			}
		})
	}
	wg.Wait()
}

// A second sync while one runs says who is syncing; Ctrl-C stops the first,
// which saves its progress and says how to go on.
func TestSecondSyncSaysWhoIsSyncingAndCtrlCSaves(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	s := newSimSetup(t, oneAppWorld(6, "news", 8000, 0, "P1"), "concurrency = 1", wechattest.WithPageSize(500))
	s.srv.SetLatency(40 * time.Millisecond)
	first, _, firstErr := s.command(t, context.Background(), "sync")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	lock := syncer.LockPath(s.cache)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if h := syncer.Holder(lock); h != nil && h.PID == first.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first sync never recorded itself in the sync lock")
		}
	}

	// Ctrl-C comes once some profiles are written.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if store, err := cache.Open(s.cache, cache.Options{Mode: cache.ReadOnly}); err == nil {
			apps, _ := store.Apps()
			store.Close()
			if len(apps) == 1 && apps[0].Counts.Profiles > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the first sync wrote no profile in 20 s")
		}
	}

	r := s.runBinary(t, "sync", "--app", "news")
	want := "wxscope: wxscope sync (pid " + strconv.Itoa(first.Process.Pid) + ", since "
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "is already syncing the cache") {
		t.Errorf("second sync: exit %d, stderr %q, want it to start %q", r.code, r.stderr, want)
	}
	// The cache stays readable meanwhile: a lookup from support gets in.
	if r := s.runBinary(t, "export", "--format", "jsonl"); r.code != 0 {
		t.Errorf("export during a sync: exit %d, stderr %q", r.code, r.stderr)
	}

	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := first.Wait()
	if code := first.ProcessState.ExitCode(); code != 1 || !strings.HasSuffix(firstErr.String(), "wxscope: interrupted; run the same command again to go on\n") {
		t.Fatalf("after Ctrl-C: exit %d (%v), stderr %q", code, err, firstErr)
	}
	store, err := cache.Open(s.cache, cache.Options{Mode: cache.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	apps, err := store.Apps()
	store.Close()
	if err != nil || len(apps) != 1 || !apps[0].Sync.InProgress || apps[0].Counts.Profiles == 0 {
		t.Fatalf("after Ctrl-C the cache holds %+v (%v), want a run in progress with profiles saved", apps, err)
	}
	s.mustSync(t)
	checkExport(t, s.export(t), s.world, nil)
}
