package wording

import (
	"fmt"
	"time"

	"wxscope/cache"
)

// Absence says why the app p.Apps[i] shows no following openid for the
// person, from the reason the cache found and the facts it rests on; ""
// when the app has one (cache.ReasonNone). The TUI's Person view shows it
// only for an app without a profile (one with a profile shows the
// profile), and words a few reasons its own way: "not known yet" where the
// command line says what sync to run.
func Absence(a Audience, p *cache.Person, i int) string {
	app := &p.Apps[i]
	name := app.Label()
	kind := app.Kind
	switch app.Reason {
	case cache.ReasonNone:
		return ""
	case cache.ReasonNotFollowing:
		if imported(kind) {
			return "not a member of " + name + ": not in its import"
		}
		if len(app.Profiles) > 0 {
			return fmt.Sprintf("does not follow %s (the API said so on %s)", name, day(app.Profiles[0].FetchedAt))
		}
		return "does not follow " + name
	case cache.ReasonUnfollowed:
		s := "unfollowed " + name
		if imported(kind) {
			s = "left " + name
		}
		if len(app.Profiles) > 0 && app.Profiles[0].UnfollowedAt > 0 {
			s += " on " + day(app.Profiles[0].UnfollowedAt)
		}
		if imported(kind) {
			s += " (gone from its import)"
		}
		return s
	case cache.ReasonNoUnionID:
		why := "carries no unionid"
		who := "this follower"
		src := foundIn(p)
		if src != nil && imported(src.Kind) {
			who = "this member"
		}
		if src != nil && !src.Bound {
			why = fmt.Sprintf("carries no unionid (%s is not bound to an open platform)", src.Label())
		}
		s := fmt.Sprintf("%s %s, so its openid in %s cannot be found", who, why, name)
		if a == TUI {
			return "cannot tell: " + s
		}
		return s
	case cache.ReasonNotSynced:
		switch {
		case imported(kind) && a == TUI:
			return "not known yet: " + name + "'s import has not been read"
		case imported(kind):
			return fmt.Sprintf("the import of %s has not been read yet: %s", name, a.syncApp(name))
		case a == TUI:
			return "not known yet: " + name + " is not fully synced"
		case app.Counts.Profiles == 0:
			return fmt.Sprintf("%s has not been synced yet: %s", name, a.syncApp(name))
		case !app.Bound:
			return fmt.Sprintf("none of the %s followers of %s cached so far carries a unionid, and its sync has not finished", FormatCount(app.Counts.Subscribed), name)
		default:
			return fmt.Sprintf("not among the %s followers of %s cached so far; its sync has not finished", FormatCount(app.Counts.Profiles), name)
		}
	case cache.ReasonNotBound:
		if app.Counts.Subscribed == 0 && a == CLI {
			return name + " has no followers"
		}
		return name + " is not bound: its " + members(kind) + " carry no unionid, so this person cannot be found there by unionid"
	case cache.ReasonOtherPlatform:
		platform := "another open platform"
		if app.Platform != "" {
			platform += " (" + app.Platform + ")"
		}
		return "not there under this unionid; " + name + " is bound to " + platform + ", where this person would have another unionid, so it is not counted as missing there"
	}
	return "no openid in " + name
}

// foundIn is the app the looked-up person was found in: the first with a
// profile.
func foundIn(p *cache.Person) *cache.PersonApp {
	for i := range p.Apps {
		if len(p.Apps[i].Profiles) > 0 {
			return &p.Apps[i]
		}
	}
	return nil
}

// day is a unix time's date, as the command line shows dates.
func day(unix int64) string { return time.Unix(unix, 0).Format("2006-01-02") }

// Guess says why an unknown openid most likely belongs to g.App, or, when
// no app's openids look like it, what else it may be.
func Guess(g *cache.Guess) string {
	if g.AppID == "" {
		return "no synced app's openids begin like this id: it may be a unionid the cache does not hold, or an openid of an app not synced yet"
	}
	return fmt.Sprintf("the %s cached openids of %s all begin with %q, as this one does", FormatCount(g.Cached), g.App, g.Prefix)
}
