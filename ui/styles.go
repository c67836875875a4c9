package ui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every Lip Gloss style the views draw with. One value is shared
// by all pages through [Common]; the root replaces it when the terminal
// reports its background colour, so pages never cache a style.
type Styles struct {
	Title      lipgloss.Style // the first line of a page: where you are
	Header     lipgloss.Style // column headers
	Selected   lipgloss.Style // the row under the cursor
	Dim        lipgloss.Style // secondary text: counts, hints
	Unfollowed lipgloss.Style // rows of people who unfollowed
	Present    lipgloss.Style // ✓ the person is in that app
	Missing    lipgloss.Style // · bound app, person missing
	Unknown    lipgloss.Style // – nobody can tell
	Warn       lipgloss.Style // ⚠ findings, missing unionid
	Error      lipgloss.Style // failures shown in the footer
	Accent     lipgloss.Style // the sort indicator, the filter text
	Match      lipgloss.Style // what the filter matched, in the rows
	Prompt     lipgloss.Style // "/" and ":" prompts
	Cursor     lipgloss.Style // the character under a text box's cursor
	Box        lipgloss.Style // the full-help overlay frame
	Help       help.Styles    // footer and overlay key help
	// BarFull and BarEmpty colour the sync progress bar; NoColor in the
	// colourless themes, where the █ and ░ characters carry it alone.
	BarFull, BarEmpty color.Color
}

// palette is the handful of colours a coloured theme needs.
type palette struct {
	fg, dim, accent, green, yellow, red, selBg color.Color
}

// NewStyles returns the coloured styles for a dark or a light background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	p := palette{
		fg:     ld(lipgloss.Color("#1f1f28"), lipgloss.Color("#dcd7ba")),
		dim:    ld(lipgloss.Color("#8a8a8a"), lipgloss.Color("#727169")),
		accent: ld(lipgloss.Color("#5a3fd6"), lipgloss.Color("#9f8cff")),
		green:  ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#76c893")),
		yellow: ld(lipgloss.Color("#9a6700"), lipgloss.Color("#e6c384")),
		red:    ld(lipgloss.Color("#cf222e"), lipgloss.Color("#ff7a7a")),
		selBg:  ld(lipgloss.Color("#e4ddff"), lipgloss.Color("#2d2a45")),
	}
	s := lipgloss.NewStyle
	return Styles{
		Title:      s().Bold(true).Foreground(p.accent),
		Header:     s().Bold(true).Foreground(p.dim),
		Selected:   s().Background(p.selBg).Foreground(p.fg).Bold(true),
		Dim:        s().Foreground(p.dim),
		Unfollowed: s().Foreground(p.dim).Faint(true),
		Present:    s().Foreground(p.green),
		Missing:    s().Foreground(p.yellow),
		Unknown:    s().Foreground(p.dim),
		Warn:       s().Foreground(p.yellow),
		Error:      s().Foreground(p.red).Bold(true),
		Accent:     s().Foreground(p.accent).Bold(true),
		Match:      s().Foreground(p.yellow).Bold(true).Underline(true),
		Prompt:     s().Foreground(p.accent).Bold(true),
		Cursor:     s().Reverse(true),
		Box:        s().Border(lipgloss.RoundedBorder()).BorderForeground(p.accent).Padding(0, 1),
		Help:       help.DefaultStyles(isDark),
		BarFull:    p.accent,
		BarEmpty:   p.dim,
	}
}

// NoColorStyles returns styles without any colour, for NO_COLOR: emphasis
// only (bold, faint, reverse), so the cursor row and dimmed rows still show.
func NoColorStyles() Styles {
	s := lipgloss.NewStyle
	return Styles{
		Title:      s().Bold(true),
		Header:     s().Bold(true),
		Selected:   s().Reverse(true),
		Dim:        s().Faint(true),
		Unfollowed: s().Faint(true),
		Present:    s(),
		Missing:    s(),
		Unknown:    s().Faint(true),
		Warn:       s().Bold(true),
		Error:      s().Bold(true),
		Accent:     s().Bold(true),
		Match:      s().Bold(true).Underline(true),
		Prompt:     s().Bold(true),
		Cursor:     s().Reverse(true),
		Box:        s().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		BarFull:    lipgloss.NoColor{},
		BarEmpty:   lipgloss.NoColor{},
		Help: help.Styles{
			Ellipsis:       s().Faint(true),
			ShortKey:       s().Bold(true),
			ShortDesc:      s(),
			ShortSeparator: s().Faint(true),
			FullKey:        s().Bold(true),
			FullDesc:       s(),
			FullSeparator:  s().Faint(true),
		},
	}
}

// PlainStyles returns styles that emit no escape sequence at all, for tests
// that assert on View() text. Structure (the border, the ▸ cursor marker)
// is kept; only attributes go.
func PlainStyles() Styles {
	s := lipgloss.NewStyle
	return Styles{
		Title: s(), Header: s(), Selected: s(), Dim: s(), Unfollowed: s(),
		Present: s(), Missing: s(), Unknown: s(), Warn: s(), Error: s(),
		Accent: s(), Match: s(), Prompt: s(), Cursor: s(),
		Box:     s().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		BarFull: lipgloss.NoColor{}, BarEmpty: lipgloss.NoColor{},
		Help: help.Styles{
			Ellipsis: s(), ShortKey: s(), ShortDesc: s(), ShortSeparator: s(),
			FullKey: s(), FullDesc: s(), FullSeparator: s(),
		},
	}
}

// NoColor reports whether the user asked for no colour: NO_COLOR set to a
// non-empty value (https://no-color.org). getenv is os.Getenv in main and a
// map in tests.
func NoColor(getenv func(string) string) bool {
	return getenv("NO_COLOR") != ""
}
