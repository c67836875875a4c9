package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The column helpers every view draws its rows with.

const (
	// gap is the space between two columns.
	gap = "  "
	// markerW is the width of the cursor marker ("▸ ") a row starts with.
	markerW = 2
	// idMin is the narrowest an id column gets on a narrow terminal.
	idMin = 8
)

// cell fits s (already sanitised) to exactly w cells: cut with … or padded.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	return s + strings.Repeat(" ", max(w-sw, 0))
}

// spread puts left and right on one line of width cells, cutting left first.
func spread(left, right string, width int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+1+rw > width {
		if rw+1 >= width {
			return ansi.Truncate(left, width, "…")
		}
		left = ansi.Truncate(left, width-rw-1, "…")
		lw = ansi.StringWidth(left)
	}
	return left + strings.Repeat(" ", max(width-lw-rw, 1)) + right
}

// scrollInto returns the offset of a window of page lines over n that
// moves as little as it can to show lines first..last; when they do not fit,
// first (the head) wins.
func scrollInto(offset, first, last, page, n int) int {
	if page > 0 && last >= offset+page {
		offset = last - page + 1
	}
	if first < offset {
		offset = first
	}
	return min(max(offset, 0), max(n-page, 0))
}

// wrapWords wraps s to lines of at most w cells at its spaces, never at a
// hyphen (ansi.Wrap breaks at both, and ids and dates hold hyphens); a word
// wider than w is cut where it must be.
func wrapWords(s string, w int) []string {
	const keep = "\u2011" // a non-breaking hyphen while wrapping
	wrapped := ansi.Wrap(strings.ReplaceAll(s, "-", keep), w, "")
	return strings.Split(strings.ReplaceAll(wrapped, keep, "-"), "\n")
}
