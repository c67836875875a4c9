package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/config"
	"wxscope/ui"
	"wxscope/ui/uitest"
	"wxscope/wechat/wechattest"
)

// rowOf is the screen line of an app on the home view, "" when none.
func rowOf(screen, name string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, "▸ "), name+" ") {
			return l
		}
	}
	return ""
}

func plainTUI(t *testing.T, cfg *config.Config, opts tuiOptions, getenv func(string) string) *tui {
	t.Helper()
	plain := ui.ThemePlain
	opts.theme = &plain
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	tu, err := newTUI(&Env{Getenv: getenv}, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tu.close)
	return tu
}

// TestDemoSyncsEveryAppThenBrowsesFollowersAPersonAndBack runs the demo's
// wiring (simulator over HTTP, the real client, cache.Sync, a temporary
// cache) in a real program: the first sync of all apps starts by itself,
// then a user opens news's followers, a person, goes back, jumps to a
// pasted openid of legacy, and quits.
func TestDemoSyncsEveryAppThenBrowsesFollowersAPersonAndBack(t *testing.T) {
	d, err := startDemo(7, 2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	tu := plainTUI(t, d.cfg, tuiOptions{httpClient: d.server.Client(), syncOnStart: true}, nil)
	p := uitest.Start(t, tu.root, 160, 40)

	// The rows' counters are read again after each sync ends; a read that
	// started before it may land first, so wait for the last one.
	want := map[string]string{"news": "2 000 2 000 P1 99 %", "shop": "1 600 1 600 P1 100 %",
		"events": "800 800 no 0 %", "legacy": "600 600 P2 100 %"}
	p.WaitFor(t, "every app synced, counted and analysed", func(s string) bool {
		for app, w := range want {
			row := rowOf(s, app)
			if !strings.Contains(row, "done") || !strings.Contains(strings.Join(strings.Fields(row), " "), w) {
				return false
			}
		}
		return strings.Contains(s, "none of 800 followers carries a unionid") // events' finding
	})

	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "news's followers with a column per other app", func(s string) bool {
		return strings.Contains(s, "news › followers · 2 000") && strings.Contains(s, "shop") &&
			strings.Contains(s, "legacy") && strings.Contains(s, "✓")
	})
	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "the person under the cursor", func(s string) bool {
		return strings.Contains(s, "person · unionid ") && strings.Contains(s, "events is not bound") &&
			strings.Contains(s, "legacy is bound to another open platform (P2)")
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "back to the followers", func(s string) bool { return strings.Contains(s, "news › followers") })
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "back home", func(s string) bool { return strings.Contains(s, "wxscope · 6 apps") })

	var legacy string
	for _, a := range d.server.World().Apps() {
		if a.Name == "legacy" {
			legacy = d.server.World().Followers(a.AppID)[0]
		}
	}
	p.Send(uitest.Key(":"), tea.PasteMsg{Content: " " + legacy + "\n"}, uitest.Key("enter"))
	p.WaitFor(t, "the pasted openid's person", func(s string) bool {
		return strings.Contains(s, "person · unionid ") && strings.Contains(s, legacy)
	})

	p.Send(uitest.Key("q"))
	final := p.WaitFinished(t).(*ui.Root)
	if !final.Quitting() {
		t.Error("the program ended without quitting")
	}
	if _, err := tu.store.Apps(); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("after q the cache is still open: %v", err)
	}
}

