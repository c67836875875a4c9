package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"wxscope/ui/uitest"
	"wxscope/wechat/wechattest"
)

// TestHeadlessSyncSucceedsWhileAReadOnlyTUIIsOpen: an operator leaves
// `wxscope --readonly` open on a cache of which one app is synced; the
// nightly `wxscope sync` of the same cache runs to the end meanwhile (it used
// to give up after 3 s, "in use"), and the open TUI's store reads what it
// wrote.
func TestHeadlessSyncSucceedsWhileAReadOnlyTUIIsOpen(t *testing.T) {
	world := wechattest.DemoWorld(3, 200)
	s := newSimSetup(t, world, "")
	first := world.Apps()[0]
	s.mustSync(t, "--app", first.Name)

	getenv := func(k string) string { return s.vars[k] }
	cfg, err := (&Env{Getenv: getenv}).loadConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tu := plainTUI(t, cfg, tuiOptions{readOnly: true}, getenv)
	p := uitest.Start(t, tu.root, 160, 30)
	p.WaitFor(t, "the read-only home view", func(screen string) bool {
		return strings.Contains(screen, "read-only") && strings.Contains(screen, first.Name)
	})

	start := time.Now()
	r := s.run(context.Background(), "sync")
	if r.code != 0 {
		t.Fatalf("wxscope sync beside a read-only TUI: exit %d after %v\nstderr %s", r.code, time.Since(start).Round(time.Millisecond), r.stderr)
	}

	apps, err := tu.store.Apps()
	if err != nil {
		t.Fatalf("the read-only TUI's store after the sync: %v", err)
	}
	synced := map[string]bool{}
	for _, a := range apps {
		synced[a.AppID] = !a.Sync.LastCompleteAt.IsZero()
	}
	for _, a := range world.Apps() {
		if !synced[a.AppID] {
			t.Errorf("the read-only TUI's store does not see %s synced (apps %+v)", a.Name, apps)
		}
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}
