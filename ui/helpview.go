package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The full-help overlay (?) and the footer's short help, laid out for the
// terminal's width: bubbles' help lays the groups side by side and cuts
// what does not fit, which at 80 columns dropped a third of the keys to "…"
// and at 60 the box's right border.

// helpLines lays the enabled bindings of groups out in width cells: groups
// side by side while they fit, the next ones below, and a description that
// is too long for its group wraps under itself. Every line is at most width
// cells.
func helpLines(st Styles, groups [][]key.Binding, width int) []string {
	type col struct {
		lines []string
		w     int
	}
	var cols []col
	for _, g := range groups {
		var keys, descs []string
		for _, b := range g {
			if b.Enabled() && b.Help().Key != "" {
				keys, descs = append(keys, b.Help().Key), append(descs, b.Help().Desc)
			}
		}
		if len(keys) == 0 {
			continue
		}
		kw := 0
		for _, k := range keys {
			kw = max(kw, ansi.StringWidth(k))
		}
		kw = min(kw, max(width/3, 4))
		dw := max(width-kw-2, 8)
		var c col
		for i := range keys {
			k := st.Help.FullKey.Render(cell(keys[i], kw))
			for j, d := range strings.Split(ansi.Wrap(descs[i], dw, ""), "\n") {
				lead := k
				if j > 0 {
					lead = strings.Repeat(" ", kw)
				}
				l := lead + "  " + st.Help.FullDesc.Render(d)
				c.lines = append(c.lines, l)
				c.w = max(c.w, ansi.StringWidth(l))
			}
		}
		cols = append(cols, c)
	}
	const sep = "   "
	var out []string
	for i := 0; i < len(cols); {
		// As many groups as fit side by side in one band.
		j, w := i+1, cols[i].w
		for j < len(cols) && w+len(sep)+cols[j].w <= width {
			w += len(sep) + cols[j].w
			j++
		}
		if len(out) > 0 {
			out = append(out, "")
		}
		rows := 0
		for _, c := range cols[i:j] {
			rows = max(rows, len(c.lines))
		}
		for r := range rows {
			var b strings.Builder
			for k, c := range cols[i:j] {
				if k > 0 {
					b.WriteString(sep)
				}
				l := ""
				if r < len(c.lines) {
					l = c.lines[r]
				}
				if k < j-i-1 {
					l += strings.Repeat(" ", max(c.w-ansi.StringWidth(l), 0))
				}
				b.WriteString(l)
			}
			out = append(out, ansi.Truncate(strings.TrimRight(b.String(), " "), width, "…"))
		}
		i = j
	}
	return out
}

// helpBox draws the overlay's box over lines in at most width × height
// cells, showing lines[offset:] and saying when more are above or below.
// It returns the offset it used (clamped), so the caller's scrolling stops
// at the ends.
func helpBox(st Styles, lines []string, width, height, offset int) (string, int) {
	innerW := max(width-4, 1) // border and padding
	innerH := max(height-2, 1)
	// Every line padded to the widest, so the box keeps its size as it
	// scrolls.
	w := 0
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, innerW, "…")
		w = max(w, ansi.StringWidth(lines[i]))
	}
	for i, l := range lines {
		lines[i] = l + strings.Repeat(" ", w-ansi.StringWidth(l))
	}
	if len(lines) > innerH {
		// One line says where the window is and how to move it.
		page := max(innerH-1, 1)
		offset = min(max(offset, 0), len(lines)-page)
		more := st.Dim.Render(ansi.Truncate("↑/↓ scroll · line "+formatCount(offset+1)+"–"+
			formatCount(offset+page)+" of "+formatCount(len(lines)), innerW, "…"))
		lines = append(lines[offset:offset+page:offset+page], more)
	} else {
		offset = 0
	}
	box := st.Box.Render(strings.Join(lines, "\n"))
	return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, box), offset
}

// shortHelp lays out the footer's keys in width cells: must always shows
// (? help, q quit), then the first global key (the jump: a newcomer looks
// for it first), then as many of the page's keys as fit, in their order,
// then the other global keys (L log) if there is room. They show in page
// order: the page's keys, then the global ones.
func shortHelp(st Styles, page, global []key.Binding, must func(key.Binding) bool, width int) string {
	sep := st.Help.ShortSeparator.Render(" • ")
	item := func(b key.Binding) string {
		return st.Help.ShortKey.Render(b.Help().Key) + " " + st.Help.ShortDesc.Render(b.Help().Desc)
	}
	all := append(append([]key.Binding{}, page...), global...)
	keep := make([]bool, len(all))
	used := 0
	add := func(i int) bool {
		w := ansi.StringWidth(item(all[i]))
		if used > 0 {
			w += ansi.StringWidth(sep)
		}
		if used+w > width {
			return false
		}
		keep[i], used = true, used+w
		return true
	}
	for i, b := range all {
		if b.Enabled() && must(b) {
			add(i)
		}
	}
	first := true
	for i := len(page); i < len(all) && first; i++ {
		if all[i].Enabled() && !keep[i] {
			add(i)
			first = false
		}
	}
	for i := 0; i < len(page); i++ {
		if all[i].Enabled() && !keep[i] && !add(i) {
			break // keep the page's keys in order: no later one skips ahead
		}
	}
	for i := len(page); i < len(all); i++ {
		if all[i].Enabled() && !keep[i] {
			add(i)
		}
	}
	var parts []string
	for i, b := range all {
		if keep[i] {
			parts = append(parts, item(b))
		}
	}
	return strings.Join(parts, sep)
}
