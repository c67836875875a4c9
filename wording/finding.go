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
	app, kind := "", ""
	if len(f.Apps) > 0 {
		app = f.Apps[0]
	}
	if len(f.AppKinds) > 0 {
		kind = f.AppKinds[0]
	}
	switch f.Kind {
	case cache.UnboundApp:
		so := ""
		switch {
		case imported(kind):
			so = " of its import"
		case !f.Synced:
			so = " cached so far"
		}
		t.Seen = fmt.Sprintf("none of %s %s%s carries a unionid", FormatCount(f.Count), members(kind), so)
		where := fmt.Sprintf("(%s)", console(kind))
		switch {
		case len(f.BindTo) == 1:
			t.Action = fmt.Sprintf("bind %s to the open platform account that %s uses %s", app, f.BindTo[0], where)
		case len(f.BindTo) > 1:
			t.Action = fmt.Sprintf("bind %s to the open platform account that %s use %s", app, JoinAnd(f.BindTo), where)
		default:
			t.Action = fmt.Sprintf("bind %s to your open platform account %s", app, where)
		}
		switch {
		case imported(kind):
			t.Action += fmt.Sprintf("; each member's next login then returns its unionid (%s): record it, and the next sync reads it", loginAnswer(kind))
		case len(f.BindTo) == 0 && a == TUI:
			t.Action += fmt.Sprintf(", then %s to sync it again", a.syncApp(app))
		case len(f.BindTo) == 0:
			t.Action += ", then sync it again"
		}
	case cache.SeparatePlatform:
		small, big := f.Apps[0], f.Apps[1]
		smallKind, bigKind := kind, ""
		if len(f.AppKinds) > 1 {
			bigKind = f.AppKinds[1]
		}
		if members(smallKind) == members(bigKind) {
			t.Seen = fmt.Sprintf("0 shared persons among %s and %s %s with a unionid", FormatCount(f.Count), FormatCount(f.Of), members(smallKind))
		} else {
			t.Seen = fmt.Sprintf("0 shared persons among %s %s and %s %s with a unionid", FormatCount(f.Count), members(smallKind), FormatCount(f.Of), members(bigKind))
		}
		t.Action = fmt.Sprintf("%s (%s) and %s (%s) are likely bound to different open platform accounts; rebind %s to the one %s uses if they should link",
			small, f.Platforms[0], big, f.Platforms[1], small, big)
	case cache.NoUnionID:
		t.Seen = fmt.Sprintf("%s of %s %s carry no unionid although %s is bound", FormatCount(f.Count), FormatCount(f.Of), members(kind), app)
		switch {
		case imported(kind):
			t.Action = fmt.Sprintf("these are probably records kept from before %s was bound: a unionid comes with the member's next login (%s); record it then, and the next sync reads it", app, loginAnswer(kind))
		case a == TUI:
			t.Action = "their profiles were probably cached before the binding: refetch them with max_age = \"0s\" in the config, then " + a.syncApp(app)
		default:
			t.Action = "their profiles were probably cached before the binding: refetch them with max_age = \"0s\" in the config and wxscope sync --app " + app +
				"; for such openids in your own records, wxscope resolve --app " + app + " gives their unionids"
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

// loginAnswer is the API answer that carries an imported app's unionid at
// a login.
func loginAnswer(kind string) string {
	if kind == "miniprogram" {
		return "code2Session answers with it once the mini program is bound"
	}
	return "the OAuth answer carries it once the " + Kind(kind) + " is bound"
}
