package ui

import tea "charm.land/bubbletea/v2"

// mouse scrolls with the wheel, selects a row with a click, and sorts by
// the column whose header is clicked (again: the other way).
func (f *Followers) mouse(msg tea.MouseMsg) tea.Cmd {
	switch m := msg.(type) {
	case tea.MouseWheelMsg:
		switch m.Button {
		case tea.MouseWheelUp:
			f.move(-3)
		case tea.MouseWheelDown:
			f.move(3)
		}
	case tea.MouseClickMsg:
		if m.Button != tea.MouseLeft {
			return nil
		}
		switch {
		case m.Y == 1:
			for _, c := range f.headerColumns(f.layout()) {
				if m.X >= c.x0 && m.X < c.x1 {
					return f.sortBy(c.key)
				}
			}
		case m.Y >= 2 && f.offset+m.Y-2 < f.rows.Len():
			f.cursor = f.offset + m.Y - 2
			f.clampCursor()
		}
	}
	return nil
}

// sortBy sorts by k, or turns the order round when k is the sort already.
func (f *Followers) sortBy(k SortKey) tea.Cmd {
	if f.sortKey == k {
		f.desc = !f.desc
	} else {
		f.sortKey = k
		f.desc = k == SortFollowed || k >= SortApp
	}
	return f.refresh()
}

type headerColumn struct {
	x0, x1 int
	key    SortKey
}

// headerColumns is where each column's header sits, as headerLine draws it.
func (f *Followers) headerColumns(l layout) []headerColumn {
	var out []headerColumn
	x := markerW
	add := func(w int, k SortKey) {
		if w > 0 {
			out = append(out, headerColumn{x, x + w, k})
			x += w + len(gap)
		}
	}
	add(l.open, SortOpenID)
	add(l.union, SortUnionID)
	add(l.followed, SortFollowed)
	add(l.scene, SortScene)
	for i, w := range l.apps {
		add(w, SortApp+SortKey(i))
	}
	if l.tags > 0 {
		x += l.tags + len(gap) // not a sort column
	}
	add(l.remark, SortRemark)
	return out
}
