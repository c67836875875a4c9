package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/syncer"
	"wxscope/ui"
	"wxscope/ui/uitest"
)

// syncedDemoTUI starts the demo's wiring on a small world and waits on the
// home view until every app has synced for real (simulator over HTTP, the
// real client, cache.Sync).
func syncedDemoTUI(t *testing.T, seed int64, followers int) (*demo, *tui, *uitest.Program) {
	t.Helper()
	d, err := startDemo(seed, followers, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	tu := plainTUI(t, d.cfg, tuiOptions{httpClient: d.server.Client(), syncOnStart: true}, nil)
	p := uitest.Start(t, tu.root, 160, 40)
	p.WaitFor(t, "every app synced, counted and analysed", func(s string) bool {
		for _, app := range []string{"news", "shop", "events", "legacy"} {
			if row := rowOf(s, app); !strings.Contains(row, "done") || strings.Contains(row, "never") {
				return false
			}
		}
		return strings.Contains(s, "none of 800 followers carries a unionid")
	})
	return d, tu, p
}

// lineWith is the first screen line that contains every part, "" if none.
func lineWith(screen string, parts ...string) string {
	for _, l := range strings.Split(screen, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return l
		}
	}
	return ""
}

// TestHomeLinksMissingGroupPersonAndBack goes from the home view of a demo
// world synced for real to the Links view (l), whose matrix flags the
// unbound and the separate app, to the persons missing in shop, to one of
// them, and back to home one esc at a time.
func TestHomeLinksMissingGroupPersonAndBack(t *testing.T) {
	_, _, p := syncedDemoTUI(t, 7, 2000)
	if row := rowOf(p.Screen(), "events"); !strings.Contains(row, "done · ⚠ not bound to an open platform") {
		t.Errorf("the events row does not say it is not bound after its sync: %q", row)
	}
	if !strings.Contains(p.Screen(), "l links") || !strings.Contains(p.Screen(), "d doctor") {
		t.Fatalf("the home footer does not offer l and d:\n%s", p.Screen())
	}

	p.Send(uitest.Key("l"))
	p.WaitFor(t, "the links matrix and the group filters", func(s string) bool {
		return strings.Contains(s, "links · ") && strings.Contains(s, "[missing in shop ")
	})
	screen := p.Screen()
	if lineWith(screen, "events", "⚠ not bound to an open platform") == "" {
		t.Errorf("the matrix does not say events is not bound:\n%s", screen)
	}
	if lineWith(screen, "legacy", "⚠ another open platform? (P2") == "" {
		t.Errorf("the matrix does not say legacy is on another platform:\n%s", screen)
	}

	p.Send(uitest.Key("tab"), uitest.Key("tab")) // all → missing in news → missing in shop
	p.WaitFor(t, "the persons missing in shop", func(s string) bool { return showing(s, "missing in shop") })
	// The group holds legacy's persons too (another platform: missing in
	// every app of P1), first in unionid order; page down to one who
	// follows news.
	for page := 0; page < 40 && !strings.Contains(lineWith(p.Screen(), "▸ "), "news ✓"); page++ {
		lines := strings.Split(p.Screen(), "\n")
		cur, hit := -1, -1
		for i, l := range lines {
			if strings.HasPrefix(l, "▸ ") {
				cur = i
			}
			if cur >= 0 && hit < 0 && strings.Contains(l, "news ✓") && strings.Contains(l, "shop ·") {
				hit = i
			}
		}
		at := rowNumber(t, p.Screen())
		if hit < 0 {
			p.Send(uitest.Key("pgdown"))
			p.WaitFor(t, "the next page", func(s string) bool { return rowNumber(t, s) > at })
			continue
		}
		for range hit - cur {
			p.Send(uitest.Key("down"))
		}
		p.WaitFor(t, "the cursor on the row", func(s string) bool { return rowNumber(t, s) == at+hit-cur })
	}
	row := lineWith(p.Screen(), "▸ ")
	fields := strings.Fields(strings.TrimPrefix(row, "▸ "))
	if len(fields) == 0 || !strings.Contains(row, "news ✓") || !strings.Contains(row, "shop ·") {
		t.Fatalf("no person of news missing in shop near the top; the cursor row reads %q", row)
	}
	unionid := fields[0]

	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "that person", func(s string) bool {
		return strings.Contains(s, "person · unionid "+unionid) && strings.Contains(s, "does not follow shop")
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "the same filter and row again", func(s string) bool {
		return showing(s, "missing in shop") && strings.Contains(lineWith(s, "▸ "), unionid)
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "home", func(s string) bool { return strings.Contains(s, "wxscope · 6 apps") })
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// showing reports whether the Links view lists the group filter chip: the
// title's row count is the chip's count (the plain theme cannot highlight
// the chip in use) and the row under the cursor is missing in the app.
func showing(screen, chip string) bool {
	i := strings.Index(screen, "["+chip+" ")
	if i < 0 {
		return false
	}
	n, _, ok := strings.Cut(screen[i+len(chip)+2:], "]")
	app := strings.TrimPrefix(chip, "missing in ")
	return ok && strings.Contains(screen, " "+n+" rows · row ") && strings.Contains(lineWith(screen, "▸ "), app+" ·")
}

// TestHomeDoctorUnboundAppOpensItsFollowers goes from home to the Doctor
// view (d), puts the cursor on the unbound_app finding and opens it: the
// followers of events, with the presence columns Enter on its home row
// would give; esc comes back to the findings, then home.
func TestHomeDoctorUnboundAppOpensItsFollowers(t *testing.T) {
	_, _, p := syncedDemoTUI(t, 7, 2000)
	p.Send(uitest.Key("d"))
	p.WaitFor(t, "the findings", func(s string) bool {
		return strings.Contains(s, "doctor · ") && strings.Contains(s, "unbound_app")
	})
	for range 6 {
		if strings.Contains(lineWith(p.Screen(), "▸ "), "unbound_app") {
			break
		}
		p.Send(uitest.Key("down"))
		time.Sleep(30 * time.Millisecond)
	}
	if l := lineWith(p.Screen(), "▸ "); !strings.Contains(l, "unbound_app") || !strings.Contains(l, "events") {
		t.Fatalf("the cursor is not on events' unbound_app finding: %q\n%s", l, p.Screen())
	}
	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "events's followers with a column per other app", func(s string) bool {
		return strings.Contains(s, "events › followers · 800") && lineWith(s, "news", "shop", "legacy") != ""
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "the findings again, the cursor where it was", func(s string) bool {
		return strings.Contains(lineWith(s, "▸ "), "unbound_app")
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "home", func(s string) bool { return strings.Contains(s, "wxscope · 6 apps") })
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestReadOnlyTUINeitherSyncsNorWrites opens a synced cache with
// --readonly: the store refuses writes, s and S reach no API and are in no
// help, the demo-style sync on start does not happen, and the file is
// byte for byte what it was.
func TestReadOnlyTUINeitherSyncsNorWrites(t *testing.T) {
	d, err := startDemo(5, 300, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	store, err := cache.Open(d.cfg.Cache, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	syncs := syncer.New(d.cfg, store, syncer.Options{HTTPClient: d.server.Client()})
	for _, app := range d.cfg.Apps {
		if err := syncs.Sync(context.Background(), app, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	before, err := os.ReadFile(d.cfg.Cache)
	if err != nil {
		t.Fatal(err)
	}
	calls := d.server.Calls("/cgi-bin/user/get")

	tu := plainTUI(t, d.cfg, tuiOptions{httpClient: d.server.Client(), readOnly: true, syncOnStart: true}, nil)
	if err := tu.store.SetAppNames(map[string]string{d.cfg.Apps[0].AppID: "renamed"}); !errors.Is(err, cache.ErrReadOnly) {
		t.Errorf("a write through the read-only TUI's store: %v, want ErrReadOnly", err)
	}
	p := uitest.Start(t, tu.root, 160, 30)
	p.WaitFor(t, "the read-only home view with the findings", func(s string) bool {
		return strings.Contains(s, "read-only") && strings.Contains(rowOf(s, "events"), "not bound")
	})
	p.Send(uitest.Key("s"), uitest.Key("S"), uitest.Key("x"))
	time.Sleep(200 * time.Millisecond)
	if n := d.server.Calls("/cgi-bin/user/get") - calls; n != 0 {
		t.Errorf("read-only: %d user/get calls after s and S", n)
	}
	screen := p.Screen()
	if strings.Contains(screen, "running") || strings.Contains(screen, "s sync") || strings.Contains(screen, "sync all") {
		t.Errorf("read-only home offers or runs a sync:\n%s", screen)
	}
	p.Send(uitest.Key("?"))
	// The help aligns its keys in a column: compare with the spaces squashed.
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	p.WaitFor(t, "the full help", func(s string) bool {
		return strings.Contains(squash(s), "l links") && strings.Contains(squash(s), "d doctor")
	})
	if help := squash(p.Screen()); strings.Contains(help, "s sync") || strings.Contains(help, "sync all") || strings.Contains(help, "stop sync") {
		t.Errorf("read-only full help lists a sync key:\n%s", help)
	}
	p.Send(uitest.Key("esc"), uitest.Key("q"))
	p.WaitFinished(t)

	after, err := os.ReadFile(d.cfg.Cache)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the read-only TUI changed the cache file")
	}
}

// TestReadOnlyTUIWithoutACacheSaysSyncFirst: --readonly never creates the
// cache file; with none, it says so before the screen opens.
func TestReadOnlyTUIWithoutACacheSaysSyncFirst(t *testing.T) {
	d, err := startDemo(5, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	// The demo starts with a cache an earlier sync left (seedDemoCache):
	// this test wants none.
	if err := os.Remove(d.cfg.Cache); err != nil {
		t.Fatal(err)
	}
	_, err = newTUI(&Env{Getenv: func(string) string { return "" }}, d.cfg, tuiOptions{readOnly: true, theme: new(ui.Theme)})
	if !errors.Is(err, cache.ErrNoCache) || !strings.Contains(err.Error(), "run wxscope sync first") {
		t.Errorf("read-only without a cache: %v", err)
	}
	if _, err := os.Stat(d.cfg.Cache); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only created the cache file (%v)", err)
	}
}

// rowNumber is the cursor's row in the Links view's title, "… rows · row N".
func rowNumber(t *testing.T, screen string) int {
	t.Helper()
	_, after, ok := strings.Cut(screen, " rows · row ")
	if !ok {
		return -1
	}
	line, _, _ := strings.Cut(after, "\n")
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(line), " ", "")) // "1 234"
	if err != nil {
		return -1
	}
	return n
}
