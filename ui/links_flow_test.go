package ui

import (
	"strings"
	"testing"
	"time"

	"wxscope/ui/uitest"
)

// TestFlowLinksMissingGroupToPerson runs the real program over a cache file
// synced through cache.Sync: the Links view, the "missing in shop" filter,
// the person behind a row, and back.
func TestFlowLinksMissingGroupToPerson(t *testing.T) {
	s := linksStore(t)
	root := NewRoot(Options{Theme: ThemePlain, Persons: storePersons{s, linkApps}, Loc: time.UTC,
		Now: func() time.Time { return testNow }})
	root.Open(NewLinks(root.Common(), LinksSpec{Reader: storeLinks{s, linkApps}}))

	p := uitest.Start(t, root, 120, 30)
	p.WaitFor(t, "the heat map and the groups", func(s string) bool {
		return strings.Contains(s, "links · 15 persons") && strings.Contains(s, "[missing in shop 6]")
	})
	p.Send(uitest.Key("tab"), uitest.Key("tab")) // all → missing in news → missing in shop
	p.WaitFor(t, "the persons missing in shop", func(s string) bool {
		return strings.Contains(s, "6 rows · row 1") && strings.Contains(s, "▸ "+uid("P1", 4))
	})
	p.Send(uitest.Key("down"), uitest.Key("enter"))
	p.WaitFor(t, "the person", func(s string) bool {
		return strings.Contains(s, "person · unionid "+uid("P1", 5)) && strings.Contains(s, "does not follow shop")
	})
	p.Send(uitest.Key("esc"))
	p.WaitFor(t, "the filtered groups again", func(s string) bool {
		return strings.Contains(s, "6 rows · row 2")
	})
	p.Send(uitest.Key("q"))
	p.WaitFinished(t)
}
