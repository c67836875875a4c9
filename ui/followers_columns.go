package ui

import (
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The Followers view's cells: ids cut to their tails, and the filter's
// matches found in what a row shows and painted.

// span is a run of cells [from, to) of a line.
type span struct{ from, to int }

// idCut fits an id to w cells. The ids of one app share their first
// shared bytes (oD3fzU… for every openid of an app): a column too narrow
// for the whole id leaves those out, "…sgc4YjNYr7…", since they say
// nothing about which follower it is.
func idCut(id string, shared, w int) string {
	if ansi.StringWidth(id) <= w {
		return id
	}
	if shared <= 0 || shared >= len(id) || w < 3 {
		return ansi.Truncate(id, w, "…")
	}
	return "…" + ansi.Truncate(id[shared:], w-1, "…")
}

// matchSpans is where q occurs in shown (plain text, as drawn), at or
// after cell from: exactly for an id, in any ASCII case for text, as
// FollowerIndex.Match matches them.
func matchSpans(shown, q string, exact bool, from int) []span {
	if q == "" {
		return nil
	}
	hay := shown
	if !exact {
		hay, q = asciiLower(shown), asciiLower(q)
	}
	var out []span
	for off := 0; off < len(hay); {
		k := strings.Index(hay[off:], q)
		if k < 0 {
			break
		}
		start := off + k
		c0 := ansi.StringWidth(shown[:start])
		if c0 >= from {
			out = append(out, span{c0, c0 + ansi.StringWidth(shown[start:start+len(q)])})
		}
		off = start + len(q)
	}
	return out
}

// highlight paints the spans of line with match. A row drawn in one style
// (the cursor's, an unfollowed row's) is painted piece by piece in base so
// the match's reset does not end the row's style; any other row keeps its
// pieces as they are (base is nil).
func highlight(line string, spans []span, base *lipgloss.Style, match lipgloss.Style) string {
	render := func(s string) string {
		if base == nil {
			return s
		}
		return base.Render(s)
	}
	if len(spans) == 0 {
		return render(line)
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp.from < pos {
			continue
		}
		if sp.from > pos {
			b.WriteString(render(ansi.Cut(line, pos, sp.from)))
		}
		b.WriteString(match.Render(ansi.Strip(ansi.Cut(line, sp.from, sp.to))))
		pos = sp.to
	}
	if rest := ansi.Cut(line, pos, ansi.StringWidth(line)); rest != "" {
		b.WriteString(render(rest))
	}
	return b.String()
}
