package wording

import (
	"strings"
	"testing"
	"time"

	"wxscope/cache"
)

// TestFindingSaysTheCommandOnTheCommandLineAndTheKeyInTheTUI words every
// kind of finding from its facts: the evidence is the same for both
// audiences, the action names the command or the key.
func TestFindingSaysTheCommandOnTheCommandLineAndTheKeyInTheTUI(t *testing.T) {
	reset := time.Date(2025, 6, 2, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	one := func(kind cache.FindingKind, app string, count int64) cache.Finding {
		return cache.Finding{Kind: kind, Apps: []string{app}, AppIDs: []string{"wx" + app}, Count: count}
	}
	with := func(f cache.Finding, set func(*cache.Finding)) cache.Finding { set(&f); return f }
	for _, tt := range []struct {
		name     string
		f        cache.Finding
		cli, tui string // the whole detail
	}{
		{"unbound, two apps to bind to", with(one(cache.UnboundApp, "events", 120), func(f *cache.Finding) {
			f.BindTo, f.Synced = []string{"news", "shop"}, true
		}),
			"events: none of 120 followers carries a unionid — bind events to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)",
			"events: none of 120 followers carries a unionid — bind events to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)"},
		{"unbound, three apps, not synced yet", with(one(cache.UnboundApp, "events", 64), func(f *cache.Finding) {
			f.BindTo = []string{"news", "shop", "mall"}
		}),
			"events: none of 64 followers cached so far carries a unionid — bind events to the open platform account that news, shop and mall use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)",
			"events: none of 64 followers cached so far carries a unionid — bind events to the open platform account that news, shop and mall use (开放平台 open.weixin.qq.com → 管理中心 → 公众号)"},
		{"unbound, one app", with(one(cache.UnboundApp, "events", 2013), func(f *cache.Finding) {
			f.BindTo, f.Synced = []string{"news"}, true
		}),
			"events: none of 2 013 followers carries a unionid — bind events to the open platform account that news uses (开放平台 open.weixin.qq.com → 管理中心 → 公众号)",
			"events: none of 2 013 followers carries a unionid — bind events to the open platform account that news uses (开放平台 open.weixin.qq.com → 管理中心 → 公众号)"},
		{"unbound, nothing bound", with(one(cache.UnboundApp, "events", 120), func(f *cache.Finding) { f.Synced = true }),
			"events: none of 120 followers carries a unionid — bind events to your open platform account (开放平台 open.weixin.qq.com → 管理中心 → 公众号), then sync it again",
			"events: none of 120 followers carries a unionid — bind events to your open platform account (开放平台 open.weixin.qq.com → 管理中心 → 公众号), then press s on events's row to sync it again"},
		{"an unbound mini program", with(one(cache.UnboundApp, "mall", 600), func(f *cache.Finding) {
			f.AppKinds, f.BindTo, f.Synced = []string{"miniprogram"}, []string{"news", "shop"}, true
		}),
			"mall: none of 600 members of its import carries a unionid — bind mall to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 小程序); each member's next login then returns its unionid (code2Session answers with it once the mini program is bound): record it, and the next sync reads it",
			"mall: none of 600 members of its import carries a unionid — bind mall to the open platform account that news and shop use (开放平台 open.weixin.qq.com → 管理中心 → 小程序); each member's next login then returns its unionid (code2Session answers with it once the mini program is bound): record it, and the next sync reads it"},
		{"an unbound mobile app, nothing bound", with(one(cache.UnboundApp, "app", 3), func(f *cache.Finding) {
			f.AppKinds, f.Synced = []string{"mobile"}, true
		}),
			"app: none of 3 members of its import carries a unionid — bind app to your open platform account (开放平台 open.weixin.qq.com → 管理中心 → 移动应用); each member's next login then returns its unionid (the OAuth answer carries it once the mobile app is bound): record it, and the next sync reads it",
			"app: none of 3 members of its import carries a unionid — bind app to your open platform account (开放平台 open.weixin.qq.com → 管理中心 → 移动应用); each member's next login then returns its unionid (the OAuth answer carries it once the mobile app is bound): record it, and the next sync reads it"},
		{"an unbound website", with(one(cache.UnboundApp, "site", 3), func(f *cache.Finding) {
			f.AppKinds, f.BindTo, f.Synced = []string{"web"}, []string{"news"}, true
		}),
			"site: none of 3 members of its import carries a unionid — bind site to the open platform account that news uses (开放平台 open.weixin.qq.com → 管理中心 → 网站应用); each member's next login then returns its unionid (the OAuth answer carries it once the website is bound): record it, and the next sync reads it",
			"site: none of 3 members of its import carries a unionid — bind site to the open platform account that news uses (开放平台 open.weixin.qq.com → 管理中心 → 网站应用); each member's next login then returns its unionid (the OAuth answer carries it once the website is bound): record it, and the next sync reads it"},
		{"a bound mini program's rows without unionid", with(one(cache.NoUnionID, "mall", 120), func(f *cache.Finding) {
			f.AppKinds, f.Of = []string{"miniprogram"}, 1200
		}),
			"mall: 120 of 1 200 members carry no unionid although mall is bound — these are probably records kept from before mall was bound: a unionid comes with the member's next login (code2Session answers with it once the mini program is bound); record it then, and the next sync reads it",
			"mall: 120 of 1 200 members carry no unionid although mall is bound — these are probably records kept from before mall was bound: a unionid comes with the member's next login (code2Session answers with it once the mini program is bound); record it then, and the next sync reads it"},
		{"separate platforms", cache.Finding{Kind: cache.SeparatePlatform, Apps: []string{"legacy", "news"}, Count: 100, Of: 299, Platforms: []string{"P2", "P1"}},
			"legacy ↔ news: 0 shared persons among 100 and 299 followers with a unionid — legacy (P2) and news (P1) are likely bound to different open platform accounts; rebind legacy to the one news uses if they should link",
			"legacy ↔ news: 0 shared persons among 100 and 299 followers with a unionid — legacy (P2) and news (P1) are likely bound to different open platform accounts; rebind legacy to the one news uses if they should link"},
		{"no unionid", with(one(cache.NoUnionID, "shop", 2), func(f *cache.Finding) { f.Of = 252 }),
			`shop: 2 of 252 followers carry no unionid although shop is bound — their profiles were probably cached before the binding: refetch them with max_age = "0s" in the config and wxscope sync --app shop; for such openids in your own records, wxscope resolve --app shop gives their unionids`,
			`shop: 2 of 252 followers carry no unionid although shop is bound — their profiles were probably cached before the binding: refetch them with max_age = "0s" in the config, then press s on shop's row`},
		{"conflict", one(cache.Conflict, "shop", 1),
			"shop: 1 unionids have two or more openids in shop — one person should have one openid per account: look the unionids up (wxscope lookup ID) and check whether the cache holds another appid's followers under this app's name",
			"shop: 1 unionids have two or more openids in shop — one person should have one openid per account: look the unionids up (press g and paste one) and check whether the cache holds another appid's followers under this app's name"},
		{"never synced", one(cache.Incomplete, "ghost", 0),
			"ghost: never synced — run wxscope sync --app ghost",
			"ghost: never synced — press s on ghost's row"},
		{"no sync finished", one(cache.Incomplete, "partial", 1),
			"partial: no sync has finished; 1 profiles cached — run wxscope sync --app partial",
			"partial: no sync has finished; 1 profiles cached — press s on partial's row"},
		{"stopped by the quota", with(one(cache.Incomplete, "half", 64), func(f *cache.Finding) {
			f.Stopped, f.Listed, f.Total, f.LastError, f.QuotaResetAt = true, 64, 200, "daily quota spent", reset
		}),
			"half: sync stopped at 64 listed of 200 (daily quota spent) — the daily user/get quota is spent; run wxscope sync --app half after 2025-06-02 00:00 +08:00 to resume",
			"half: sync stopped at 64 listed of 200 (daily quota spent) — the daily user/get quota is spent; press s on half's row after 2025-06-02 00:00 +08:00 to resume"},
		{"stopped by an error, total unknown", with(one(cache.Incomplete, "broke", 12800), func(f *cache.Finding) {
			f.Stopped, f.Listed, f.LastError = true, 12800, "errcode -1: system busy"
		}),
			"broke: sync stopped at 12 800 listed (errcode -1: system busy) — run wxscope sync --app broke to resume where it stopped",
			"broke: sync stopped at 12 800 listed (errcode -1: system busy) — press s on broke's row to resume where it stopped"},
		{"stale", with(one(cache.Stale, "legacy", 100), func(f *cache.Finding) { f.Note, f.Age = true, 50*time.Hour }),
			"legacy: last synced 50 h ago — run wxscope sync --app legacy for current follows and unfollows",
			"legacy: last synced 50 h ago — press s on legacy's row for current follows and unfollows"},
	} {
		cli, tui := Finding(CLI, &tt.f), Finding(TUI, &tt.f)
		if got := cli.Detail(); got != tt.cli {
			t.Errorf("%s, command line:\n got %q\nwant %q", tt.name, got, tt.cli)
		}
		if got := tui.Detail(); got != tt.tui {
			t.Errorf("%s, TUI:\n got %q\nwant %q", tt.name, got, tt.tui)
		}
		if cli.Evidence() != tui.Evidence() || cli.Evidence() != cli.Subject+": "+cli.Seen {
			t.Errorf("%s: the evidence differs between audiences or does not start with its subject: %q, %q", tt.name, cli.Evidence(), tui.Evidence())
		}
		if strings.Contains(tui.Detail(), "wxscope ") {
			t.Errorf("%s: the TUI's words name a command: %q", tt.name, tui.Detail())
		}
	}
}
