package wording

import (
	"fmt"
	"strings"

	"wxscope/cache"
)

// FindingText is a doctor finding in words.
type FindingText struct {
	// Subject names the finding's apps: "events", or "legacy ↔ news" for
	// two apps on separate platforms.
	Subject string
	// Seen is the evidence without its subject: "none of 120 followers
	// carries a unionid". A view that shows the subject in a column of its
	// own shows Seen beside it.
	Seen string
	// Action says what fixes it: "bind events to the open platform account
	// that news and shop use".
	Action string
}

// Evidence is what was seen, subject first: "events: none of 120 followers
// carries a unionid".
func (t FindingText) Evidence() string {
	if t.Subject == "" {
		return t.Seen // a finding about the cache file, not an app
	}
	return t.Subject + ": " + t.Seen
}

// Detail is the finding in one sentence: the evidence, then the action.
func (t FindingText) Detail() string {
	if t.Action == "" {
		return t.Evidence()
	}
	return t.Evidence() + " — " + t.Action
}

// Finding words f for the audience a. Only the action depends on a: the
// evidence is the same facts for everyone.
func Finding(a Audience, f *cache.Finding) FindingText {
	t := FindingText{Subject: strings.Join(f.Apps, " ↔ ")}
	app := ""
	if len(f.Apps) > 0 {
		app = f.Apps[0]
	}
	switch f.Kind {
	case cache.UnboundApp:
		so := ""
		if !f.Synced {
			so = " cached so far"
		}
		t.Seen = fmt.Sprintf("none of %s followers%s carries a unionid", FormatCount(f.Count), so)
		switch {
		case len(f.BindTo) == 1:
			t.Action = fmt.Sprintf("bind %s to the open platform account that %s uses", app, f.BindTo[0])
		case len(f.BindTo) > 1:
			t.Action = fmt.Sprintf("bind %s to the open platform account that %s use", app, JoinAnd(f.BindTo))
		case a == TUI:
			t.Action = fmt.Sprintf("bind %s to your open platform account (open.weixin.qq.com → account center), then %s to sync it again", app, a.syncApp(app))
		default:
			t.Action = fmt.Sprintf("bind %s to your open platform account (open.weixin.qq.com → account center), then sync it again", app)
		}
	case cache.SeparatePlatform:
		small, big := f.Apps[0], f.Apps[1]
		t.Seen = fmt.Sprintf("0 shared persons among %s and %s followers with a unionid", FormatCount(f.Count), FormatCount(f.Of))
		t.Action = fmt.Sprintf("%s (%s) and %s (%s) are likely bound to different open platform accounts; rebind %s to the one %s uses if they should link",
			small, f.Platforms[0], big, f.Platforms[1], small, big)
	case cache.NoUnionID:
		t.Seen = fmt.Sprintf("%s of %s followers carry no unionid although %s is bound", FormatCount(f.Count), FormatCount(f.Of), app)
		refetch := "their profiles were probably cached before the binding: refetch them with max_age = \"0s\" in the config"
		if a == TUI {
			t.Action = refetch + ", then " + a.syncApp(app)
		} else {
			t.Action = refetch + " and wxscope sync --app " + app
		}
	case cache.Conflict:
		t.Seen = fmt.Sprintf("%s unionids have two or more openids in %s", FormatCount(f.Count), app)
		lookup := "wxscope lookup ID"
		if a == TUI {
			lookup = "press g and paste one"
		}
		t.Action = "one person should have one openid per account: look the unionids up (" + lookup +
			") and check whether the cache holds another appid's followers under this app's name"
	case cache.FindingDamaged:
		t.Seen = fmt.Sprintf("the cache %s is damaged: %s", f.CachePath, f.Damage)
		t.Action = "run wxscope salvage to copy what is still readable into a fresh cache (the damaged file is kept beside it), then wxscope sync to fetch the rest"
		if a == TUI {
			t.Action = "quit, " + t.Action
		}
	case cache.Incomplete:
		switch {
		case f.SyncedBy != nil:
			t.Seen = fmt.Sprintf("being synced by %s, %s listed so far", f.SyncedBy, FormatCount(f.Listed))
			t.Action = "wait for that sync to finish"
		case f.Stopped:
			t.Seen = "sync stopped at " + FormatCount(f.Listed) + " listed"
			if f.Total > 0 {
				t.Seen += " of " + FormatCount(f.Total)
			}
			why := f.LastError
			if a == TUI {
				// The TUI says what went wrong, not which layer said it;
				// "stopped" already says it was interrupted.
				if why = Bare(why); strings.HasPrefix(why, "interrupted") {
					why = ""
				}
			}
			if why != "" {
				t.Seen += " (" + why + ")"
			}
			if !f.QuotaResetAt.IsZero() {
				t.Action = fmt.Sprintf("the daily user/get quota is spent; %s after %s to resume", a.syncApp(app), f.QuotaResetAt.Format("2006-01-02 15:04 -07:00"))
			} else {
				t.Action = a.syncApp(app) + " to resume where it stopped"
			}
		case f.Count == 0:
			t.Seen = "never synced"
			t.Action = a.syncApp(app)
		default:
			t.Seen = fmt.Sprintf("no sync has finished; %s profiles cached", FormatCount(f.Count))
			t.Action = a.syncApp(app)
		}
	case cache.Stale:
		t.Seen = "last synced " + FormatAge(f.Age) + " ago"
		t.Action = a.syncApp(app) + " for current follows and unfollows"
	default:
		t.Seen = fmt.Sprintf("%s (%s)", f.Kind, FormatCount(f.Count))
	}
	return t
}
