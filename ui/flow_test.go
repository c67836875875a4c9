package ui

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

// TestFlowFilterOpenPersonBackAndQuit runs the whole program on a fake
// terminal: the followers list, a filter, the person behind a row, back,
// and q, which runs the cleanup before the program ends.
func TestFlowFilterOpenPersonBackAndQuit(t *testing.T) {
	ps := fakeProfiles(500)
	target := ps[95] // "remark 95", still following, the only match
	persons := slicePersons{target.OpenID: {Query: target.OpenID, Kind: cache.KindOpenID, UnionID: target.UnionID,
		Apps: []cache.PersonApp{
			{AppRef: cache.AppRef{AppID: "wxnews", Name: "news"}, Bound: true, Platform: "P1", Profiles: []cache.Profile{target}},
			{AppRef: cache.AppRef{AppID: "wxshop", Name: "shop"}, Bound: true, Platform: "P1", Reason: cache.ReasonNotFollowing},
		}}}
	var cleaned atomic.Bool
	root := NewRoot(Options{Theme: ThemePlain, Persons: persons, Loc: time.UTC,
		Now: func() time.Time { return testNow }, Cleanup: func() { cleaned.Store(true) }})
	root.Open(NewFollowers(root.Common(), newsSpec(ps, nil)))

	p := uitest.Start(t, root, 120, 20)
	p.WaitFor(t, "the followers list", func(s string) bool {
		return strings.Contains(s, "news › followers · 429") && strings.Contains(s, "429 rows")
	})

	p.Send(uitest.Key("/"))
	p.Send(uitest.Type("REMARK 95")...)
	p.WaitFor(t, "the filter result", func(s string) bool {
		return strings.Contains(s, `filter "REMARK 95" → 1 `) && strings.Contains(s, "▸ "+target.OpenID)
	})

	p.Send(uitest.Key("enter"), uitest.Key("enter")) // keep the filter, open the row
	p.WaitFor(t, "the person", func(s string) bool {
		return strings.Contains(s, "person · unionid "+target.UnionID) && strings.Contains(s, "does not follow shop")
	})

	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "the filtered list again", func(s string) bool {
		return strings.Contains(s, `filter "REMARK 95" → 1 `)
	})

	p.Send(uitest.Key("q"))
	final := p.WaitFinished(t).(*Root)
	if !final.Quitting() || !cleaned.Load() {
		t.Fatalf("quit without cleanup: quitting %v, cleaned %v", final.Quitting(), cleaned.Load())
	}
}
