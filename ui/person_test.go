package ui

import (
	"regexp"
	"strings"
	"testing"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func samplePerson() *cache.Person {
	app := func(name string, bound bool, platform string) cache.PersonApp {
		return cache.PersonApp{AppRef: cache.AppRef{AppID: "wx" + name, Name: name}, Bound: bound, Platform: platform}
	}
	news, shop := app("news", true, "P1"), app("shop", true, "P1")
	news.Profiles = []cache.Profile{{
		AppID: "wxnews", OpenID: "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		Subscribed: true, SubscribeTime: day(61), SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 1001,
		TagIDs: []int64{2, 101}, Remark: "VIP 客户 🎁\x1b]0;pwned\x07",
	}}
	shop.Profiles = []cache.Profile{{
		AppID: "wxshop", OpenID: "oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3", UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		SubscribeTime: day(10), SubscribeScene: "ADD_SCENE_SEARCH", UnfollowedAt: day(120),
	}}
	shop.Reason = cache.ReasonUnfollowed
	events, legacy := app("events", false, ""), app("legacy", true, "P2")
	events.Reason, events.Counts = cache.ReasonNotBound, cache.Counts{Profiles: 120, Subscribed: 120}
	legacy.Reason = cache.ReasonOtherPlatform
	club, mini := app("club", true, "P1"), app("mini", true, "P1")
	club.Reason = cache.ReasonNotFollowing
	mini.Reason, mini.Counts = cache.ReasonNotSynced, cache.Counts{Profiles: 9400, Subscribed: 9400, WithUnionID: 9000}
	return &cache.Person{
		Query:   "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		Kind:    cache.KindUnionID,
		UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		Apps:    []cache.PersonApp{news, shop, events, legacy, club, mini},
		Missing: []string{"wxshop", "wxlegacy", "wxclub", "wxmini"},
	}
}

func TestPersonShowsEveryFieldAndWhyEachAppIsMissing(t *testing.T) {
	p := samplePerson()
	d := newTestRoot(220, 12, nil, func(c *Common) Page { return NewPerson(c, p) })
	s := d.Screen()
	lines(t, s, 220, 12)
	for _, want := range []string{
		"person · unionid oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		`news    oNw3kT0c1kP4xQ9w2E5r7T1y3U6i  following since 2024-03-02 14:05 (QR_CODE, scene 1001) · tags 2, 101 · remark "VIP 客户 🎁"`,
		"shop    oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3  unfollowed 2024-04-30 14:05 · had followed since 2024-01-11 14:05 (SEARCH)",
		"events is not bound: its followers carry no unionid, so this person cannot be found there by unionid",
		"legacy is bound to another open platform (P2), where this person would have another unionid",
		"does not follow club",
		"not known yet: mini is not fully synced\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("person view lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(d.Model.View().Content, "\x1b]") {
		t.Error("the remark's OSC reached the screen")
	}
}

func TestPersonWrapsReasonsOnNarrowScreensAndScrolls(t *testing.T) {
	p := samplePerson()
	d := newTestRoot(60, 8, nil, func(c *Common) Page { return NewPerson(c, p) })
	s := d.Screen()
	lines(t, s, 60, 8)
	if !strings.Contains(s, "▸ news") {
		t.Fatalf("cursor should start on news:\n%s", s)
	}
	d.Send(uitest.Keys("j", "j", "j", "j", "j")...)
	s = d.Screen()
	if !strings.Contains(s, "▸ mini") || !strings.Contains(s, "not known yet") {
		t.Fatalf("moving down should scroll mini into view:\n%s", s)
	}
}

func TestPersonWithoutUnionIDSaysSo(t *testing.T) {
	p := &cache.Person{Query: "oNw3kTu1sQ0aa", Kind: cache.KindOpenID, Apps: []cache.PersonApp{{AppRef: cache.AppRef{Name: "news"},
		Profiles: []cache.Profile{{OpenID: "oNw3kTu1sQ0aa", Subscribed: true, SubscribeTime: day(3)}}}}}
	d := newTestRoot(120, 6, nil, func(c *Common) Page { return NewPerson(c, p) })
	if s := d.Screen(); !strings.Contains(s, "person · openid oNw3kTu1sQ0aa · no unionid") ||
		!strings.Contains(s, "following since 2024-01-04 14:05 · no unionid") {
		t.Fatalf("unexpected:\n%s", s)
	}
}

func TestPersonMemberTallerThanTheScreenShowsItsHeadWhenTheCursorComesBack(t *testing.T) {
	p := samplePerson()
	d := newTestRoot(44, 5, nil, func(c *Common) Page { return NewPerson(c, p) })
	d.Send(uitest.Keys("j", "j", "k", "k")...)
	if s := d.Screen(); !strings.Contains(s, "▸ news") {
		t.Fatalf("back on news, its first line (the cursor) should show:\n%s", s)
	}
}

// TestPersonOpensOnTheAppOfTheOpenidAskedFor: looked up by an openid (a
// jump, a follower's row), the cursor starts on that openid's app, not on
// the first app.
func TestPersonOpensOnTheAppOfTheOpenidAskedFor(t *testing.T) {
	p := samplePerson()
	p.Query, p.Kind = p.Apps[1].Profiles[0].OpenID, cache.KindOpenID
	d := newTestRoot(160, 12, nil, func(c *Common) Page { return NewPerson(c, p) })
	if s := d.Screen(); !strings.Contains(s, "▸ shop    oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3") {
		t.Errorf("the cursor is not on shop's openid:\n%s", s)
	}
}

// TestPersonKeepsADateAndItsTimeOnOneLine: at 80 columns the details wrap
// between their parts, and never between a date and its time.
func TestPersonKeepsADateAndItsTimeOnOneLine(t *testing.T) {
	p := samplePerson()
	p.Apps[0].Profiles[0].FetchedAt = day(150)
	for width := 60; width <= 100; width++ {
		d := newTestRoot(width, 20, nil, func(c *Common) Page { return NewPerson(c, p) })
		for _, l := range lines(t, d.Screen(), width, 20) {
			if strings.HasSuffix(strings.TrimRight(l, " "), "-") || regexp.MustCompile(`\d{4}-\d\d-\d\d$`).MatchString(strings.TrimRight(l, " ")) {
				t.Errorf("at %d columns a date is split: %q", width, l)
			}
			if strings.ContainsAny(l, "\u00a0\u2011") {
				t.Errorf("a no-break space or hyphen reached the screen: %q", l)
			}
		}
	}
}

// TestPersonLeavesOutARemarkThatWasOnlyEscapes: a remark that sanitises to
// nothing is not shown as remark "".
func TestPersonLeavesOutARemarkThatWasOnlyEscapes(t *testing.T) {
	p := samplePerson()
	p.Apps[0].Profiles[0].Remark = "\x1b]0;pwned\x07\x1b[2J"
	d := newTestRoot(220, 12, nil, func(c *Common) Page { return NewPerson(c, p) })
	if s := d.Screen(); strings.Contains(s, "remark") {
		t.Errorf("an empty remark shows:\n%s", s)
	}
}

// TestPersonShowsTheWholeOpenidOnANarrowScreen: at 60 and 80 columns the
// openid, what support came for, shows whole; the details wrap beside or
// under it.
func TestPersonShowsTheWholeOpenidOnANarrowScreen(t *testing.T) {
	p := samplePerson()
	for _, width := range []int{60, 80} {
		d := newTestRoot(width, 20, nil, func(c *Common) Page { return NewPerson(c, p) })
		if s := d.Screen(); !strings.Contains(s, p.Apps[0].Profiles[0].OpenID) || !strings.Contains(s, p.Apps[1].Profiles[0].OpenID) {
			t.Errorf("at %d columns an openid is cut:\n%s", width, s)
		}
	}
}
