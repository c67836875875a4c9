package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestFollowersMouseScrollsSelectsAndSortsByHeader(t *testing.T) {
	ps := fakeProfiles(100)
	d, f := followersRoot(t, 160, 20, ps, nil, nil)
	d.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if f.cursor != 3 {
		t.Fatalf("wheel: cursor %d, want 3", f.cursor)
	}
	d.Send(tea.MouseClickMsg{Button: tea.MouseLeft, Y: 2 + 7})
	if f.cursor != f.offset+7 {
		t.Fatalf("click: cursor %d, want %d", f.cursor, f.offset+7)
	}
	cols := f.headerColumns(f.layout())
	for _, c := range cols {
		if c.key != SortApp { // the shop column
			continue
		}
		d.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: c.x0, Y: 1})
		if f.sortKey != SortApp || !strings.Contains(d.Screen(), "by in shop ↓") {
			t.Fatalf("a click on shop's header should sort by it:\n%s", d.Screen())
		}
		d.Send(tea.MouseClickMsg{Button: tea.MouseLeft, X: c.x0, Y: 1})
		if !strings.Contains(d.Screen(), "by in shop ↑") {
			t.Fatalf("a second click should reverse:\n%s", d.Screen())
		}
		return
	}
	t.Fatalf("no shop column in %+v", cols)
}