// TestTUIOpensOfflineAndSyncsOnlyWhenAsked opens a configured TUI over an
// empty cache: nothing reaches the API until s, and an app whose secret
// variable is unset says so in its row while the others sync.
func TestTUIOpensOfflineAndSyncsOnlyWhenAsked(t *testing.T) {
	world := wechattest.DemoWorld(3, 300)
	srv := wechattest.NewServer(world)
	defer srv.Close()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "cache = %q\napi_base = %q\n", filepath.Join(dir, "c.db"), srv.URL)
	env := map[string]string{}
	for _, a := range world.Apps() {
		fmt.Fprintf(&b, "[[app]]\nname = %q\nappid = %q\nsecret_env = \"WX_%s\"\n", a.Name, a.AppID, strings.ToUpper(a.Name))
		if a.Name != "shop" {
			env["WX_"+strings.ToUpper(a.Name)] = a.Secret
		}
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(config.Options{Path: path, Getenv: getenv, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	tu := plainTUI(t, cfg, tuiOptions{httpClient: srv.Client()}, getenv)
	p := uitest.Start(t, tu.root, 160, 30)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Count(s, "s to sync") == 4 })
	time.Sleep(200 * time.Millisecond)
	for _, path := range []string{"/cgi-bin/stable_token", "/cgi-bin/user/get"} {
		if n := srv.Calls(path); n != 0 {
			t.Fatalf("opening the TUI called %s %d times; it must stay offline", path, n)
		}
	}

	p.Send(uitest.Key("s"))
	p.WaitFor(t, "news synced", func(s string) bool { return strings.Contains(rowOf(s, "news"), "done") })
	p.Send(uitest.Key("j"), uitest.Key("s"))
	p.WaitFor(t, "shop's missing secret in its row", func(s string) bool {
		return strings.Contains(rowOf(s, "shop"), "⚠ cannot sync: $WX_SHOP is not set")
	})
	if strings.Contains(rowOf(p.Screen(), "events"), "done") {
		t.Errorf("s synced more than the app under the cursor")
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestTUISyncFailuresSayTheKeyAndNameTheAppOnce: a sync that fails in the
// TUI says so in the TUI's words, on the app's row and under the table: the
// app named once (not "news: news: …"), what went wrong without the layers
// that passed it on (`list followers after "": wechat wx…:`), and s where
// the command line would say `wxscope sync --app news`.
func TestTUISyncFailuresSayTheKeyAndNameTheAppOnce(t *testing.T) {
	dir := t.TempDir()
	// news's token_command fails before any call; the simulator rejects
	// shop's secret.
	world := wechattest.DemoWorld(3, 50)
	srv := wechattest.NewServer(world)
	defer srv.Close()
	conf := fmt.Sprintf(`cache = %q
api_base = %q
[[app]]
name = "news"
appid = "wx1111111111111111"
token_command = "echo the vault is sealed >&2; exit 3"
[[app]]
name = "shop"
appid = %q
secret_env = "WX_SHOP"
`, filepath.Join(dir, "c.db"), srv.URL, world.Apps()[1].AppID)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"WX_SHOP": "0123456789abcdef0123456789abcdef"}[k] }
	cfg, err := config.Load(config.Options{Path: path, Getenv: getenv, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	tu := plainTUI(t, cfg, tuiOptions{httpClient: srv.Client()}, getenv)
	p := uitest.Start(t, tu.root, 200, 30)
	p.WaitFor(t, "the home view", func(s string) bool { return strings.Count(s, "s to sync") == 2 })
	p.Send(uitest.Key("S"))
	p.WaitFor(t, "both syncs failed", func(s string) bool {
		return strings.Contains(rowOf(s, "news"), "⚠") && strings.Contains(rowOf(s, "shop"), "⚠")
	})
	news := p.Screen()
	p.Send(uitest.Key("j"))
	p.WaitFor(t, "shop's error under the table", func(s string) bool { return strings.Contains(s, "shop: WeChat rejected") })
	shop := p.Screen()
	if row := rowOf(news, "news"); !strings.Contains(row, "⚠ the token_command failed: exit status 3: the vault is sealed; fix") {
		t.Errorf("news's row: %q", row)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if want := "news: the token_command failed: exit status 3: the vault is sealed; fix the token_command of app \"news\" in " + path + ", then press s again"; !strings.Contains(squash(news), want) {
		t.Errorf("the screen lacks %q:\n%s", want, news)
	}
	if want := "shop: WeChat rejected the AppSecret (40125 invalid appsecret); check WX_SHOP"; !strings.Contains(shop, want) {
		t.Errorf("the screen lacks %q:\n%s", want, shop)
	}
	for _, screen := range []string{news, shop} {
		for _, bad := range []string{"news: news:", "shop: shop:", "wxscope sync", "list followers after", "wechat wx", "sync of app"} {
			if strings.Contains(screen, bad) {
				t.Errorf("the screen says %q:\n%s", bad, screen)
			}
		}
	}
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}

// TestDemoShowsWhatTheProductIsFor: the demo's world is not only the happy
// path. After its first sync, news has followers who left since the
// cache's earlier sync (behind u) and followers cached before its binding
// (no unionid), and shop has unionids with two openids (a conflict): the
// home view, the Followers view and the Links view show each.
func TestDemoShowsWhatTheProductIsFor(t *testing.T) {
	d, err := startDemo(7, 2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	tu := plainTUI(t, d.cfg, tuiOptions{httpClient: d.server.Client(), syncOnStart: true}, nil)
	p := uitest.Start(t, tu.root, 200, 50)
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	p.WaitFor(t, "the findings of the first sync", func(s string) bool {
		s = squash(s)
		return strings.Contains(s, "news: 20 of 2 000 followers carry no unionid although news is bound") &&
			strings.Contains(s, "shop: 2 unionids have two or more openids in shop")
	})
	p.Send(uitest.Key("enter"))
	p.WaitFor(t, "news's followers", func(s string) bool {
		return strings.Contains(s, "news › followers · 2 000 ·") && strings.Contains(s, "· 100 unfollowed hidden")
	})
	p.Send(uitest.Key("u"))
	p.WaitFor(t, "the unfollowed followers", func(s string) bool {
		return strings.Contains(s, "+ 100 unfollowed") && strings.Contains(s, "unfollowed "+time.Now().Format("2006-01-02"))
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "back home", func(s string) bool { return strings.Contains(s, " apps · cache ") })
	p.Send(uitest.Key("l"))
	p.WaitFor(t, "the Links view's chips", func(s string) bool {
		// 20 of news's, cached before its binding; mall's recorded before
		// the binding too.
		return regexp.MustCompile(`\[no unionid \d+\]`).MatchString(s) && strings.Contains(s, "[conflict in shop 2]")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}
