package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"wxscope/sanitize"
)

// lineInput is the one-line text box of the filter and the jump prompt.
// Bubbles' textinput would do, but it pulls in a system clipboard library
// (github.com/atotto/clipboard) that is not in go.mod; pastes arrive as
// tea.PasteMsg through bracketed paste anyway, and these boxes need only
// typing at the end, backspace, ctrl+w, ctrl+u and paste.
type lineInput struct {
	prompt string
	value  []rune
	limit  int
	width  int
}

// update applies a key or a paste and reports whether the value changed.
func (in *lineInput) update(msg tea.Msg) bool {
	before := string(in.value)
	switch msg := msg.(type) {
	case tea.PasteMsg:
		in.insert(strings.TrimSpace(msg.Content))
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace", "ctrl+h":
			if n := len(in.value); n > 0 {
				in.value = in.value[:n-1]
			}
		case "ctrl+w", "alt+backspace":
			v := strings.TrimRightFunc(string(in.value), unicode.IsSpace)
			i := strings.LastIndexFunc(v, unicode.IsSpace)
			in.value = []rune(v[:i+1])
		case "ctrl+u":
			in.value = in.value[:0]
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				in.insert(msg.Text)
			}
		}
	}
	return string(in.value) != before
}

// insert appends s as typed text: controls and newlines never get in.
func (in *lineInput) insert(s string) {
	s = sanitize.Text(s)
	for _, r := range s {
		if in.limit > 0 && len(in.value) >= in.limit {
			return
		}
		if r != utf8.RuneError {
			in.value = append(in.value, r)
		}
	}
}

func (in *lineInput) set(s string) { in.value = []rune(s) }

func (in *lineInput) get() string { return string(in.value) }

// view draws the prompt, the tail of the value that fits, and a cursor.
func (in *lineInput) view(promptStyle lipgloss.Style) string {
	v := string(in.value)
	if in.width > 0 {
		if w := ansi.StringWidth(v); w > in.width-1 {
			v = ansi.TruncateLeft(v, w-(in.width-1), "…")
		}
	}
	return promptStyle.Render(in.prompt) + v + "█"
}
