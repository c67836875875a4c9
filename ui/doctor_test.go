package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"wxscope/cache"
	"wxscope/ui/uitest"
)

func doctorRoot(t *testing.T, w, h int, got *[]openedFollowers) (*uitest.Driver, *Doctor) {
	t.Helper()
	s := linksStore(t)
	var doc *Doctor
	d := newTestRoot(w, h, storePersons{s, linkApps}, func(c *Common) Page {
		doc = NewDoctor(c, LinksSpec{Reader: storeLinks{s, linkApps}, Followers: opener(got)})
		return doc
	})
	return d, doc
}

// selectFinding moves the cursor to the first finding of kind with the keys.
func selectFinding(t *testing.T, d *uitest.Driver, doc *Doctor, kind cache.FindingKind) {
	t.Helper()
	for i, f := range doc.findings() {
		if f.Kind == kind {
			for range len(doc.findings()) {
				switch {
				case doc.cursor < i:
					d.Send(uitest.Key("down"))
				case doc.cursor > i:
					d.Send(uitest.Key("up"))
				}
			}
			if doc.cursor != i {
				t.Fatalf("cursor %d, want %d", doc.cursor, i)
			}
			return
		}
	}
	t.Fatalf("no %s finding in %+v", kind, doc.findings())
}

func TestDoctorListsFindingsWithEvidenceAndAction(t *testing.T) {
	var got []openedFollowers
	d, _ := doctorRoot(t, 130, 30, &got)
	screen := d.Screen()
	lines(t, screen, 130, 30)
	for _, want := range []string{
		"doctor · 4 findings\n",
		"⚠ unbound_app        events",
		"none of 4 followers carries a unionid",
		"→ bind events to the open platform account that news and shop use",
		"separate_platform  legacy ↔ news",
		"separate_platform  legacy ↔ shop",
		"no_unionid         shop",
		"e.g. " + oid("Shop", 20),
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "events: none of") {
		t.Errorf("the evidence repeats the app the column already names:\n%s", screen)
	}
}

func TestDoctorEnterOpensWhatIsBehindEachFinding(t *testing.T) {
	var got []openedFollowers
	d, doc := doctorRoot(t, 130, 30, &got)

	selectFinding(t, d, doc, cache.UnboundApp)
	d.Send(uitest.Key("enter"))
	if len(got) != 1 || got[0] != (openedFollowers{"wxevents", SubsetAll}) {
		t.Fatalf("unbound_app opened %+v, want events' followers", got)
	}
	d.Send(uitest.Key("esc"))

	selectFinding(t, d, doc, cache.NoUnionID)
	d.Send(uitest.Key("enter"))
	if len(got) != 2 || got[1] != (openedFollowers{"wxshop", SubsetNoUnionID}) {
		t.Fatalf("no_unionid opened %+v, want shop's followers without unionid", got)
	}
	d.Send(uitest.Key("esc"))

	selectFinding(t, d, doc, cache.SeparatePlatform)
	d.Send(uitest.Key("enter"))
	top := d.Model.(*Root).top()
	l, ok := top.(*Links)
	if !ok {
		t.Fatalf("separate_platform opened %T, want the Links view", top)
	}
	if f := l.Filter(); f.Kind != GroupsOtherPlatform || f.App != "wxlegacy" {
		t.Fatalf("Links filter %+v, want the persons of other platforms than legacy's", f)
	}
	if !strings.Contains(d.Screen(), "▸ "+uid("P1", 0)) || !strings.Contains(d.Screen(), "[other platforms than legacy 12]") {
		t.Errorf("the persons of other platforms than legacy's should be listed:\n%s", d.Screen())
	}
}

func TestDoctorScrollsToKeepTheSelectedFindingWhole(t *testing.T) {
	var got []openedFollowers
	d, doc := doctorRoot(t, 70, 8, &got)
	d.Send(uitest.Key("down"), uitest.Key("down"), uitest.Key("down"))
	screen := d.Screen()
	lines(t, screen, 70, 8)
	if doc.cursor != 3 || !strings.Contains(screen, "▸ ⚠ no_unionid") {
		t.Fatalf("the fourth finding should be on screen under the cursor:\n%s", screen)
	}
	d.Send(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if doc.cursor != 2 {
		t.Fatalf("wheel up: cursor %d, want 2", doc.cursor)
	}
}
