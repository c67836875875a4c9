package ui

import (
	"strings"
	"testing"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func samplePerson() PersonData {
	return PersonData{
		Query:   "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
		Members: []PersonMember{
			{App: "news", AppID: "wxnews", Profile: &cache.Profile{
				AppID: "wxnews", OpenID: "oNw3kT0c1kP4xQ9w2E5r7T1y3U6i", UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
				Subscribed: true, SubscribeTime: day(61), SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 1001,
				TagIDs: []int64{2, 101}, Remark: "VIP 客户 🎁\x1b]0;pwned\x07",
			}},
			{App: "shop", AppID: "wxshop", Profile: &cache.Profile{
				AppID: "wxshop", OpenID: "oSp7vQ7hJ2kL9mN4bV6cX8zA1sD3", UnionID: "oP1aQ8Jd0XkLm2nB7cD9eF1gH3iJ",
				SubscribeTime: day(10), SubscribeScene: "ADD_SCENE_SEARCH", UnfollowedAt: day(120),
			}},
			{App: "events", AppID: "wxevents", Missing: AppNotBound},
			{App: "legacy", AppID: "wxlegacy", Missing: OtherPlatform, Detail: "P2"},
			{App: "club", AppID: "wxclub", Missing: NotFollowing},
			{App: "mini", AppID: "wxmini", Missing: NotYetSynced, Detail: "9 400 of 16 000"},
		},
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
		"not known yet: mini is not fully synced (9 400 of 16 000)",
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
	p := PersonData{Query: "oNw3kTu1sQ0aa", Members: []PersonMember{{App: "news",
		Profile: &cache.Profile{OpenID: "oNw3kTu1sQ0aa", Subscribed: true, SubscribeTime: day(3)}}}}
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
