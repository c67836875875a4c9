package ui

import (
	"math/bits"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/sanitize"
)

// tagPicker is the Followers view's list of the app's tags, each with how
// many followers carry it, opened with t: space checks tags, a switches
// between followers with any of the checked tags and those with all of
// them, enter keeps those followers (combined with the text filter), esc
// leaves the filter as it was. The blacklist is one more entry, so
// "blacklisted VIPs" is two checks and a.
type tagPicker struct {
	keys    TagPickerKeys
	entries []pickEntry
	all     bool
	cursor  int
	offset  int
}

// pickEntry is one line of the picker.
type pickEntry struct {
	id    int64
	black bool   // the blacklist entry, not a tag
	label string // sanitised
	n     int    // followers who still follow with it
	on    bool
}

// openPicker lists every tag the cached followers carry, most carried
// first, then the app's tags nobody here carries, with the current filter
// checked.
func (f *Followers) openPicker() {
	p := tagPicker{keys: DefaultTagPickerKeys(), all: f.tagFilter.All}
	if n := f.idx.Blacklisted(); n > 0 || f.tagFilter.Blacklisted {
		p.entries = append(p.entries, pickEntry{black: true, label: "⊘ blacklisted", n: n, on: f.tagFilter.Blacklisted})
	}
	seen := map[int64]bool{}
	add := func(id int64, n int) {
		seen[id] = true
		p.entries = append(p.entries, pickEntry{id: id, label: tagName(&f.tags, id), n: n, on: slices.Contains(f.tagFilter.IDs, id)})
	}
	for _, c := range f.idx.TagCounts() {
		add(c.ID, c.N)
	}
	for _, t := range f.tags.Tags {
		if !seen[t.ID] {
			add(t.ID, 0)
		}
	}
	f.picker, f.picking = p, true
}

func (f *Followers) handlePickerKey(msg tea.KeyPressMsg) tea.Cmd {
	p, k := &f.picker, f.picker.keys
	switch {
	case key.Matches(msg, k.Up):
		p.cursor = max(p.cursor-1, 0)
	case key.Matches(msg, k.Down):
		p.cursor = min(p.cursor+1, max(len(p.entries)-1, 0))
	case key.Matches(msg, k.Toggle):
		if p.cursor < len(p.entries) {
			p.entries[p.cursor].on = !p.entries[p.cursor].on
		}
	case key.Matches(msg, k.AnyAll):
		p.all = !p.all
	case key.Matches(msg, k.Clear):
		for i := range p.entries {
			p.entries[i].on = false
		}
	case key.Matches(msg, k.Apply):
		f.picking = false
		t := TagFilter{All: p.all}
		for _, e := range p.entries {
			switch {
			case e.on && e.black:
				t.Blacklisted = true
			case e.on:
				t.IDs = append(t.IDs, e.id)
			}
		}
		return f.setTagFilter(t)
	case key.Matches(msg, k.Cancel):
		f.picking = false
	}
	return nil
}

// setTagFilter keeps the rows t keeps, within the view's subset, and runs
// the text filter again over them.
func (f *Followers) setTagFilter(t TagFilter) tea.Cmd {
	f.tagFilter = t
	f.base = f.subset
	if t.Active() {
		bits, _ := f.idx.TagBits(t)
		if f.subset != nil {
			for w := range bits {
				bits[w] &= f.subset[w]
			}
		}
		f.base = bits
	}
	// The text filter's result was within the old rows: scan again.
	f.match, f.matchQuery = nil, ""
	f.memo.reset()
	return f.refresh()
}

// countFollowing counts the rows of set that the view shows: those who
// still follow, or everyone when showUnfollowed.
func countFollowing(set []uint64, x *FollowerIndex, showUnfollowed bool) int {
	n := 0
	for w, word := range set {
		if !showUnfollowed {
			word &= x.following[w]
		}
		n += bits.OnesCount64(word)
	}
	return n
}

// pickerView draws the picker in height lines under the title.
func (f *Followers) pickerView(height int) string {
	s, p := f.c.Styles, &f.picker
	how := "any of the checked tags"
	if p.all {
		how = "all of the checked tags"
	}
	checked := 0
	for _, e := range p.entries {
		if e.on {
			checked++
		}
	}
	lines := []string{s.Header.Render(ansi.Truncate("  keep followers with "+how+" · "+formatCount(checked)+" checked · a: any/all", f.width, "…"))}
	if f.tags.Unavailable != "" {
		lines = append(lines, s.Warn.Render(ansi.Truncate("  "+sanitize.Text(f.tags.Unavailable), f.width, "…")))
	} else if f.tags.ReadAt.IsZero() {
		lines = append(lines, s.Dim.Render(ansi.Truncate("  tag names not read yet: a sync reads them; ids show as numbers", f.width, "…")))
	}
	if len(p.entries) == 0 {
		lines = append(lines, s.Dim.Render("  no follower here carries a tag"))
	}
	body := max(height-len(lines), 1)
	p.offset = scrollInto(p.offset, p.cursor, p.cursor, body, len(p.entries))
	numW := 1
	for _, e := range p.entries {
		numW = max(numW, len(formatCount(e.n)))
	}
	nameW := max(min(f.width-markerW-4-2-numW, 40), 4)
	end := min(p.offset+body, len(p.entries))
	for i := p.offset; i < end; i++ {
		e := p.entries[i]
		box := "[ ] "
		if e.on {
			box = "[x] "
		}
		marker := "  "
		if i == p.cursor {
			marker = "▸ "
		}
		line := marker + box + cell(e.label, nameW) + gap + strings.Repeat(" ", numW-len(formatCount(e.n))) + formatCount(e.n)
		line = ansi.Truncate(line, f.width, "")
		switch {
		case i == p.cursor:
			line = s.Selected.Render(line)
		case e.n == 0:
			line = s.Dim.Render(line)
		}
		lines = append(lines, line)
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}
