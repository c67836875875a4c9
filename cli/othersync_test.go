package cli

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/ui/uitest"
	"wxscope/wechat/wechattest"
)

// While a `wxscope sync` in another process syncs an app, doctor and the
// TUI say the sync is under way there and who it is, not that it stopped
// and wants resuming; once that process is killed, they say it stopped.
func TestDoctorAndTheTUISayASyncInAnotherProcessIsUnderWay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	world := wechattest.NewWorld(wechattest.WorldSpec{Seed: 51, Apps: []wechattest.AppSpec{
		{Name: "news", Platform: "P1", Followers: 4000}, {Name: "shop", Platform: "P1", Followers: 300},
	}})
	s := newSimSetup(t, world, "concurrency = 1", wechattest.WithPageSize(200))
	s.srv.SetLatency(30 * time.Millisecond)
	cmd, _, stderr := s.command(t, context.Background(), "sync", "--app", "news")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	news := s.app(t, "news")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the sync in the other process never got under way: %s", stderr)
		}
		if store, err := cache.Open(s.cache, cache.Options{Mode: cache.SharedReadOnly}); err == nil {
			a, ok, _ := store.App(news.AppID)
			store.Close()
			if ok && a.Sync.InProgress && a.Sync.Listed > 0 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := s.run(context.Background(), "doctor")
	if !strings.Contains(r.stdout, "being synced by wxscope sync --app news") || !strings.Contains(r.stdout, "(pid ") ||
		strings.Contains(r.stdout, "news  sync stopped") {
		t.Errorf("doctor while another process syncs news:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "being synced by wxscope sync --app news (pid") && strings.Contains(r.stdout, "shop  being synced") {
		t.Errorf("doctor says shop is being synced by a sync of news only:\n%s", r.stdout)
	}

	cfg, err := (&Env{Getenv: func(k string) string { return s.vars[k] }}).loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tu := plainTUI(t, cfg, tuiOptions{readOnly: true}, nil)
	p := uitest.Start(t, tu.root, 160, 30)
	p.WaitFor(t, "news's row saying it syncs in the other process", func(screen string) bool {
		row := rowOf(screen, "news")
		return strings.Contains(row, "syncing in wxscope sync --app news (pid") && !strings.Contains(row, "resumes")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)

	_ = cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r = s.run(context.Background(), "doctor")
	if !strings.Contains(r.stdout, "sync stopped at") || strings.Contains(r.stdout, "being synced") {
		t.Errorf("doctor after the other sync was killed:\n%s", r.stdout)
	}
}
